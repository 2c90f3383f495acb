"""Per-file analysis of upstream calls, shared by the QS1xx rules (not a rule module).

One libcst pass per file (qualified names + positions, resolved once on the shared
``ctx.cst`` wrapper) collects every call with the context it runs in: enclosing ``async def``,
loops, ``with`` blocks (transactions, breakers), ``try`` handlers, retry/breaker decorators. A
second step resolves *clients*: objects built by a known constructor (``requests.Session()``,
``httpx.Client()``, ``redis.Redis()``, ``boto3.client()``, gRPC stubs...) and kept in a local
variable, an attribute (``self.session``), a module global, or returned by a factory function of
the same module, or built from a subclass of a known client. Every call on such an object, and
every direct library call (``requests.get``, ``urlopen``...), becomes a :class:`CallSite` with
its facts. The analysis is cached on the context object so each rule only filters it.

Precision policy: a call on an object whose origin cannot be resolved in the file is *unknown*
and never reported; a call with ``**kwargs`` has an unknown timeout and is never reported as
missing one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qualscan.engine.lazy import lazy_module
from qualscan.engine.rule import Hit

# libcst is imported on first use (qualscan.engine.lazy): importing the rules must not cost its
# import in a run where no file needs the analysis; its visitors live in ``_calls_cst``.
if TYPE_CHECKING:
    import libcst as cst
    import libcst.metadata as cst_metadata

    from ._calls_cst import Collector, Finder
else:
    cst = lazy_module("libcst", globals(), "cst")
    cst_metadata = lazy_module("libcst.metadata", globals(), "cst_metadata")

# --- the catalogue ---------------------------------------------------------------------------

HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream"}
IDEMPOTENT_VERBS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
SAFE_VERBS = {"GET", "HEAD", "OPTIONS"}

# Top-level modules whose import makes a file worth a call-site analysis.
CLIENT_MODULES = frozenset(
    {
        "requests",
        "httpx",
        "aiohttp",
        "urllib",
        "urllib3",
        "grpc",
        "redis",
        "aioredis",
        "kafka",
        "confluent_kafka",
        "aiokafka",
        "pika",
        "aio_pika",
        "boto3",
        "psycopg2",
        "psycopg",
        "pymysql",
        "MySQLdb",
        "sqlalchemy",
        "google",
    }
)

# module-level functions that perform one remote call: qualified name -> (kind, library, per-call timeout policy)
# policy: "required" (no default: a missing timeout is unbounded), "default" (library default is finite;
# only an explicit None is reported), "none" (no timeout parameter: not a QS101 subject)
DIRECT_CALLS: dict[str, tuple[str, str, str]] = {}
for _verb in ("get", "post", "put", "patch", "delete", "head", "options", "request"):
    DIRECT_CALLS[f"requests.{_verb}"] = ("http", "requests", "required")
    DIRECT_CALLS[f"requests.api.{_verb}"] = ("http", "requests", "required")
    DIRECT_CALLS[f"httpx.{_verb}"] = ("http", "httpx", "default")
DIRECT_CALLS["httpx.stream"] = ("http", "httpx", "default")
DIRECT_CALLS["aiohttp.request"] = ("http", "aiohttp", "default")
DIRECT_CALLS["urllib.request.urlopen"] = ("http", "urllib", "required")
DIRECT_CALLS["urllib3.request"] = ("http", "urllib3", "required")
DIRECT_CALLS["time.sleep"] = ("sleep", "time", "none")

# constructors of clients: qualified name -> (kind, library)
CONSTRUCTORS: dict[str, tuple[str, str]] = {
    "requests.Session": ("http", "requests"),
    "requests.session": ("http", "requests"),
    "requests.sessions.Session": ("http", "requests"),
    "httpx.Client": ("http", "httpx"),
    "httpx.AsyncClient": ("http", "httpx"),
    "aiohttp.ClientSession": ("http", "aiohttp"),
    "aiohttp.client.ClientSession": ("http", "aiohttp"),
    "urllib3.PoolManager": ("http", "urllib3"),
    "urllib3.poolmanager.PoolManager": ("http", "urllib3"),
    "urllib3.HTTPConnectionPool": ("http", "urllib3"),
    "urllib3.HTTPSConnectionPool": ("http", "urllib3"),
    "urllib3.connection_from_url": ("http", "urllib3"),
    "redis.Redis": ("redis", "redis"),
    "redis.StrictRedis": ("redis", "redis"),
    "redis.client.Redis": ("redis", "redis"),
    "redis.from_url": ("redis", "redis"),
    "redis.Redis.from_url": ("redis", "redis"),
    "redis.StrictRedis.from_url": ("redis", "redis"),
    "redis.RedisCluster": ("redis", "redis"),
    "redis.cluster.RedisCluster": ("redis", "redis"),
    "redis.asyncio.Redis": ("redis", "redis.asyncio"),
    "redis.asyncio.StrictRedis": ("redis", "redis.asyncio"),
    "redis.asyncio.from_url": ("redis", "redis.asyncio"),
    "redis.asyncio.Redis.from_url": ("redis", "redis.asyncio"),
    "redis.asyncio.client.Redis": ("redis", "redis.asyncio"),
    "redis.ConnectionPool": ("redis", "redis"),
    "redis.BlockingConnectionPool": ("redis", "redis"),
    "redis.ConnectionPool.from_url": ("redis", "redis"),
    "redis.asyncio.ConnectionPool": ("redis", "redis.asyncio"),
    "redis.asyncio.ConnectionPool.from_url": ("redis", "redis.asyncio"),
    "aioredis.from_url": ("redis", "redis.asyncio"),
    "aioredis.Redis": ("redis", "redis.asyncio"),
    "aioredis.Redis.from_url": ("redis", "redis.asyncio"),
    "boto3.client": ("aws", "boto3"),
    "boto3.resource": ("aws", "boto3"),
    "boto3.session.Session.client": ("aws", "boto3"),
    "boto3.Session.client": ("aws", "boto3"),
    "kafka.KafkaProducer": ("kafka", "kafka"),
    "kafka.producer.KafkaProducer": ("kafka", "kafka"),
    "confluent_kafka.Producer": ("kafka", "confluent_kafka"),
    "aiokafka.AIOKafkaProducer": ("kafka", "aiokafka"),
    "pika.BlockingConnection": ("amqp-connection", "pika"),
    "google.cloud.pubsub_v1.PublisherClient": ("pubsub", "google-pubsub"),
    "google.cloud.pubsub.PublisherClient": ("pubsub", "google-pubsub"),
    "psycopg2.connect": ("db", "psycopg2"),
    "psycopg.connect": ("db", "psycopg"),
    "pymysql.connect": ("db", "pymysql"),
    "MySQLdb.connect": ("db", "MySQLdb"),
    "sqlalchemy.create_engine": ("db-engine", "sqlalchemy"),
    "grpc.insecure_channel": ("grpc-channel", "grpc"),
    "grpc.secure_channel": ("grpc-channel", "grpc"),
    "grpc.aio.insecure_channel": ("grpc-channel", "grpc.aio"),
    "grpc.aio.secure_channel": ("grpc-channel", "grpc.aio"),
}

# base classes: subclasses of these are clients of the same kind
SUBCLASSABLE = {
    "requests.Session": ("http", "requests"),
    "requests.sessions.Session": ("http", "requests"),
    "httpx.Client": ("http", "httpx"),
    "httpx.AsyncClient": ("http", "httpx"),
    "aiohttp.ClientSession": ("http", "aiohttp"),
    "redis.Redis": ("redis", "redis"),
    "redis.StrictRedis": ("redis", "redis"),
}

REDIS_NON_REMOTE = {
    "pipeline", "pubsub", "lock", "close", "connection_pool", "register_script", "from_url",
    "get_connection", "release", "disconnect", "make_connection", "reset",
}
PUBLISH_METHODS = {
    "kafka": {"send", "produce", "send_and_wait"},
    "amqp": {"basic_publish", "publish"},
    "pubsub": {"publish"},
    "redis": {"publish", "xadd"},
    "aws": {"publish", "send_message", "put_record", "put_events"},
}
REDIS_WRITE_TTL = {"set": ("ex", "px", "exat", "pxat", "keepttl"), "mset": (), "hset": (), "hmset": ()}

RETRY_DECORATORS = {
    "tenacity.retry": "tenacity",
    "tenacity.Retrying": "tenacity",
    "retrying.retry": "retrying",
    "backoff.on_exception": "backoff",
    "backoff.on_predicate": "backoff",
}
BREAKER_TYPES = {
    "pybreaker.CircuitBreaker",
    "aiobreaker.CircuitBreaker",
    "circuitbreaker.CircuitBreaker",
    "purgatory.AsyncCircuitBreakerFactory",
    "purgatory.SyncCircuitBreakerFactory",
}
BREAKER_DECORATORS = {"circuitbreaker.circuit", "circuitbreaker.CircuitBreaker"}
TRANSACTION_CALLS = {"django.db.transaction.atomic"}

DEFAULT_CRITICAL_NAMES = (
    "payment",
    "checkout",
    "cart",
    "order",
    "inventory",
    "stock",
    "price",
    "pricing",
    "catalog",
    "product",
    "shipping",
    "currency",
    "auth",
    "login",
    "user",
    "account",
)
DEFAULT_NON_IDEMPOTENT_NAMES = ("payment", "order", "checkout", "charge", "refund")

# --- data ------------------------------------------------------------------------------------


@dataclass
class Client:
    """An object resolved to a known client library, and what its constructor set."""

    kind: str  # http | redis | aws | kafka | amqp | amqp-connection | pubsub | db | grpc | grpc-channel ...
    library: str
    line: int
    ctor: str  # qualified name of the constructor
    node: cst.Call | None = None
    default_timeout: str = "missing"  # missing | none | value | unknown | library-default
    timeout_value: float | None = None
    upstream: str | None = None
    retry: RetryInfo | None = None
    aws_service: str | None = None
    is_async: bool = False
    fixable: bool = False  # the constructor itself can take a timeout keyword (QS101 autofix target)
    uses: int = 0
    name: str | None = None  # first name it is bound to (SESSION, self._http, s)
    fix_node: cst.Call | None = None  # where a timeout keyword goes, when not the constructor itself
    scope: str = "<module>"  # qualname of the function it is built in


@dataclass
class RetryInfo:
    library: str  # tenacity | backoff | retrying | urllib3 | httpx | loop
    line: int
    has_stop: bool = True
    has_backoff: bool = True
    methods: frozenset[str] | None = None  # urllib3 allowed_methods (None = library default: idempotent only)


@dataclass(frozen=True)
class FuncFrame:
    name: str
    qualname: str
    is_async: bool
    line: int
    node: cst.FunctionDef
    params: frozenset[str]
    decorators: tuple[cst.Decorator, ...]
    in_class: bool


@dataclass(frozen=True)
class LoopFrame:
    kind: str  # for | while | comp
    line: int
    node: cst.CSTNode
    iter_node: cst.BaseExpression | None
    while_true: bool


@dataclass(frozen=True)
class WithFrame:
    line: int
    node: cst.BaseCompoundStatement
    items: tuple[cst.BaseExpression, ...]


@dataclass(frozen=True)
class TryFrame:
    line: int
    node: cst.Try


@dataclass
class RawCall:
    node: cst.Call
    line: int
    column: int
    end_line: int
    stack: tuple[Any, ...]
    qnames: frozenset[str]


@dataclass
class CallSite:
    """One remote (or blocking) operation with everything the QS1xx rules need."""

    node: cst.Call
    line: int
    column: int
    end_line: int
    callee: str  # e.g. "requests.get", "requests.Session.post", "grpc.PaymentServiceStub.Charge"
    kind: str  # http | grpc | redis | aws | kafka | amqp | pubsub | db | sleep
    library: str
    method: str  # attribute name called (get, Charge, set, basic_publish...)
    http_verb: str | None
    timeout: str  # missing | none | value | unknown | client | library-default | n/a
    timeout_value: float | None
    timeout_line: int | None  # where the effective timeout is decided (call or constructor)
    upstream: str | None
    client: Client | None
    stack: tuple[Any, ...]
    is_publish: bool = False
    in_test: bool = False

    # convenience views of the stack
    @property
    def func(self) -> FuncFrame | None:
        for frame in reversed(self.stack):
            if isinstance(frame, FuncFrame):
                return frame
        return None

    @property
    def func_qualname(self) -> str:
        f = self.func
        return f.qualname if f else "<module>"

    @property
    def in_async(self) -> bool:
        f = self.func
        return bool(f and f.is_async)

    @property
    def loops(self) -> list[LoopFrame]:
        out: list[LoopFrame] = []
        for frame in reversed(self.stack):
            if isinstance(frame, FuncFrame):
                break
            if isinstance(frame, LoopFrame):
                out.append(frame)
        return out

    @property
    def withs(self) -> list[WithFrame]:
        return [f for f in self.stack if isinstance(f, WithFrame)]

    @property
    def tries(self) -> list[TryFrame]:
        out: list[TryFrame] = []
        for frame in reversed(self.stack):
            if isinstance(frame, FuncFrame):
                break
            if isinstance(frame, TryFrame):
                out.append(frame)
        return out

    @property
    def key(self) -> str:
        return f"{self.callee}@{self.func_qualname}"

    @property
    def remote(self) -> bool:
        return self.kind not in ("sleep", "db")


@dataclass
class FileCalls:
    path: str
    module: cst.Module | None  # None: the file needed no analysis (no libcst tree was built)
    calls: list[CallSite] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    raw: list[RawCall] = field(default_factory=list)
    constants: dict[str, float] = field(default_factory=dict)
    name_upstreams: dict[str, str] = field(default_factory=dict)  # NAME -> "$ENV_VAR" / host
    star_grpc: bool = False  # the module does ``from x_pb2_grpc import *``
    funcs: dict[str, FuncFrame] = field(default_factory=dict)
    protected_funcs: set[str] = field(default_factory=set)  # passed to breaker.call(...)
    breakers: set[str] = field(default_factory=set)  # names bound to breaker objects
    retry_objects: dict[str, RetryInfo] = field(default_factory=dict)
    qn: Any = None
    pos: Any = None
    _loop_cache: dict[int, dict[str, Any]] = field(default_factory=dict)

    def code(self, node: cst.CSTNode) -> str:
        assert self.module is not None, "an empty analysis has no node"
        return self.module.code_for_node(node)

    def line_of(self, node: cst.CSTNode) -> int:
        try:
            return int(self.pos[node].start.line)
        except KeyError:
            return 0

    def qualified(self, node: cst.CSTNode) -> set[str]:
        return qualified_names(self.qn, node)


# --- helpers ---------------------------------------------------------------------------------


def qualified_names(qn: Any, node: cst.CSTNode) -> set[str]:
    try:
        names = qn[node]
    except KeyError:
        return set()
    if callable(names):
        names = names()
    source = cst_metadata.QualifiedNameSource
    return {q.name for q in names if q.source in (source.IMPORT, source.BUILTIN, source.LOCAL)}


def dotted(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def kwarg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def string_value(expr: cst.BaseExpression | None) -> str | None:
    if isinstance(expr, cst.SimpleString):
        try:
            value = expr.evaluated_value
        except Exception:  # noqa: BLE001 - odd literals are just unknown
            return None
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.ConcatenatedString):
        left, right = string_value(expr.left), string_value(expr.right)
        if left is not None and right is not None:
            return left + right
    return None


_URL_HOST = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)")


def upstream_of(fc: FileCalls, expr: cst.BaseExpression | None) -> str | None:
    """A readable name for what an URL-ish expression targets: host, f-string prefix, env var, setting."""
    if expr is None:
        return None
    text = string_value(expr)
    if text is not None:
        m = _URL_HOST.match(text)
        return m.group(1) if m else (text[:80] or None)
    if isinstance(expr, cst.FormattedString):
        prefix = ""
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                prefix += part.value
            elif isinstance(part, cst.FormattedStringExpression):
                inner = upstream_of(fc, part.expression)
                if inner and (not prefix or re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*://", prefix)):
                    return inner
                break
        m = _URL_HOST.match(prefix)
        if m:
            return m.group(1)
        return prefix[:80] or None
    if isinstance(expr, cst.BinaryOperation):
        return upstream_of(fc, expr.left)
    if isinstance(expr, cst.Call):
        # os.getenv("X") / os.environ.get("X")
        names = fc.qualified(expr.func)
        if names & {"os.getenv", "os.environ.get"} or (dotted(expr.func) or "").endswith("environ.get"):
            args = positional(expr)
            if args:
                env = string_value(args[0].value)
                if env:
                    return f"${env}"
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("format", "join"):
            return upstream_of(fc, expr.func.value)
        return None
    if isinstance(expr, cst.Subscript):
        base = dotted(expr.value) or ""
        if base.endswith("environ") and expr.slice:
            sl = expr.slice[0].slice
            if isinstance(sl, cst.Index):
                env = string_value(sl.value)
                if env:
                    return f"${env}"
        return None
    name = dotted(expr)
    if name:
        return fc.name_upstreams.get(name, name)
    return None


def numeric(fc: FileCalls, expr: cst.BaseExpression | None) -> float | None:
    """The number an expression evaluates to (literals, module constants, simple products, tuples -> max)."""
    if expr is None:
        return None
    if isinstance(expr, (cst.Integer, cst.Float)):
        try:
            return float(expr.evaluated_value)
        except (ValueError, TypeError):
            return None
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        v = numeric(fc, expr.expression)
        return -v if v is not None else None
    if isinstance(expr, cst.BinaryOperation):
        a, b = numeric(fc, expr.left), numeric(fc, expr.right)
        if a is None or b is None:
            return None
        if isinstance(expr.operator, cst.Multiply):
            return a * b
        if isinstance(expr.operator, cst.Add):
            return a + b
        if isinstance(expr.operator, cst.Divide) and b:
            return a / b
        return None
    if isinstance(expr, cst.Name):
        return fc.constants.get(expr.value)
    if isinstance(expr, cst.Tuple):
        values = [numeric(fc, el.value) for el in expr.elements]
        known = [v for v in values if v is not None]
        return max(known) if known else None
    if isinstance(expr, cst.Call):
        names = fc.qualified(expr.func)
        if names & {"httpx.Timeout", "aiohttp.ClientTimeout", "urllib3.Timeout", "urllib3.util.Timeout"}:
            values = [numeric(fc, a.value) for a in expr.args if not a.star]
            known = [v for v in values if v is not None]
            return max(known) if known else None
        if names & {"float", "int"} and positional(expr):
            return numeric(fc, positional(expr)[0].value)
    return None


def timeout_of(fc: FileCalls, call: cst.Call, names: Sequence[str], pos_index: int | None = None) -> tuple[str, float | None]:
    """(status, seconds) for the timeout keyword(s) of a call: missing | none | value | unknown."""
    for name in names:
        arg = kwarg(call, name)
        if arg is not None:
            if is_none(arg.value):
                return "none", None
            if isinstance(arg.value, cst.Tuple) and any(is_none(e.value) for e in arg.value.elements):
                return "none", None
            if isinstance(arg.value, cst.Call) and fc.qualified(arg.value.func) & {
                "httpx.Timeout",
                "aiohttp.ClientTimeout",
            }:
                inner = arg.value
                if not inner.args:
                    return "none", None  # ClientTimeout() / Timeout() with nothing set
                if all(is_none(a.value) for a in inner.args if not a.star):
                    return "none", None
            value = numeric(fc, arg.value)
            return ("value", value) if value is not None else ("unknown", None)
    if pos_index is not None:
        args = positional(call)
        if len(args) > pos_index:
            value = numeric(fc, args[pos_index].value)
            if is_none(args[pos_index].value):
                return "none", None
            return ("value", value) if value is not None else ("unknown", None)
    if has_star_kwargs(call):
        return "unknown", None
    return "missing", None


def mentions(fc: FileCalls, node: cst.CSTNode, word: str) -> bool:
    return word.lower() in fc.code(node).lower()


# --- resolution ------------------------------------------------------------------------------


class _Resolver:
    def __init__(self, fc: FileCalls, col: Collector) -> None:
        self.fc = fc
        self.col = col
        # (scope, name) -> Client ; scope is a function qualname, a class name (for self.x) or "" (module)
        self.bindings: dict[tuple[str, str], Client] = {}
        self.breaker_names: set[str] = set()
        self.retry_names: dict[str, RetryInfo] = {}
        self.local_classes: dict[str, tuple[str, str, bool]] = {}  # class -> (kind, library, sets default timeout)
        self.adapters_with_timeout: set[str] = set()
        self.factories: dict[str, Client] = {}
        self._building: set[str] = set()

    # scope keys for a binding target seen with a given stack
    @staticmethod
    def scope_for(name: str, stack: Sequence[Any], cls: str | None) -> str:
        if name.startswith(("self.", "cls.")):
            return f"class:{cls or ''}"
        funcs = [f for f in stack if isinstance(f, FuncFrame)]
        if funcs:
            return funcs[-1].qualname
        return ""

    def class_of(self, stack: Sequence[Any]) -> str | None:
        for frame in stack:
            if isinstance(frame, FuncFrame):
                return frame.qualname.split(".")[0] if frame.in_class or "." in frame.qualname else None
        return None

    def lookup(self, name: str, stack: Sequence[Any]) -> Client | None:
        cls = self.class_of(stack)
        if name.startswith(("self.", "cls.")):
            hit = self.bindings.get((f"class:{cls or ''}", name))
            if hit is None:
                alt = "cls." + name[5:] if name.startswith("self.") else "self." + name[4:]
                hit = self.bindings.get((f"class:{cls or ''}", alt))
            return hit
        funcs = [f for f in stack if isinstance(f, FuncFrame)]
        for frame in reversed(funcs):
            hit = self.bindings.get((frame.qualname, name))
            if hit is not None:
                return hit
        return self.bindings.get(("", name))

    def run(self) -> None:
        self._classes()
        # module constants of retry / breaker objects, then clients (two rounds so a factory used
        # before its definition still resolves)
        for _ in range(2):
            for name, value, stack, _line in self.col.assignments:
                client = self.client_from_expr(value, stack)
                if client is not None:
                    scope = self.scope_for(name, stack, self.class_of(stack))
                    self.bindings.setdefault((scope, name), client)
                    if client.name is None and client.node is not None and _unwrap(value) is client.node:
                        client.name = name
                        client.scope = _func_qualname(stack)
                elif isinstance(value, cst.Call):
                    names = self.fc.qualified(value.func)
                    if names & BREAKER_TYPES:
                        self.breaker_names.add(name)
                    retry = self.retry_from_call(value, names)
                    if retry is not None:
                        self.retry_names[name] = retry
        self.fc.breakers = set(self.breaker_names)
        self.fc.retry_objects = dict(self.retry_names)
        self._post_configuration()

    def _classes(self) -> None:
        for cname, cdef in self.col.classes.items():
            for base in cdef.bases:
                names = self.fc.qualified(base.value)
                for qn in names:
                    if qn in SUBCLASSABLE:
                        kind, lib = SUBCLASSABLE[qn]
                        self.local_classes[cname] = (kind, lib, mentions(self.fc, cdef.body, "timeout"))
                    if qn.endswith(("HTTPAdapter", "adapters.HTTPAdapter")) and mentions(self.fc, cdef.body, "timeout"):
                        self.adapters_with_timeout.add(cname)

    def retry_from_call(self, call: cst.Call, names: set[str]) -> RetryInfo | None:
        if names & {"urllib3.Retry", "urllib3.util.Retry", "urllib3.util.retry.Retry", "requests.packages.urllib3.util.retry.Retry"}:
            methods: frozenset[str] | None = None
            for key in ("allowed_methods", "method_whitelist"):
                arg = kwarg(call, key)
                if arg is not None:
                    if isinstance(arg.value, (cst.List, cst.Tuple, cst.Set)):
                        methods = frozenset(
                            (string_value(e.value) or "").upper() for e in arg.value.elements
                        )
                    elif isinstance(arg.value, cst.Name) and arg.value.value in ("False", "None"):
                        methods = frozenset({"*"})
            backoff = kwarg(call, "backoff_factor")
            has_backoff = backoff is not None and (numeric(self.fc, backoff.value) or 1.0) > 0
            total = kwarg(call, "total")
            has_stop = not (total is not None and is_none(total.value))
            return RetryInfo("urllib3", self.fc.line_of(call), has_stop, has_backoff, methods)
        return None

    def client_from_expr(self, expr: cst.BaseExpression, stack: Sequence[Any]) -> Client | None:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            # self.session = session or requests.Session(): the default the class builds
            return self.client_from_expr(expr.right, stack) or self.client_from_expr(expr.left, stack)
        if isinstance(expr, cst.IfExp):
            return self.client_from_expr(expr.body, stack) or self.client_from_expr(expr.orelse, stack)
        if isinstance(expr, (cst.Name, cst.Attribute)):
            name = dotted(expr)
            if name:
                return self.lookup(name, stack)
            return None
        if not isinstance(expr, cst.Call):
            return None
        return self.client_from_call(expr, stack)

    def client_from_call(self, call: cst.Call, stack: Sequence[Any]) -> Client | None:
        names = self.fc.qualified(call.func)
        if not names and isinstance(call.func, cst.Name) and call.func.value.endswith("Stub") and self.fc.star_grpc:
            names = {f"_pb2_grpc.{call.func.value}"}  # from x_pb2_grpc import *
        line = self.fc.line_of(call)
        for qn in sorted(names):
            if qn in CONSTRUCTORS:
                kind, lib = CONSTRUCTORS[qn]
                return self.make_client(call, qn, kind, lib, line, stack)
            if qn in self.local_classes:
                kind, lib, sets_default = self.local_classes[qn]
                client = self.make_client(call, qn, kind, lib, line, stack)
                if sets_default:
                    client.default_timeout = "value"
                    client.fixable = False
                return client
            if qn.endswith("Stub") and ("_pb2_grpc" in qn or qn.split(".")[-1] != "Stub"):
                upstream = qn.split(".")[-1][: -len("Stub")] or qn
                channel = positional(call)[0].value if positional(call) else None
                chan = self.client_from_expr(channel, stack) if channel is not None else None
                if chan is not None and chan.upstream:
                    upstream = f"{upstream}@{chan.upstream}"
                return Client("grpc", "grpc", line, qn, call, default_timeout="missing", upstream=upstream)
            if qn in self.fc.funcs and qn not in self._building:
                # a factory function of this module: resolve what it returns
                self._building.add(qn)
                try:
                    for ret in self.col.returns.get(qn, []):
                        made = self.client_from_expr(ret, [self.fc.funcs[qn]])
                        if made is not None:
                            return made
                finally:
                    self._building.discard(qn)
        # derived objects: boto3.Session().client("s3"), session.client(...), conn.channel()
        if isinstance(call.func, cst.Attribute):
            attr = call.func.attr.value
            recv = call.func.value
            base = (
                self.client_from_call(recv, stack)
                if isinstance(recv, cst.Call)
                else self.client_from_expr(recv, stack)
            )
            if base is not None:
                if base.kind == "amqp-connection" and attr == "channel":
                    return Client("amqp", base.library, line, base.ctor + ".channel", call, "n/a", upstream="amqp")
                if base.kind == "aws-session" and attr in ("client", "resource"):
                    return self.make_client(call, "boto3.session.Session.client", "aws", "boto3", line, stack)
        if names & {"boto3.Session", "boto3.session.Session"}:
            return Client("aws-session", "boto3", line, "boto3.Session", call, "n/a")
        return None

    def assigned_value(self, expr: cst.BaseExpression | None) -> cst.BaseExpression | None:
        """What a name or attribute (``PARAMS``, ``self._params``) was assigned, when it is a call."""
        name = dotted(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
        if name is None:
            return expr
        for target, assigned, _st, _line in self.col.assignments:
            if target == name and isinstance(assigned, cst.Call):
                return assigned
        return expr

    def make_client(self, call: cst.Call, qn: str, kind: str, lib: str, line: int, stack: Sequence[Any]) -> Client:
        client = Client(kind, lib, line, qn, call)
        fc = self.fc
        args = positional(call)
        if kind == "http":
            base_url = kwarg(call, "base_url")
            client.upstream = upstream_of(fc, base_url.value) if base_url else None
            if lib == "requests":
                client.default_timeout = "missing"  # requests has no client-level timeout
            elif lib == "httpx":
                status, value = timeout_of(fc, call, ["timeout"])
                client.default_timeout = "library-default" if status == "missing" else status
                client.timeout_value = value if status == "value" else (5.0 if status == "missing" else None)
                client.fixable = status == "none"
                transport = kwarg(call, "transport")
                if transport is not None and isinstance(transport.value, cst.Call) and kwarg(transport.value, "retries"):
                    client.retry = RetryInfo("httpx", fc.line_of(transport.value), True, True, None)
                client.is_async = qn.endswith("AsyncClient")
            elif lib == "aiohttp":
                status, value = timeout_of(fc, call, ["timeout"])
                client.default_timeout = status
                client.timeout_value = value
                client.fixable = status in ("missing", "none")
                client.is_async = True
            elif lib == "urllib3":
                status, value = timeout_of(fc, call, ["timeout"])
                client.default_timeout = status
                client.timeout_value = value
                client.fixable = status in ("missing", "none")
                retries = kwarg(call, "retries")
                if retries is not None and isinstance(retries.value, cst.Call):
                    client.retry = self.retry_from_call(retries.value, fc.qualified(retries.value.func))
        elif kind == "redis":
            status, value = timeout_of(fc, call, ["socket_timeout"])
            if status == "missing" and qn.endswith("from_url") and args:
                url = string_value(args[0].value)
                if url is None or "socket_timeout" in url:
                    status = "unknown" if url is None else "value"
            if status == "missing" and kwarg(call, "connection_pool") is not None:
                status = "unknown"
            client.default_timeout = status
            client.timeout_value = value
            client.fixable = status in ("missing", "none")
            client.upstream = "redis"
            if args and qn.endswith("from_url"):
                client.upstream = upstream_of(fc, args[0].value) or "redis"
            client.is_async = lib == "redis.asyncio"
        elif kind == "aws":
            service = string_value(args[0].value) if args else None
            sn = kwarg(call, "service_name")
            if service is None and sn is not None:
                service = string_value(sn.value)
            client.aws_service = service
            client.upstream = f"aws:{service}" if service else "aws"
            config = kwarg(call, "config")
            if config is None:
                client.default_timeout = "unknown" if has_star_kwargs(call) else "missing"
            else:
                cfg = self.assigned_value(config.value)
                if isinstance(cfg, cst.Call) and self.fc.qualified(cfg.func) & {"botocore.config.Config", "botocore.client.Config"}:
                    status, val = timeout_of(fc, cfg, ["read_timeout", "connect_timeout"])
                    client.default_timeout = status
                    client.timeout_value = val
                else:
                    client.default_timeout = "unknown"
        elif kind == "grpc-channel":
            client.upstream = upstream_of(fc, args[0].value) if args else None
            client.default_timeout = "n/a"
        elif kind == "amqp-connection":
            # pika: a publisher blocks forever when the broker raises a memory/disk alarm unless
            # the parameters set blocked_connection_timeout
            client.upstream = "amqp"
            params = args[0].value if args else (kwarg(call, "parameters").value if kwarg(call, "parameters") else None)  # type: ignore[union-attr]
            params = self.assigned_value(params)
            pnames = fc.qualified(params.func) if isinstance(params, cst.Call) else set()
            if isinstance(params, cst.Call) and pnames & {"pika.ConnectionParameters", "pika.connection.ConnectionParameters"}:
                status, value = timeout_of(fc, params, ["blocked_connection_timeout"])
                client.default_timeout, client.timeout_value = status, value
                client.fix_node = params
                client.fixable = status in ("missing", "none")
            elif isinstance(params, cst.Call) and pnames & {"pika.URLParameters", "pika.connection.URLParameters"}:
                url = string_value(positional(params)[0].value) if positional(params) else None
                client.default_timeout = "unknown" if url is None or "blocked_connection_timeout" in url else "missing"
            else:
                client.default_timeout = "unknown"
        elif kind in ("kafka", "pubsub"):
            client.default_timeout = "n/a"
            client.upstream = kind
        elif kind in ("db", "db-engine"):
            client.default_timeout = "n/a"
            client.upstream = "database"
        return client

    def _post_configuration(self) -> None:
        """Apply what later statements do to a client: mount adapters, partial(timeout=...)."""
        for raw in self.fc.raw:
            call = raw.node
            if not isinstance(call.func, cst.Attribute):
                continue
            attr = call.func.attr.value
            receiver = dotted(call.func.value)
            if receiver is None:
                continue
            client = self.lookup(receiver, raw.stack)
            if client is None:
                # breaker.call(func, ...) protects func
                if attr in ("call", "call_async") and receiver in self.breaker_names:
                    args = positional(call)
                    if args:
                        fname = dotted(args[0].value)
                        if fname:
                            self.fc.protected_funcs.add(fname.split(".")[-1])
                continue
            if attr == "mount" and client.kind == "http" and client.library == "requests":
                args = positional(call)
                adapter = args[1].value if len(args) > 1 else (kwarg(call, "adapter").value if kwarg(call, "adapter") else None)  # type: ignore[union-attr]
                if isinstance(adapter, cst.Name):
                    for name, value, _st, _l in self.col.assignments:
                        if name == adapter.value:
                            adapter = value
                            break
                if isinstance(adapter, cst.Call):
                    anames = self.fc.qualified(adapter.func)
                    if kwarg(adapter, "timeout") is not None or anames & self.adapters_with_timeout or any(
                        n.split(".")[-1] in self.adapters_with_timeout for n in anames
                    ):
                        client.default_timeout = "value"
                        t = kwarg(adapter, "timeout")
                        client.timeout_value = numeric(self.fc, t.value) if t else None
                    retries = kwarg(adapter, "max_retries")
                    if retries is not None:
                        rv = retries.value
                        if isinstance(rv, cst.Call):
                            client.retry = self.retry_from_call(rv, self.fc.qualified(rv.func))
                        elif isinstance(rv, cst.Name) and rv.value in self.retry_names:
                            client.retry = self.retry_names[rv.value]
                        elif numeric(self.fc, rv):
                            client.retry = RetryInfo("urllib3", self.fc.line_of(rv), True, False, None)
        # session.request = functools.partial(session.request, timeout=...)
        for name, value, stack, _line in self.col.assignments:
            if (
                name.endswith((".request", ".get", ".post", ".send"))
                and isinstance(value, cst.Call)
                and self.fc.qualified(value.func) & {"functools.partial"}
                and kwarg(value, "timeout")
            ):
                bound = self.lookup(name.rsplit(".", 1)[0], stack)
                if bound is not None:
                    bound.default_timeout = "value"


def _unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.expression if isinstance(expr, cst.Await) else expr


def _func_qualname(stack: Sequence[Any]) -> str:
    funcs = [f for f in stack if isinstance(f, FuncFrame)]
    return funcs[-1].qualname if funcs else "<module>"


# --- building call sites -----------------------------------------------------------------------


def _http_verb(method: str, call: cst.Call) -> str | None:
    m = method.lower()
    if m in ("request", "stream", "urlopen", "request_encode_body", "request_encode_url"):
        args = positional(call)
        verb_arg = kwarg(call, "method")
        value = string_value(verb_arg.value) if verb_arg else (string_value(args[0].value) if args else None)
        return value.upper() if value else None
    if m in HTTP_VERBS and m != "send":
        return m.upper()
    return None


def _direct_verb(method: str, call: cst.Call) -> str | None:
    if method == "urlopen":
        data = kwarg(call, "data")
        args = positional(call)
        has_data = (data is not None and not is_none(data.value)) or (len(args) > 1 and not is_none(args[1].value))
        return "POST" if has_data else "GET"
    return _http_verb(method, call)


def _url_arg(call: cst.Call, method: str) -> cst.BaseExpression | None:
    url = kwarg(call, "url")
    if url is not None:
        return url.value
    args = positional(call)
    if method in ("request", "stream", "request_encode_body", "request_encode_url") or (
        method == "urlopen" and len(args) > 1 and string_value(args[0].value) in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")
    ):
        return args[1].value if len(args) > 1 else None
    return args[0].value if args else None


_NAMED_PUBLISH = {"send", "produce", "publish", "basic_publish", "send_and_wait"}
_PUBLISHER_NAME = re.compile(r"(^|_)(producer|publisher|event_bus|bus)$")


def _topic_upstream(fc: FileCalls, call: cst.Call, kind: str) -> str:
    topic = positional(call)[0].value if positional(call) else None
    rk = kwarg(call, "routing_key") or kwarg(call, "topic")
    if rk is not None:
        topic = rk.value
    name = upstream_of(fc, topic) if topic is not None else None
    return f"{kind}:{name}" if name else kind


def _site(fc: FileCalls, raw: RawCall, **kw: Any) -> CallSite:
    return CallSite(node=raw.node, line=raw.line, column=raw.column, end_line=raw.end_line, stack=raw.stack, **kw)


def _build_sites(fc: FileCalls, res: _Resolver) -> None:
    seen_clients: dict[int, Client] = {}
    for raw in fc.raw:
        call = raw.node
        # 1. direct library calls
        direct = next((DIRECT_CALLS[q] for q in sorted(raw.qnames) if q in DIRECT_CALLS), None)
        if direct is not None:
            kind, lib, policy = direct
            qn = next(q for q in sorted(raw.qnames) if q in DIRECT_CALLS)
            method = qn.split(".")[-1]
            if kind == "sleep":
                fc.calls.append(
                    _site(fc, raw, callee=qn, kind="sleep", library=lib, method=method, http_verb=None,
                          timeout="n/a", timeout_value=None, timeout_line=None, upstream=None, client=None)
                )
                continue
            pos_index = 2 if qn == "urllib.request.urlopen" else None
            status, value = timeout_of(fc, call, ["timeout"], pos_index)
            if status == "missing" and policy == "default":
                status, value = "library-default", 5.0 if lib == "httpx" else 300.0
            fc.calls.append(
                _site(fc, raw, callee=qn, kind=kind, library=lib, method=method,
                      http_verb=_direct_verb(method, call),
                      timeout=status, timeout_value=value, timeout_line=raw.line,
                      upstream=upstream_of(fc, _url_arg(call, method)), client=None)
            )
            continue
        # 2. constructors
        client: Client | None = None
        if raw.qnames & set(CONSTRUCTORS) or any(q in res.local_classes for q in raw.qnames) or any(
            q.endswith("Stub") for q in raw.qnames
        ):
            client = res.client_from_call(call, raw.stack)
            if client is not None:
                # reuse the bound object when this very call was bound
                for b in res.bindings.values():
                    if b.node is call:
                        client = b
                        break
                if client.name is None:
                    client.scope = _func_qualname(raw.stack)
                seen_clients[id(call)] = client
            continue
        # 3. operations on resolved clients
        if not isinstance(call.func, cst.Attribute):
            continue
        method = call.func.attr.value
        recv = call.func.value
        receiver_client: Client | None = None
        grpc_suffix = False
        if isinstance(recv, cst.Attribute) and method in ("future", "with_call"):
            # stub.Method.future(req)
            inner = res.client_from_expr(recv.value, raw.stack) if dotted(recv.value) else None
            if inner is not None and inner.kind == "grpc":
                receiver_client, method, grpc_suffix = inner, recv.attr.value, True
        if receiver_client is None:
            if isinstance(recv, cst.Call):
                receiver_client = seen_clients.get(id(recv)) or res.client_from_call(recv, raw.stack)
            elif dotted(recv):
                receiver_client = res.lookup(dotted(recv) or "", raw.stack)
        if receiver_client is None:
            name = dotted(recv) or ""
            last = name.split(".")[-1].lower()
            if method in _NAMED_PUBLISH and _PUBLISHER_NAME.search(last):
                # an object named like a producer, built in another module (from .events import producer)
                fc.calls.append(
                    _site(fc, raw, callee=f"{name}.{method}", kind="broker", library="unknown", method=method,
                          http_verb=None, timeout="n/a", timeout_value=None, timeout_line=None,
                          upstream=_topic_upstream(fc, call, "broker"), client=None, is_publish=True)
                )
            continue
        c = receiver_client
        c.uses += 1
        del grpc_suffix
        if c.kind == "http":
            if method not in HTTP_VERBS and method not in ("urlopen", "request_encode_body", "request_encode_url", "ws_connect"):
                continue
            if method == "send" and c.library != "requests":
                continue
            status, value = timeout_of(fc, call, ["timeout"])
            tline: int | None = raw.line
            if status == "missing":
                if c.default_timeout in ("value", "library-default", "unknown"):
                    status, value, tline = "client", c.timeout_value, c.line
                elif c.default_timeout == "none":
                    status, value, tline = "client-none", None, c.line
                elif c.library in ("aiohttp", "urllib3"):
                    status, tline = "client-missing", c.line
            upstream = upstream_of(fc, _url_arg(call, method))
            if c.upstream and (upstream is None or not upstream.startswith(("http", "$"))):
                upstream = c.upstream if upstream is None else f"{c.upstream}{upstream}" if upstream.startswith("/") else upstream
            fc.calls.append(
                _site(fc, raw, callee=f"{c.ctor}.{method}", kind="http", library=c.library, method=method,
                      http_verb=_http_verb(method, call), timeout=status, timeout_value=value, timeout_line=tline,
                      upstream=upstream, client=c)
            )
        elif c.kind == "grpc":
            status, value = timeout_of(fc, call, ["timeout"])
            fc.calls.append(
                _site(fc, raw, callee=f"{c.ctor}.{method}", kind="grpc", library="grpc", method=method,
                      http_verb="GET" if method.startswith(("Get", "List", "Check", "Search", "Find", "Lookup", "Fetch", "Query")) else "POST",
                      timeout=status, timeout_value=value, timeout_line=raw.line, upstream=c.upstream, client=c)
            )
        elif c.kind == "redis":
            if method in REDIS_NON_REMOTE:
                continue
            status = "client" if c.default_timeout in ("value", "unknown") else "client-" + c.default_timeout
            fc.calls.append(
                _site(fc, raw, callee=f"{c.ctor}.{method}", kind="redis", library=c.library, method=method,
                      http_verb=None, timeout=status, timeout_value=c.timeout_value, timeout_line=c.line,
                      upstream=c.upstream, client=c, is_publish=method in PUBLISH_METHODS["redis"])
            )
        elif c.kind in ("aws", "kafka", "amqp", "pubsub"):
            if method == "flush" and c.kind == "kafka":
                # Producer.flush() waits for every buffered message: forever by default
                status, value = timeout_of(fc, call, ["timeout"], 0)
                fc.calls.append(
                    _site(fc, raw, callee=f"{c.ctor}.flush", kind="kafka", library=c.library, method=method,
                          http_verb=None, timeout=status, timeout_value=value, timeout_line=raw.line,
                          upstream=c.upstream, client=c)
                )
                continue
            if method in ("close", "flush", "poll", "list_topics") and c.kind != "aws":
                continue
            is_pub = method in PUBLISH_METHODS.get(c.kind, set())
            if c.kind == "aws":
                upstream = c.upstream
                is_pub = is_pub and (c.aws_service in ("sns", "sqs", "kinesis", "events", None))
            else:
                topic = positional(call)[0].value if positional(call) else None
                if c.kind == "amqp":
                    rk = kwarg(call, "routing_key")
                    topic = rk.value if rk else None
                upstream = f"{c.kind}:{upstream_of(fc, topic)}" if topic is not None and upstream_of(fc, topic) else c.kind
            status = "client" if c.default_timeout in ("value", "unknown", "n/a") else "client-" + c.default_timeout
            fc.calls.append(
                _site(fc, raw, callee=f"{c.ctor}.{method}", kind=c.kind, library=c.library, method=method,
                      http_verb=None, timeout=status, timeout_value=c.timeout_value, timeout_line=c.line,
                      upstream=upstream, client=c, is_publish=is_pub)
            )
        elif c.kind in ("db", "db-engine"):
            fc.calls.append(
                _site(fc, raw, callee=f"{c.ctor}.{method}", kind="db", library=c.library, method=method,
                      http_verb=None, timeout="n/a", timeout_value=None, timeout_line=None,
                      upstream="database", client=c)
            )
    # clients created and bound
    all_clients: dict[int, Client] = {}
    for client in list(res.bindings.values()) + list(seen_clients.values()):
        if client.node is not None:
            all_clients.setdefault(id(client.node), client)
    fc.clients = sorted(all_clients.values(), key=lambda c: c.line)


_NETWORK_MODULES = frozenset(
    {"requests", "httpx", "aiohttp", "urllib3", "grpc", "redis", "kafka", "confluent_kafka", "aiokafka",
     "pika", "aio_pika", "boto3", "django_redis", "aioredis", "tenacity", "backoff", "retrying",
     "circuitbreaker", "pybreaker", "aiobreaker", "purgatory"}
)
_DJANGO_CACHE_WRITE = re.compile(r"\bcaches?\b(\[[^\]]*\])?\.(set|add|set_many|get_or_set)\(")
_NAMED_PRODUCER = re.compile(r"(producer|publisher|event_bus|\bbus)\.(send|produce|publish|basic_publish)\(")


def needs_analysis(imports: frozenset[str], text: str) -> bool:
    """Cheap pre-check before libcst: can this file contain anything the QS1xx rules look at?

    The engine's triggers match top-level modules, so ``from urllib.parse import urljoin`` or
    ``import time`` would start libcst on thousands of files that make no remote call; this keeps
    the expensive metadata pass for files that use a client library for real."""
    if imports & _NETWORK_MODULES:
        return True
    if "urllib" in imports and "urlopen" in text:
        return True
    if "time" in imports and "async def" in text and "sleep" in text:
        return True
    if "google" in imports and "pubsub" in text:
        return True
    if "django" in imports and _DJANGO_CACHE_WRITE.search(text):
        return True
    return _NAMED_PRODUCER.search(text) is not None


def analyze(ctx: Any) -> FileCalls:
    """The call-site analysis of ``ctx``'s file, computed once and cached on ``ctx``."""
    cached = getattr(ctx, "_qs_calls", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not needs_analysis(frozenset(getattr(ctx, "imports", frozenset())), getattr(ctx, "text", "")):
        fc = FileCalls(path=getattr(ctx, "path", "<string>"), module=None)
    else:
        try:
            fc = analyze_wrapper(ctx.cst, getattr(ctx, "path", "<string>"))
        except (cst.ParserSyntaxError, RecursionError, ValueError):
            # libcst cannot read what ast could (or the nesting is too deep): the first rule
            # raises (the engine turns it into one diagnostic), the others see an empty analysis
            with contextlib.suppress(AttributeError):
                ctx._qs_calls = FileCalls(path=getattr(ctx, "path", "<string>"), module=None)
            raise
    with contextlib.suppress(AttributeError):  # contexts with __slots__ just do not cache
        ctx._qs_calls = fc
    return fc


def analyze_wrapper(wrapper: Any, path: str = "<string>") -> FileCalls:
    """Analyse a ``libcst.metadata.MetadataWrapper`` (metadata resolved once)."""
    from ._calls_cst import Collector

    fc = FileCalls(path=path, module=wrapper.module)
    fc.qn = wrapper.resolve(cst_metadata.QualifiedNameProvider)
    fc.pos = wrapper.resolve(cst_metadata.PositionProvider)
    col = Collector(fc, CLIENT_MODULES)
    wrapper.visit(col)
    res = _Resolver(fc, col)
    res.run()
    _build_sites(fc, res)
    return fc


def analyze_text(text: str, path: str = "<string>") -> FileCalls:
    module = cst.parse_module(text)
    return analyze_wrapper(cst_metadata.MetadataWrapper(module, unsafe_skip_copy=True), path)


# --- context facts used by several rules -------------------------------------------------------


def decorator_call(dec: cst.Decorator) -> tuple[cst.BaseExpression, cst.Call | None]:
    if isinstance(dec.decorator, cst.Call):
        return dec.decorator.func, dec.decorator
    return dec.decorator, None


def retry_decorators(fc: FileCalls, func: FuncFrame) -> list[RetryInfo]:
    out: list[RetryInfo] = []
    for dec in func.decorators:
        target, call = decorator_call(dec)
        names = fc.qualified(target)
        lib = next((RETRY_DECORATORS[n] for n in names if n in RETRY_DECORATORS), None)
        line = fc.line_of(dec)
        if lib == "tenacity":
            has_stop = call is not None and kwarg(call, "stop") is not None
            wait = kwarg(call, "wait") if call is not None else None
            has_backoff = wait is not None and any(
                w in fc.code(wait.value).lower() for w in ("exponential", "random", "jitter", "incrementing", "chain")
            )
            out.append(RetryInfo("tenacity", line, has_stop, has_backoff, None))
        elif lib == "retrying":
            code = fc.code(call) if call is not None else ""
            has_stop = "stop_max" in code or "stop_func" in code
            has_backoff = "exponential" in code or "random" in code or "wait_func" in code
            out.append(RetryInfo("retrying", line, has_stop, has_backoff, None))
        elif lib == "backoff":
            has_stop = call is not None and (kwarg(call, "max_tries") is not None or kwarg(call, "max_time") is not None)
            gen = positional(call)[0].value if call is not None and positional(call) else None
            has_backoff = not (gen is not None and "constant" in fc.code(gen) and kwarg(call, "jitter") is not None and is_none(kwarg(call, "jitter").value))  # type: ignore[arg-type, union-attr]
            out.append(RetryInfo("backoff", line, has_stop, has_backoff, None))
    return out


def has_breaker(fc: FileCalls, site: CallSite) -> bool:
    for frame in site.stack:
        if isinstance(frame, FuncFrame):
            if frame.name in fc.protected_funcs:
                return True
            for dec in frame.decorators:
                target, call = decorator_call(dec)
                names = fc.qualified(target)
                if names & BREAKER_DECORATORS or names & BREAKER_TYPES:
                    return True
                name = dotted(target)
                if name and (name in fc.breakers or name.split(".")[-1] in fc.breakers):
                    return True
                if name and ("breaker" in name.lower() or "circuit" in name.lower()):
                    return True
        if isinstance(frame, WithFrame):
            for item in frame.items:
                expr = item.func if isinstance(item, cst.Call) else item
                name = dotted(expr) or ""
                if name in fc.breakers or "breaker" in name.lower() or "circuit" in name.lower():
                    return True
    return False


def handler_catches_broadly(fc: FileCalls, handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names: list[cst.BaseExpression] = []
    if isinstance(handler.type, cst.Tuple):
        names = [e.value for e in handler.type.elements]
    else:
        names = [handler.type]
    for n in names:
        d = dotted(n) or ""
        if d.split(".")[-1] in ("Exception", "BaseException"):
            return True
    return False


def handler_is_noop(handler: cst.ExceptHandler) -> bool:
    body = handler.body
    stmts: Sequence[cst.CSTNode]
    if isinstance(body, cst.IndentedBlock):
        stmts = body.body
    else:
        stmts = [body]
    small: list[cst.BaseSmallStatement] = []
    for stmt in stmts:
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            small.extend(stmt.body)
        else:
            return False
    for s in small:
        if isinstance(s, cst.Pass):
            continue
        if isinstance(s, cst.Expr) and isinstance(s.value, (cst.Ellipsis, cst.SimpleString)):
            continue
        return False
    return True


def scan(node: cst.CSTNode) -> Finder:
    from ._calls_cst import Finder

    finder = Finder()
    node.visit(finder)
    return finder


def handler_has_fallback(handler: cst.ExceptHandler) -> bool:
    """A handler that does not re-raise: it returns or sets a default (a fallback)."""
    f = scan(handler.body)
    return f.raises == 0 and not handler_is_noop(handler)


def loop_facts(fc: FileCalls, loop: LoopFrame) -> dict[str, Any]:
    """Is this loop a retry loop? does it sleep (backoff)? is it bounded?"""
    cached = fc._loop_cache.get(id(loop.node))
    if cached is not None:
        return cached
    node = loop.node
    body: cst.CSTNode = node.body if isinstance(node, (cst.For, cst.While)) else node
    f = scan(body)
    sleep_calls = [c for c in f.calls if "sleep" in (dotted(c.func) or "").lower()]
    sleeps = any(
        not (positional(c) and numeric(fc, positional(c)[0].value) is not None) for c in sleep_calls
    )
    is_range = False
    if isinstance(node, cst.For) and isinstance(node.iter, cst.Call) and dotted(node.iter.func) == "range":
        is_range = True
    tries_with_exit = False
    handler_exits = False
    for t in f.tries:
        tf = scan(t.body)
        ef = scan(t.orelse) if t.orelse else None
        if tf.returns or tf.breaks or (ef and (ef.returns or ef.breaks)):
            tries_with_exit = True
        for h in t.handlers:
            hf = scan(h.body)
            if hf.raises or hf.breaks or hf.returns:
                handler_exits = True
    retry = (is_range or isinstance(node, cst.While)) and tries_with_exit
    target = None
    if isinstance(node, cst.For) and isinstance(node.target, cst.Name):
        target = node.target.value
    # a bounded while loop compares a counter and raises/breaks outside the try
    bounded_outside = False
    if isinstance(node, cst.While):
        code = fc.code(body)
        bounded_outside = bool(re.search(r"\bif\b[^\n]*(>=|>|==|<)[^\n]*:\s*\n?\s*(raise|break|return)", code))
        if not loop.while_true:
            bounded_outside = True
    facts = {
        "retry": retry,
        "sleeps": sleeps,
        "bounded": is_range or bounded_outside or handler_exits,
        "target": target,
    }
    fc._loop_cache[id(loop.node)] = facts
    return facts


def retry_mechanisms(fc: FileCalls, site: CallSite) -> list[RetryInfo]:
    out: list[RetryInfo] = []
    func = site.func
    if func is not None:
        out.extend(retry_decorators(fc, func))
    for loop in site.loops:
        if loop.kind != "comp" and loop_facts(fc, loop)["retry"]:
            facts = loop_facts(fc, loop)
            out.append(RetryInfo("loop", loop.line, facts["bounded"], facts["sleeps"], None))
    if site.client is not None and site.client.retry is not None:
        out.append(site.client.retry)
    # tenacity Retrying() used as an iterator / call wrapper around the call
    for loop in site.loops:
        if isinstance(loop.node, cst.For) and "Retrying" in fc.code(loop.node.iter):
            out.append(RetryInfo("tenacity", loop.line, "stop" in fc.code(loop.node.iter), "wait" in fc.code(loop.node.iter), None))
    return out


def fallback_around(fc: FileCalls, site: CallSite) -> bool:
    for t in site.tries:
        for h in t.node.handlers:
            if handler_has_fallback(h):
                return True
    return False


def critical_name(text: str | None, names: Iterable[str]) -> bool:
    if not text:
        return False
    low = text.lower()
    return any(n.lower() in low for n in names)


def iter_root(expr: cst.BaseExpression | None) -> str | None:
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, (cst.Attribute, cst.Subscript)):
            expr = expr.value
        else:
            break
    return expr.value if isinstance(expr, cst.Name) else None


def sites(ctx: Any) -> Iterator[CallSite]:
    yield from analyze(ctx).calls


# --- hits --------------------------------------------------------------------------------------


def missing_protections(fc: FileCalls, site: CallSite) -> list[str]:
    """What the call lacks among timeout, retry, breaker (or fallback): the words of a report line
    such as "checkout -> payment: no timeout, no retry, no breaker"."""
    out: list[str] = []
    if site.timeout in ("missing", "none", "client-missing", "client-none"):
        out.append("timeout")
    if site.kind in ("http", "grpc", "redis", "aws"):
        if not retry_mechanisms(fc, site):
            out.append("retry")
        if not (has_breaker(fc, site) or fallback_around(fc, site)):
            out.append("breaker")
    return out


def site_hit(
    site: CallSite, message: str, *, line: int | None = None, fc: FileCalls | None = None, **details: Any
) -> Hit:
    data: dict[str, Any] = {
        "upstream": site.upstream or site.kind,
        "client": site.kind,
        "library": site.library,
        "callee": site.callee,
        "function": site.func_qualname,
    }
    if fc is not None:
        data["protections_missing"] = missing_protections(fc, site)
    data.update(details)
    return Hit(
        message=message,
        line=line if line is not None else site.line,
        column=site.column if line is None else 0,
        end_line=site.end_line if line is None else None,
        key=site.key,
        details=data,
    )


def client_hit(client: Client, message: str, **details: Any) -> Hit:
    data: dict[str, Any] = {
        "upstream": client.upstream or client.kind,
        "client": client.kind,
        "library": client.library,
        "callee": client.ctor,
    }
    data.update(details)
    # keyed by what it is and where it lives, not by its line: code inserted above keeps the fingerprint
    key = f"{client.ctor}@{client.scope}" + (f":{client.name}" if client.name else "")
    return Hit(message=message, line=client.line, key=key, details=data)


def describe(site: CallSite) -> str:
    target = site.upstream or site.kind
    return f"{site.callee.split('.')[-1] if site.client is None else site.callee} call to {target}"


def skip_file(ctx: Any, include_tests: bool = False) -> bool:
    return bool(getattr(ctx, "is_test", False)) and not include_tests


def service_budget(ctx: Any, options: Any) -> float:
    info = getattr(ctx, "service_info", {}) or {}
    budget = info.get("budget_s")
    if isinstance(budget, (int, float)) and budget > 0:
        return float(budget)
    if info.get("critical") or info.get("journeys"):
        return float(options.get("critical_budget_s", 10.0))
    return float(options.get("max_timeout_s", 30.0))


_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def name_tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def matches_names(text: str | None, names: Iterable[str]) -> bool:
    """Word-wise match: ``AdService`` matches ``ad``; ``address`` does not; ``recommendations`` matches ``recommend``."""
    if not text:
        return False
    tokens = name_tokens(text)
    for name in names:
        n = name.lower()
        for tok in tokens:
            if tok == n or (len(n) >= 4 and tok.startswith(n)):
                return True
        if len(n) >= 5 and n in text.lower().replace("-", "").replace("_", ""):
            return True
    return False


def caller_is_critical(ctx: Any, names: Iterable[str]) -> bool:
    info = getattr(ctx, "service_info", {}) or {}
    if info.get("critical") or info.get("journeys"):
        return True
    service = getattr(ctx, "service", None)
    return bool(service) and matches_names(str(service), names)
