"""Reference implementations for the issue #8 rewrites of the per-file pass: the code as it was
before (commit 5f83e1e), kept verbatim so that tests and ``benchmarks/facts_equivalence.py`` can
check that the faster versions give exactly the same results.

* ``python_facts`` / ``_Collector`` / ``_dotted`` / ``_env_lookup``: ``qualscan/graph/facts.py``
  (one ``ast.walk``, a visit of every interesting node);
* ``ast_depth``: ``qualscan/engine/worker.py`` (a stack walk over ``ast.iter_child_nodes``);
* ``imported_modules``: ``qualscan/parsers/python.py`` (statement bodies by name);
* ``walk``: what ``qualscan.parsers.python.walk_nodes`` must list (``ast.walk`` without the
  operator / context singletons).
"""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import ast
import re
from typing import Any

from qualscan.graph.facts import (
    CLIENTS,
    CONSUME_CALLS,
    GRPC_SERVER,
    HOST_KWARGS,
    HTTP_MODULES,
    HTTP_VERBS,
    HOSTPORT_RE,
    PRODUCE_CALLS,
    URL_RE,
)

LEAF = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


def walk(tree: ast.AST) -> list[ast.AST]:
    return [n for n in ast.walk(tree) if not isinstance(n, LEAF)]


def ast_depth(tree: ast.AST, limit: int) -> int:
    """Depth of the deepest node, iteratively; stops early once ``limit`` is exceeded."""
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if depth > limit:
                return depth
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def imported_modules(tree: ast.Module) -> frozenset[str]:
    """Top-level names of every module imported anywhere in the file (absolute imports only)."""
    names: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name.split(".", 1)[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module.split(".", 1)[0])
        else:
            for name in _BODY_FIELDS:
                children = getattr(node, name, None)
                if children:
                    stack.extend(children)
    return frozenset(names)


def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _env_lookup(node: ast.AST) -> tuple[str, Any] | None:
    """``os.getenv("X", d)`` / ``os.environ.get("X", d)`` / ``os.environ["X"]`` -> (name, default)."""
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        is_env = name.endswith(("getenv", "environ.get", "env.get", "environ.setdefault")) or name in ("env", "config")
        if is_env and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            default: Any = None
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                default = node.args[1].value
            for kw in node.keywords:
                if kw.arg == "default" and isinstance(kw.value, ast.Constant):
                    default = kw.value.value
            return node.args[0].value, default
    if isinstance(node, ast.Subscript) and _dotted(node.value).endswith("environ"):
        sl = node.slice
        if isinstance(sl, ast.Constant) and isinstance(sl.value, str):
            return sl.value, None
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
        first = _env_lookup(node.values[0])
        if first and isinstance(node.values[1], ast.Constant):
            return first[0], node.values[1].value
    return None


