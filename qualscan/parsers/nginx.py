"""nginx configuration: ``upstream`` blocks and ``proxy_pass``/``grpc_pass`` targets with lines.

Variables (``$VAR`` / ``${VAR}`` from envsubst templates, ``set $var value;``) are left in the
target; the graph layer resolves them from the owner's environment (compose, k8s env, Dockerfile
``ENV``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qualscan.parsers.yamlsafe import decode

_COMMENT = re.compile(r"(?<!\\)#.*$")


@dataclass
class ProxyTarget:
    directive: str  # proxy_pass | grpc_pass | server (in an upstream)
    target: str  # the raw target: URL, host:port or upstream name (variables unresolved)
    line: int
    upstream: str | None = None  # the enclosing upstream block, for ``server`` lines


@dataclass
class NginxConf:
    path: str
    upstreams: dict[str, list[ProxyTarget]] = field(default_factory=dict)
    targets: list[ProxyTarget] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


def parse_nginx(data: bytes | str, path: str) -> NginxConf:
    conf = NginxConf(path)
    current_upstream: str | None = None
    depth = 0
    upstream_depth = -1
    for i, raw in enumerate(decode(data).splitlines(), 1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        m = re.match(r"^upstream\s+([\w.$-]+)\s*\{", line)
        if m:
            current_upstream = m.group(1)
            conf.upstreams.setdefault(current_upstream, [])
            upstream_depth = depth
        for m in re.finditer(r"(?:^|[;{\s])(proxy_pass|grpc_pass|uwsgi_pass|fastcgi_pass)\s+([^;\s]+)\s*;", line):
            conf.targets.append(ProxyTarget(m.group(1), m.group(2), i))
        m = re.match(r"^server\s+([^;\s]+)[^;]*;", line)
        if m and current_upstream is not None:
            conf.upstreams[current_upstream].append(ProxyTarget("server", m.group(1), i, current_upstream))
        m = re.match(r"^set\s+\$(\w+)\s+\"?([^\";]+)\"?\s*;", line)
        if m:
            conf.variables[m.group(1)] = m.group(2)
        depth += line.count("{") - line.count("}")
        if current_upstream is not None and depth <= upstream_depth:
            current_upstream = None
    return conf


def looks_like_nginx(text: str) -> bool:
    return bool(re.search(r"^\s*(proxy_pass|upstream\s+\S+\s*\{|grpc_pass)\b", text, re.M))
