"""Per-file facts for the service graph: what a source file says about the hosts it talks to.

``python_facts(path, text, tree)`` runs in a worker on the shared ``ast`` tree and returns plain
JSON-ready data (never executes anything):

* ``env``: ``os.environ.get / os.getenv / os.environ[...] / environ.get`` lookups with their
  default (``{"name", "default", "line"}``);
* ``urls``: string literals (and f-strings / ``.format`` with env-backed names substituted) that
  look like URLs or ``host:port`` (``{"value", "line"}``);
* ``clients``: client constructions and calls (redis, kafka, pika, grpc channels, boto3,
  sqlalchemy, psycopg, pymongo, requests/httpx/aiohttp, celery, nats, elasticsearch ...) with the
  string arguments that could be resolved (``{"kind", "protocol", "line", "args"}``);
* ``topics``: topics/queues produced or consumed (``{"topic", "mode", "line", "kind"}``).

``scan_text(text, language)`` is the language-agnostic counterpart for Go, Java, JS/TS, C#, PHP,
Ruby... sources and config files: quoted URL literals, quoted ``host:port`` literals and env
lookups with a literal default (``process.env.X || 'cart'``, ``getenv("X", "cart")``,
``${X:cart}``, ``?? "cart"``).
"""

from __future__ import annotations

import ast
import re
from operator import attrgetter
from typing import Any

from qualscan.parsers.python import walk_levels

# a gRPC server in any of the usual languages (Python, Go, Java, C#, Node, Rust, Ruby, C++)
GRPC_SERVER = re.compile(
    r"grpc\.server\(|grpc\.aio\.server\(|add_\w+Servicer_to_server|grpc\.NewServer\(|ServerBuilder\.forPort|"
    r"MapGrpcService|new grpc\.Server\(|tonic::transport::Server|GRPC::RpcServer|grpc::ServerBuilder|"
    r"Register\w+Server\(|NettyServerBuilder"
)


def _serves_grpc(text: str) -> bool:
    """``GRPC_SERVER.search(text)``, skipping the scan when a substring every alternative contains
    is absent (the alternation has no common prefix: a full search costs ~0.1 ms per Django file)."""
    return ("erver" in text or "MapGrpcService" in text) and GRPC_SERVER.search(text) is not None


URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s]+$")
HOSTPORT_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*:\d{2,5}(/.*)?$")