class _Collector(ast.NodeVisitor):
    def __init__(self) -> None:
        self.env: list[dict[str, Any]] = []
        self.urls: list[dict[str, Any]] = []
        self.clients: list[dict[str, Any]] = []
        self.topics: list[dict[str, Any]] = []
        self.names: dict[str, ast.AST] = {}  # simple NAME = expr assignments (module/class level)
        self._seen_urls: set[tuple[str, int]] = set()

    # -- value rendering ---------------------------------------------------------------------
    def render(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """Best-effort string value: literals, env lookups (default or ``${NAME}``), names bound
        to those, f-strings, ``+`` concatenation, ``.format``."""
        if node is None or depth > 5:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
            return str(node.value)
        env = _env_lookup(node)
        if env:
            return str(env[1]) if env[1] is not None else "${" + env[0] + "}"
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.render(self.names[node.id], depth + 1)
        if isinstance(node, ast.Attribute) and node.attr in self.names:  # settings.CART_URL
            return self.render(self.names[node.attr], depth + 1)
        if isinstance(node, ast.JoinedStr):
            out = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    out.append(str(v.value))
                elif isinstance(v, ast.FormattedValue):
                    out.append(self.render(v.value, depth + 1) or "{?}")
            return "".join(out)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.render(node.left, depth + 1), self.render(node.right, depth + 1)
            if left is not None or right is not None:
                return (left or "{?}") + (right or "{?}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            fmt = self.render(node.left, depth + 1)
            if fmt is not None:
                args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
                vals = [self.render(a, depth + 1) or "{?}" for a in args]
                parts = re.split(r"%[-#0-9.]*[sdr]", fmt)
                if len(parts) == len(vals) + 1:
                    return "".join(p + (vals[i] if i < len(vals) else "") for i, p in enumerate(parts))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
        ):
            fmt = self.render(node.func.value, depth + 1)
            if fmt is not None:
                kw = {k.arg: self.render(k.value, depth + 1) or "{?}" for k in node.keywords if k.arg}
                pos = [self.render(a, depth + 1) or "{?}" for a in node.args]
                counter = iter(pos)

                def repl(m: re.Match[str]) -> str:
                    key = m.group(1)
                    if not key:
                        return next(counter, "{?}")
                    if key.isdigit():
                        i = int(key)
                        return pos[i] if i < len(pos) else "{?}"
                    return kw.get(key, "{?}")

                return re.sub(r"\{([^{}:!]*)(?:[:!][^{}]*)?\}", repl, fmt)
        return None

    # -- visitors ----------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            if isinstance(t, ast.Name):
                self.names.setdefault(t.id, node.value)
            elif isinstance(t, ast.Attribute):
                self.names.setdefault(t.attr, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and node.value is not None:
            self.names.setdefault(node.target.id, node.value)
        self.generic_visit(node)

    def _url(self, value: str | None, line: int) -> None:
        if value and (URL_RE.match(value) or HOSTPORT_RE.match(value)) and (value, line) not in self._seen_urls:
            self._seen_urls.add((value, line))
            self.urls.append({"value": value, "line": line})

    def visit_Dict(self, node: ast.Dict) -> None:
        """Settings dicts: ``DATABASES = {"default": {"ENGINE": "...postgresql", "HOST": "db"}}``."""
        entries = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        host_key = next((k for k in entries if k.lower() in ("host", "hostname", "server")), None)
        if host_key is not None:
            host = self.render(entries[host_key])
            if host and "${" not in host:
                engine = (self.render(entries.get("ENGINE") or entries.get("engine")) or "").lower()
                proto = "sql" if any(e in engine for e in ("postgres", "mysql", "sqlite", "oracle", "mssql")) else None
                port = self.render(entries.get("PORT") or entries.get("port"))
                value = f"{host}:{port}" if port and port.isdigit() else host
                self.clients.append({"kind": "settings", "protocol": proto, "line": node.lineno, "args": [value]})

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and len(node.value) < 300:
            self._url(node.value.strip(), node.lineno)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._url(self.render(node), node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        env = _env_lookup(node)
        if env:
            default = env[1] if isinstance(env[1], (str, int, float)) or env[1] is None else None
            self.env.append({"name": env[0], "default": default, "line": node.lineno})
        name = _dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        kind = CLIENTS.get(name) or (CLIENTS.get(last) if "." not in name or last[:1].isupper() else None)
        args = [self.render(a) for a in node.args]
        kwargs = {k.arg: self.render(k.value) for k in node.keywords if k.arg}
        if kind:
            values = [a for a in args if a]
            values += [v for k, v in kwargs.items() if v and k in HOST_KWARGS]
            if kind[0] == "pika" and kwargs.get("host"):
                values.append(kwargs["host"] or "")
            self.clients.append({"kind": kind[0], "protocol": kind[1], "line": node.lineno, "args": values})
            if kind[0] == "kafka" and last.endswith("Consumer"):
                for a in args:
                    if a and not URL_RE.match(a) and not HOSTPORT_RE.match(a):
                        self.topics.append({"topic": a, "mode": "consume", "line": node.lineno, "kind": "kafka"})
        else:
            base = name.split(".", 1)[0].lower()
            if last in HTTP_VERBS and (base in HTTP_MODULES or "session" in base or "client" in base):
                for v in args[:1] + [kwargs.get("url")]:
                    if v:
                        self.clients.append({"kind": "http", "protocol": "http", "line": node.lineno, "args": [v]})
                        self._url(v, node.lineno)
            elif last.endswith("Stub") and node.args:
                self.clients.append({"kind": "grpc-stub", "protocol": "grpc", "line": node.lineno, "args": [], "stub": last})
        if last in PRODUCE_CALLS or last in CONSUME_CALLS:
            mode = "produce" if last in PRODUCE_CALLS else "consume"
            topic = None
            for k in ("topic", "routing_key", "queue", "subject", "stream", "channel"):
                if kwargs.get(k):
                    topic = kwargs[k]
                    break
            if topic is None and args and args[0] and not URL_RE.match(args[0]):
                topic = args[0]
            if topic is None and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
                elts = [self.render(e) for e in node.args[0].elts]
                topic = next((e for e in elts if e), None)
            if topic and len(topic) < 200:
                self.topics.append({"topic": topic, "mode": mode, "line": node.lineno, "kind": last})


def python_facts(path: str, text: str, tree: ast.Module) -> dict[str, Any]:
    """Facts about remote endpoints in one Python file (picklable, JSON-ready).

    One ``ast.walk``: bindings are collected first (so uses before the assignment line resolve),
    then the interesting nodes are examined in source order.
    """
    col = _Collector()
    todo: list[ast.AST] = []
    for node in ast.walk(tree):
        t = type(node)
        if t is ast.Call or t is ast.JoinedStr or t is ast.Dict:
            todo.append(node)
        elif t is ast.Constant:
            if isinstance(node.value, str):  # type: ignore[attr-defined]
                todo.append(node)
        elif t is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                if isinstance(target, ast.Name):
                    col.names.setdefault(target.id, node.value)  # type: ignore[attr-defined]
                elif isinstance(target, ast.Attribute):
                    col.names.setdefault(target.attr, node.value)  # type: ignore[attr-defined]
        elif t is ast.AnnAssign and isinstance(node.target, ast.Name) and node.value is not None:  # type: ignore[attr-defined]
            col.names.setdefault(node.target.id, node.value)  # type: ignore[attr-defined]
    todo.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    for node in todo:
        if isinstance(node, ast.Call):
            col.visit_Call(node)
        elif isinstance(node, ast.Constant):
            col.visit_Constant(node)
        elif isinstance(node, ast.JoinedStr):
            col.visit_JoinedStr(node)
        elif isinstance(node, ast.Dict):
            col.visit_Dict(node)
    serves = ["grpc"] if GRPC_SERVER.search(text) else []
    return {"env": col.env, "urls": col.urls, "clients": col.clients, "topics": col.topics, "serves": serves}
