"""docker-compose files: services as workloads, with ``.env`` interpolation and layered files.

``parse_compose(data, path, env)`` interpolates ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:?msg}`` and ``$VAR`` from ``env`` (the ``.env`` file next to the compose file) on the text,
line-preserving, then loads it safely. ``merge_compose`` layers several files of one project
(``docker-compose.yml`` + ``docker-compose.override.yml`` + ...), service by service.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from qualscan.model import Diagnostic, Level
from qualscan.parsers.k8s import Container, EnvVar, Volume, Workload
from qualscan.parsers.yamlsafe import LDict, as_dict, as_list, decode, load_one

_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def parse_env_file(data: bytes | str) -> dict[str, str]:
    """A ``.env`` file: ``KEY=value`` lines, ``export`` allowed, quotes stripped."""
    return {k: v for k, (v, _) in parse_env_lines(data).items()}


def parse_env_lines(data: bytes | str) -> dict[str, tuple[str, int]]:
    """Like ``parse_env_file`` with the 1-based line of each key."""
    env: dict[str, str] = {}
    lines: dict[str, int] = {}
    for lineno, raw in enumerate(decode(data).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[7:].strip()
        key, value = line.split("=", 1)
        value = value.strip()
        quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""
        if quoted:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if "$" in value and not (quoted and raw.strip().split("=", 1)[1].strip().startswith("'")):
            value = interpolate(value, env, ".env")  # CART_ADDR=cart:${CART_PORT}
        env[key.strip()] = value
        lines[key.strip()] = lineno
    return {k: (v, lines[k]) for k, v in env.items()}


def interpolate(text: str, env: dict[str, str], path: str, diags: list[Diagnostic] | None = None) -> str:
    lines = text.split("\n")
    missing: set[str] = set()
    for i, line in enumerate(lines):
        if "$" not in line or line.lstrip().startswith("#"):
            continue
        line = line.replace("$$", "\x00")

        def repl(m: re.Match[str], lineno: int = i + 1) -> str:
            name = m.group("braced") or m.group("bare")
            op = m.group("op") or ""
            arg = m.group("arg") or ""
            value = env.get(name)
            if op in (":-", "-"):
                if value is None or (op == ":-" and value == ""):
                    return arg
                return value
            if op in (":+", "+"):
                return arg if value else ""
            if value is None:
                if name not in missing and diags is not None:
                    missing.add(name)
                    diags.append(Diagnostic(path, lineno, Level.INFO, f"compose variable ${name} is not set"))
                return ""
            return value

        lines[i] = _VAR.sub(repl, line).replace("\x00", "$")
    return "\n".join(lines)


@dataclass
class ComposeFile:
    path: str
    services: dict[str, LDict] = field(default_factory=dict)
    service_lines: dict[str, int] = field(default_factory=dict)


def parse_compose(data: bytes | str, path: str, env: dict[str, str] | None = None) -> tuple[ComposeFile, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    text = interpolate(decode(data), env or {}, path, diags)
    doc, ydiags = load_one(text, path)
    diags.extend(ydiags)
    cf = ComposeFile(path)
    services = as_dict(doc).get("services") if isinstance(doc, dict) else None
    if isinstance(services, LDict):
        for name, body in services.items():
            cf.services[str(name)] = as_dict(body) if isinstance(body, dict) else LDict()
            cf.service_lines[str(name)] = services.line_of(name)
    elif doc is not None and not ydiags:
        diags.append(Diagnostic(path, 1, Level.INFO, "compose file has no services: mapping"))
    return cf, diags


def _env_entries(body: LDict, path: str, dotenv: dict[str, str] | None = None) -> list[EnvVar]:
    """``environment:`` as a mapping or a list; a bare ``- NAME`` takes its value from ``.env``."""
    dotenv = dotenv or {}
    env = body.get("environment")
    out: list[EnvVar] = []
    if isinstance(env, LDict):
        for k, v in env.items():
            value = dotenv.get(str(k)) if v is None else str(v)
            file = getattr(env, "key_files", {}).get(k, path)
            out.append(EnvVar(str(k), value, env.line_of(k), file=file))
    elif isinstance(env, list):
        lst = as_list(env)
        for i, item in enumerate(lst):
            if isinstance(item, str):
                k, sep, v = item.partition("=")
                value = v if sep else dotenv.get(k)
                out.append(EnvVar(k, value, lst.line_of(i), file=path))
    return out


def to_workload(
    name: str, body: LDict, key_line: int, path: str, origins: dict[str, str] | None = None, dotenv: dict[str, str] | None = None
) -> Workload:
    """One compose service as a :class:`Workload` (kind ``compose``). ``origins`` maps a key to the
    file that last set it (layered files)."""
    origins = origins or {}
    directory = posixpath.dirname(path)
    wl = Workload(kind="compose", name=name, file=path, line=key_line, source="compose")
    deploy = as_dict(body.get("deploy"))
    if "replicas" in deploy and isinstance(deploy.get("replicas"), int):
        wl.replicas = deploy["replicas"]
        wl.replicas_line = deploy.line_of("replicas")
        wl.extra["replicas_file"] = origins.get("deploy", path)
    else:
        wl.replicas = None
    image = body.get("image")
    cont = Container(name=name, line=key_line, file=path)
    if isinstance(image, str) and image:
        cont.image = image
        cont.image_line = body.line_of("image")
        wl.extra["image_file"] = origins.get("image", path)
    cont.env = _env_entries(body, origins.get("environment", path), dotenv)
    hc = body.get("healthcheck")
    cont.readiness = cont.liveness = isinstance(hc, dict) and not hc.get("disable")
    res = as_dict(deploy.get("resources"))
    if isinstance(res.get("limits"), dict):
        cont.limits = dict(res["limits"])
    if isinstance(res.get("reservations"), dict):
        cont.requests = dict(res["reservations"])
    for key in ("mem_limit", "cpus"):
        if key in body:
            cont.limits[key] = body[key]
    wl.containers.append(cont)
    build = body.get("build")
    ctx: str | None = None
    if isinstance(build, str):
        ctx = build
    elif isinstance(build, dict) and isinstance(build.get("context"), str):
        ctx = build["context"]
    if ctx is not None and "://" not in ctx:
        wl.build_context = posixpath.normpath(posixpath.join(directory, ctx))
        if wl.build_context == ".":
            wl.build_context = ""
    cn = body.get("container_name")
    if isinstance(cn, str) and cn:
        wl.container_name = cn
        wl.container_name_line = body.line_of("container_name")
        wl.extra["container_name_file"] = origins.get("container_name", path)
    deps = body.get("depends_on")
    if isinstance(deps, LDict):
        for dep in deps:
            wl.depends_on.append((str(dep), deps.line_of(dep)))
    elif isinstance(deps, list):
        lst = as_list(deps)
        for i, dep in enumerate(lst):
            if isinstance(dep, str):
                wl.depends_on.append((dep, lst.line_of(i)))
    wl.extra["depends_on_file"] = origins.get("depends_on", path)
    env_files: list[str] = []
    raw_env_files = body.get("env_file")
    for item in raw_env_files if isinstance(raw_env_files, list) else [raw_env_files]:
        ref = item.get("path") if isinstance(item, dict) else item
        if isinstance(ref, str) and ref:
            env_files.append(posixpath.normpath(posixpath.join(posixpath.dirname(origins.get("env_file", path)), ref)))
    wl.extra["env_files"] = env_files
    vols = as_list(body.get("volumes"))
    for i, v in enumerate(vols):
        target = v if isinstance(v, str) else str(as_dict(v).get("source") or "")
        wl.volumes.append(Volume(target.split(":", 1)[0], "volume", vols.line_of(i)))
    tmpfs = body.get("tmpfs")
    if tmpfs:
        wl.volumes.append(Volume("tmpfs", "emptyDir", body.line_of("tmpfs")))
    wl.hostnames = [name]
    if wl.container_name:
        wl.hostnames.append(wl.container_name)
    if isinstance(body.get("hostname"), str):
        wl.hostnames.append(body["hostname"])
    nets = body.get("networks")
    if isinstance(nets, dict):
        for net in nets.values():
            for alias in as_list(as_dict(net).get("aliases")):
                if isinstance(alias, str):
                    wl.hostnames.append(alias)
    ports: list[int] = []
    for p in as_list(body.get("ports")) + as_list(body.get("expose")):
        m = re.search(r"(\d+)(?:/\w+)?$", str(p if not isinstance(p, dict) else p.get("target", "")))
        if m:
            ports.append(int(m.group(1)))
    cont.ports = ports
    if body.get("scale") is not None and isinstance(body.get("scale"), int):
        wl.replicas = body["scale"]
        wl.replicas_line = body.line_of("scale")
    return wl


def _env_mapping(env: Any) -> LDict:
    """``environment`` in either form as a mapping (list items ``K=V`` / bare ``K`` -> None)."""
    if isinstance(env, LDict):
        out = LDict(env)
        out.key_lines = dict(env.key_lines)
        out.line = env.line
        return out
    out = LDict()
    lst = as_list(env)
    out.line = lst.line
    for i, item in enumerate(lst):
        if isinstance(item, str):
            k, sep, v = item.partition("=")
            out[k] = v if sep else None
            out.key_lines[k] = lst.line_of(i)
    return out


def merge_compose(files: list[ComposeFile], dotenv: dict[str, str] | None = None) -> list[Workload]:
    """Layer compose files (first = base) into workloads; key lines come from the first file that
    defines a service."""
    merged: dict[str, LDict] = {}
    first: dict[str, tuple[str, int]] = {}
    origins: dict[str, dict[str, str]] = {}
    for cf in files:
        for name, body in cf.services.items():
            if name not in merged:
                merged[name] = LDict(body)
                merged[name].key_lines = dict(body.key_lines)
                merged[name].line = body.line
                first[name] = (cf.path, cf.service_lines[name])
                origins[name] = {k: cf.path for k in body}
                continue
            base = merged[name]
            for key, value in body.items():
                if key == "environment" and isinstance(base.get(key), (dict, list)) and isinstance(value, (dict, list)):
                    env = _env_mapping(base[key])
                    key_files = dict(getattr(base[key], "key_files", {}) or {k: origins[name].get(key, first[name][0]) for k in env})
                    add = _env_mapping(value)
                    env.update(add)
                    env.key_lines.update(add.key_lines)
                    key_files.update({k: cf.path for k in add})
                    env.key_files = key_files  # type: ignore[attr-defined]
                    base[key] = env
                else:
                    base[key] = value
                base.key_lines[key] = body.line_of(key)
                origins[name][key] = cf.path
    out: list[Workload] = []
    for name, body in merged.items():
        path, line = first[name]
        out.append(to_workload(name, body, line, path, origins[name], dotenv))
    return out


def is_compose_path(path: str) -> bool:
    base = posixpath.basename(path).lower()
    return (base.startswith(("docker-compose", "compose")) and base.endswith((".yml", ".yaml"))) or base in (
        "compose.yml",
        "compose.yaml",
    )


def compose_base_rank(path: str) -> tuple[int, str]:
    """Sort key: the base file of a project first, then overrides, then the rest."""
    base = posixpath.basename(path).lower()
    if base in ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"):
        return (0, path)
    if ".override." in base:
        return (1, path)
    return (2, path)