# constructor / call name (last dotted part, or full dotted name) -> (kind, protocol)
CLIENTS: dict[str, tuple[str, str]] = {
    "redis.Redis": ("redis", "redis"),
    "redis.StrictRedis": ("redis", "redis"),
    "redis.from_url": ("redis", "redis"),
    "Redis.from_url": ("redis", "redis"),
    "redis.asyncio.Redis": ("redis", "redis"),
    "redis.asyncio.from_url": ("redis", "redis"),
    "aioredis.from_url": ("redis", "redis"),
    "StrictRedis": ("redis", "redis"),
    "Redis": ("redis", "redis"),
    "RedisCluster": ("redis", "redis"),
    "KafkaProducer": ("kafka", "kafka"),
    "KafkaConsumer": ("kafka", "kafka"),
    "AIOKafkaProducer": ("kafka", "kafka"),
    "AIOKafkaConsumer": ("kafka", "kafka"),
    "confluent_kafka.Producer": ("kafka", "kafka"),
    "confluent_kafka.Consumer": ("kafka", "kafka"),
    "pika.BlockingConnection": ("pika", "amqp"),
    "pika.ConnectionParameters": ("pika", "amqp"),
    "pika.URLParameters": ("pika", "amqp"),
    "ConnectionParameters": ("pika", "amqp"),
    "aio_pika.connect": ("pika", "amqp"),
    "aio_pika.connect_robust": ("pika", "amqp"),
    "kombu.Connection": ("kombu", "amqp"),
    "Celery": ("celery", "amqp"),
    "grpc.insecure_channel": ("grpc", "grpc"),
    "grpc.secure_channel": ("grpc", "grpc"),
    "grpc.aio.insecure_channel": ("grpc", "grpc"),
    "grpc.aio.secure_channel": ("grpc", "grpc"),
    "boto3.client": ("boto3", "http"),
    "boto3.resource": ("boto3", "http"),
    "create_engine": ("sqlalchemy", "sql"),
    "create_async_engine": ("sqlalchemy", "sql"),
    "sqlalchemy.create_engine": ("sqlalchemy", "sql"),
    "psycopg2.connect": ("psycopg", "sql"),
    "psycopg.connect": ("psycopg", "sql"),
    "psycopg.AsyncConnection.connect": ("psycopg", "sql"),
    "psycopg_pool.ConnectionPool": ("psycopg", "sql"),
    "asyncpg.connect": ("asyncpg", "sql"),
    "asyncpg.create_pool": ("asyncpg", "sql"),
    "pymysql.connect": ("pymysql", "sql"),
    "mysql.connector.connect": ("mysql", "sql"),
    "MySQLdb.connect": ("mysql", "sql"),
    "pymongo.MongoClient": ("pymongo", "mongo"),
    "MongoClient": ("pymongo", "mongo"),
    "AsyncIOMotorClient": ("motor", "mongo"),
    "motor.motor_asyncio.AsyncIOMotorClient": ("motor", "mongo"),
    "Elasticsearch": ("elasticsearch", "http"),
    "elasticsearch.Elasticsearch": ("elasticsearch", "http"),
    "AsyncElasticsearch": ("elasticsearch", "http"),
    "nats.connect": ("nats", "nats"),
    "pymemcache.client.base.Client": ("memcache", "memcached"),
    "httpx.Client": ("httpx", "http"),
    "httpx.AsyncClient": ("httpx", "http"),
}
HTTP_MODULES = {"requests", "httpx", "session", "client", "aiohttp", "urllib3", "http"}
HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "fetch", "urlopen"}
PRODUCE_CALLS = {"send", "send_and_wait", "produce", "publish", "basic_publish", "send_message", "xadd"}
CONSUME_CALLS = {"subscribe", "basic_consume", "consume", "queue_declare", "xread", "xreadgroup"}
TOPIC_KWARGS = {"topic", "routing_key", "queue", "subject", "channel", "stream"}
HOST_KWARGS = {
    "host",
    "url",
    "dsn",
    "bootstrap_servers",
    "broker",
    "broker_url",
    "hosts",
    "address",
    "target",
    "endpoint_url",
    "servers",
    "uri",
    "connection_string",
}


def _dotted(node: ast.AST) -> str:
    cls = node.__class__
    if cls is ast.Name:  # the usual shapes first: ``f`` and ``a.f``
        return node.id  # type: ignore[attr-defined,no-any-return]
    if cls is ast.Attribute and node.value.__class__ is ast.Name:  # type: ignore[attr-defined]
        return node.value.id + "." + node.attr  # type: ignore[attr-defined,no-any-return]
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _call_env_lookup(node: ast.Call, name: str) -> tuple[str, Any] | None:
    """``_env_lookup`` for a call whose ``_dotted(node.func)`` is ``name`` (computed once by the caller)."""
    is_env = name.endswith(("getenv", "environ.get", "env.get", "environ.setdefault")) or name in ("env", "config")
    if is_env and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        default: Any = None
        if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            default = node.args[1].value
        for kw in node.keywords:
            if kw.arg == "default" and isinstance(kw.value, ast.Constant):
                default = kw.value.value
        return node.args[0].value, default
    return None


