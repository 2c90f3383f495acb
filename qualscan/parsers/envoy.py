"""Envoy static configuration: clusters and their endpoint addresses (v2 ``hosts`` and v3
``load_assignment``), with lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from qualscan.model import Diagnostic
from qualscan.parsers.yamlsafe import as_dict, as_list, decode, get, load_documents


@dataclass
class EnvoyEndpoint:
    cluster: str
    host: str
    port: int | None
    line: int


@dataclass
class EnvoyConf:
    path: str
    endpoints: list[EnvoyEndpoint] = field(default_factory=list)


def _addresses(obj: object, out: list[tuple[str, int | None, int]]) -> None:
    if isinstance(obj, dict):
        sa = obj.get("socket_address")
        if isinstance(sa, dict) and isinstance(sa.get("address"), str):
            port = sa.get("port_value")
            out.append((sa["address"], port if isinstance(port, int) else None, as_dict(sa).line_of("address")))
            return
        for v in obj.values():
            _addresses(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _addresses(v, out)


def parse_envoy(data: bytes | str, path: str) -> tuple[EnvoyConf, list[Diagnostic]]:
    conf = EnvoyConf(path)
    docs, diags = load_documents(decode(data), path)
    for doc in docs:
        clusters = get(doc.data, "static_resources", "clusters")
        for cluster in as_list(clusters):
            name = str(get(cluster, "name") or "")
            found: list[tuple[str, int | None, int]] = []
            _addresses(get(cluster, "load_assignment"), found)
            _addresses(get(cluster, "hosts"), found)
            for host, port, line in found:
                conf.endpoints.append(EnvoyEndpoint(name, host, port, line))
    return conf, diags


def looks_like_envoy(text: str) -> bool:
    return "static_resources" in text and "clusters" in text