def _env_lookup(node: ast.AST) -> tuple[str, Any] | None:
    """``os.getenv("X", d)`` / ``os.environ.get("X", d)`` / ``os.environ["X"]`` -> (name, default)."""
    if isinstance(node, ast.Call):
        return _call_env_lookup(node, _dotted(node.func))
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
        # render a call's arguments only when they are used (set by python_facts when rendering
        # cannot raise, so skipping the unused ones changes nothing)
        self.lazy_args = False

    # -- value rendering ---------------------------------------------------------------------
    def render(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """Best-effort string value: literals, env lookups (default or ``${NAME}``), names bound
        to those, f-strings, ``+`` concatenation, ``.format``."""
        if node is None or depth > 5:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
            return str(node.value)
        cls = node.__class__
        if cls is ast.Name:  # never an env lookup: only a bound name renders (as below)
            return self.render(self.names[node.id], depth + 1) if node.id in self.names else None  # type: ignore[attr-defined]
        if cls is ast.Attribute:
            return self.render(self.names[node.attr], depth + 1) if node.attr in self.names else None  # type: ignore[attr-defined]
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
        name = _dotted(node.func)
        env = _call_env_lookup(node, name)
        if env:
            default = env[1] if isinstance(env[1], (str, int, float)) or env[1] is None else None
            self.env.append({"name": env[0], "default": default, "line": node.lineno})
        last = name.rsplit(".", 1)[-1]
        kind = CLIENTS.get(name) or (CLIENTS.get(last) if "." not in name or last[:1].isupper() else None)
        topical = last in PRODUCE_CALLS or last in CONSUME_CALLS
        base = "" if kind else name.split(".", 1)[0].lower()
        http = not kind and last in HTTP_VERBS and (base in HTTP_MODULES or "session" in base or "client" in base)
        if kind or http or topical or not self.lazy_args:
            args = [self.render(a) for a in node.args]
            kwargs = {k.arg: self.render(k.value) for k in node.keywords if k.arg}
        else:  # nothing below reads them, and rendering them cannot fail (see python_facts)
            args, kwargs = [], {}
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
        elif http:
            for v in args[:1] + [kwargs.get("url")]:
                if v:
                    self.clients.append({"kind": "http", "protocol": "http", "line": node.lineno, "args": [v]})
                    self._url(v, node.lineno)
        elif last.endswith("Stub") and node.args:
            self.clients.append({"kind": "grpc-stub", "protocol": "grpc", "line": node.lineno, "args": [], "stub": last})
        if topical:
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


# the node classes python_facts looks at (exact classes, as before: ``type(node) is ...``)
_WANTED = frozenset({ast.Call, ast.JoinedStr, ast.Dict, ast.Constant, ast.Assign, ast.AnnAssign})
_POSITION = attrgetter("lineno", "col_offset")
# Unused call arguments are not rendered when rendering cannot raise. It raises only: (1) on
# str() of an int past the interpreter's digit limit (>= 640 digits, so > 2,000 bits); (2) in the
# ``.format`` substitution (``int("²")``); (3) on recursion, which follows the tree (``_dotted``,
# ``_env_lookup``) for at most two tree depths plus six ``render`` frames: harmless below 100 levels.
_HUGE_INT_BITS = 2000
_LAZY_MAX_LEVELS = 100


def python_facts(path: str, text: str, tree: ast.Module) -> dict[str, Any]:
    """Facts about remote endpoints in one Python file (picklable, JSON-ready).

    One walk in ``ast.walk`` order (breadth-first: the first binding of a name it meets wins):
    bindings are collected first (so uses before the assignment line resolve), then the interesting
    nodes are examined in source order.
    """
    col = _Collector()
    names = col.names
    todo: list[ast.AST] = []
    call, joined, dict_, const, assign, ann_assign = ast.Call, ast.JoinedStr, ast.Dict, ast.Constant, ast.Assign, ast.AnnAssign
    wanted = _WANTED
    levels = walk_levels(tree)
    risky = len(levels) > _LAZY_MAX_LEVELS
    for level in levels:
        for node in level:
            t = node.__class__
            if t not in wanted:
                continue
            if t is call:
                todo.append(node)
                func = node.func  # type: ignore[attr-defined]
                if isinstance(func, ast.Attribute) and func.attr == "format":
                    risky = True
            elif t is joined or t is dict_:
                todo.append(node)
            elif t is const:
                value = node.value  # type: ignore[attr-defined]
                if isinstance(value, str):
                    # visit_Constant can only act on a string holding ":" (URL_RE and HOSTPORT_RE need one)
                    if ":" in value:
                        todo.append(node)
                elif isinstance(value, int) and value.bit_length() > _HUGE_INT_BITS:
                    risky = True
            elif t is assign:
                for target in node.targets:  # type: ignore[attr-defined]
                    if isinstance(target, ast.Name):
                        names.setdefault(target.id, node.value)  # type: ignore[attr-defined]
                    elif isinstance(target, ast.Attribute):
                        names.setdefault(target.attr, node.value)  # type: ignore[attr-defined]
            elif t is ann_assign and isinstance(node.target, ast.Name) and node.value is not None:  # type: ignore[attr-defined]
                names.setdefault(node.target.id, node.value)  # type: ignore[attr-defined]
    col.lazy_args = not risky
    try:
        todo.sort(key=_POSITION)
    except AttributeError:  # hand-built nodes without a position sort first, as (0, 0)
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
    serves = ["grpc"] if _serves_grpc(text) else []
    return {"env": col.env, "urls": col.urls, "clients": col.clients, "topics": col.topics, "serves": serves}


# --- language-agnostic scan -----------------------------------------------------------------------

_Q = r"[\"'`]"
_URL_LIT = re.compile(_Q + r"((?:jdbc:)?[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s\"'`<>]{1,200})" + _Q)
_HOSTPORT_LIT = re.compile(_Q + r"([a-zA-Z][a-zA-Z0-9_.-]{1,80}:\d{2,5})(?:/[^\s\"'`]*)?" + _Q)
_ENV_DEFAULT = [
    # process.env.X || 'v' ; process.env.X ?? 'v' ; process.env['X'] || "v"
    re.compile(r"process\.env(?:\.(\w+)|\[\s*[\"'](\w+)[\"']\s*\])\s*(?:\|\||\?\?)\s*" + _Q + r"([^\"'`\s]+)" + _Q),
    # getenv("X", "v") / env("X", "v") / Getenv / GetEnv / getEnv / getOrDefault("X", "v") / fetch("X", "v")
    re.compile(
        r"(?:getenv|getEnv|Getenv|GetEnv|env|getOrDefault|fetch|get_env|GetEnvOrDefault|envOrDefault|getEnvOrDefault)\s*\(\s*[\"'](\w+)[\"']\s*,\s*" + _Q + r"([^\"'`\s]+)" + _Q
    ),
    # getenv('X') ?: 'v' (PHP) ; GetEnvironmentVariable("X") ?? "v" (C#) ; os.Getenv("X") ... || "v"
    re.compile(
        r"(?:getenv|GetEnvironmentVariable|Getenv|ENV\.fetch|ENV)\s*[\(\[]\s*[\"'](\w+)[\"']\s*[\)\]]\s*(?:\?:|\?\?|\|\||or)\s*" + _Q + r"([^\"'`\s]+)" + _Q
    ),
    # ${X:default} (Spring, shell) and ${X:-default}
    re.compile(r"\$\{(\w+):-?([^}\s]+)\}"),
    # System.getenv("X") == null ? "v" : ... (Java)
    re.compile(r"getenv\(\s*\"(\w+)\"\s*\)\s*==\s*null\s*\?\s*\"([^\"\s]+)\""),
    # amqpHost = "rabbitmq" / dbHost := "mysql" / host: 'redis' (a host-named variable set to a literal)
    re.compile(
        r"\b(\w*(?:[Hh]ost|HOST|[Aa]ddr|ADDR|[Ss]erver|SERVER|[Ee]ndpoint|ENDPOINT)\w*)[\"']?\s*(?::=|=|:)\s*[\"'`]([A-Za-z][\w.-]*(?::\d+)?)[\"'`]"
    ),
    # PDO / ADO.NET style DSNs: "mysql:host=mysql;dbname=x", "Server=sqldata;Database=x"
    re.compile(r"(?i)[\"'`;](?:\w+:)?(host|server|data source)=([A-Za-z][\w.-]*)(?:[;,:\"'`]|$)"),
]


# a line can only match an env-default pattern if it holds one of these (lower-cased)
_ENV_TRIGGERS = ("env", "${", "host", "addr", "server", "endpoint", "data source")


def scan_text(text: str) -> dict[str, Any]:
    """URL / host:port literals and env defaults in any text (line-aware)."""
    urls: list[dict[str, Any]] = []
    env: list[dict[str, Any]] = []
    for i, line in enumerate(text.splitlines(), 1):
        if len(line) > 2000:
            continue
        if "://" in line:
            for m in _URL_LIT.finditer(line):
                urls.append({"value": m.group(1), "line": i})
        if ":" in line:
            for m in _HOSTPORT_LIT.finditer(line):
                urls.append({"value": m.group(1), "line": i})
        low = line.lower()
        if any(t in low for t in _ENV_TRIGGERS):
            for rx in _ENV_DEFAULT:
                for m in rx.finditer(line):
                    groups = [g for g in m.groups() if g is not None]
                    if len(groups) >= 2:
                        env.append({"name": groups[0], "default": groups[-1], "line": i})
    # a URL literal's own env-default duplicate is harmless: edges are merged by (source, target)
    serves = ["grpc"] if _serves_grpc(text) else []
    return {"env": env, "urls": urls, "clients": [], "topics": [], "serves": serves}
