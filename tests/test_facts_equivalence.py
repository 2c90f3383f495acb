"""The issue #8 rewrites of the per-file pass give exactly what the code before them gave.

``python_facts`` (graph layer), ``ast_depth`` (engine) and ``imported_modules`` (parsers) now walk
the tree with ``qualscan.parsers.python.walk_nodes`` / ``tree_depth`` (a per-class table of child
fields instead of ``ast.walk``'s generators). ``tests/_facts_reference.py`` keeps the previous code
verbatim; here both run on real code -- a fixed sample of the CPython standard library (only read
and parsed, never imported), every Python file of ``fixtures/`` -- and on hand-written edge cases.
"""

from __future__ import annotations

import ast
import sys
import sysconfig
import warnings
from pathlib import Path
from typing import Any

import pytest

from qualscan.engine.worker import MAX_LIBCST_DEPTH, ast_depth
from qualscan.graph import python_facts
from qualscan.parsers.python import imported_modules, tree_depth, walk_nodes

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _facts_reference as ref  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
EVERY = 10  # every 10th file of the sorted standard library: ~180 files on CPython 3.11
LIMITS = (1, 3, 8, 13, 21, MAX_LIBCST_DEPTH)


def _parse(path: Path) -> tuple[str, ast.Module] | None:
    try:
        text = path.read_text(encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return text, ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return None


def _stdlib_sample() -> list[Path]:
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.relative_to(STDLIB).parts)
    return files[::EVERY]


def _outcome(fn: Any, *args: Any) -> Any:
    """The result, or the exception type (a failure must stay the same failure)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def _check(label: str, text: str, tree: ast.Module) -> None:
    assert _outcome(python_facts, label, text, tree) == _outcome(ref.python_facts, label, text, tree), label
    assert imported_modules(tree) == ref.imported_modules(tree), label
    nodes = walk_nodes(tree)
    expected = ref.walk(tree)
    assert len(nodes) == len(expected) and all(a is b for a, b in zip(nodes, expected)), label
    for limit in LIMITS:
        assert ast_depth(tree, limit) == ref.ast_depth(tree, limit), (label, limit)


def test_standard_library_sample() -> None:
    checked = 0
    with_facts = 0
    for path in _stdlib_sample():
        parsed = _parse(path)
        if parsed is None:  # lib2to3 test data and the like
            continue
        text, tree = parsed
        _check(str(path.relative_to(STDLIB)), text, tree)
        facts = ref.python_facts(str(path), text, tree)
        with_facts += bool(facts["urls"] or facts["env"] or facts["clients"] or facts["topics"])
        checked += 1
    assert checked >= 150, checked
    assert with_facts >= 10, with_facts  # the sample exercises the collector, not only the walk


def test_fixture_python_files() -> None:
    checked = 0
    for path in sorted((REPO / "fixtures").rglob("*.py")):
        parsed = _parse(path)
        if parsed is None:
            continue
        _check(str(path.relative_to(REPO)), *parsed)
        checked += 1
    assert checked >= 50, checked


# Every construct whose fields are unusual: lists holding None (``**`` in a dict, keyword-only
# arguments without a default), optional children, format specs, patterns, type comments...
EDGE = '''
import os, requests as rq
from redis import Redis
from . import sibling
URL = "http://outer:8000/"
def f(a, /, b: "Anno" = 1, *args, c, d=2, **kw) -> "Ret":
    URL = "http://inner:9000/"       # deeper than the module-level URL: ast.walk meets it second
    global G
    nonlocal_free = lambda x, *, y: x
    return rq.get(URL, timeout=os.environ.get("T", 3))
class K(Base, metaclass=M):
    HOST: str = os.getenv("HOST", "db")
    settings.API = "https://api:443"
    x = {**base, "host": HOST, "port": 5432, "ENGINE": "django.db.backends.postgresql"}
    def m(self):
        a = b = c = 1
        a += 1; x: int
        del a
        assert a, "msg"
        with open("f") as (h, i), open("g"):
            pass
        try:
            raise ValueError("x") from None
        except* (KeyError, OSError) as e:
            pass
        for i in range(3):
            continue
        else:
            break
        while not a < b <= c is not d in e:
            a = -b if ~c else +d
        return [i async for i in g if i], {i: j for i, j in z}, {s for s in t}, (g for g in h)
async def h():
    await x
    async with a as b:
        yield b
    async for q in r:
        yield from q
print(f"{URL!r:>{width}.{prec}} and {os.environ['HOME']} at {'http://' + host}:8080")
print("{}://{host}:{}".format("http", 80, host=os.getenv("H", "svc")), "%s:%d" % ("cache", 6379))
Redis(host="cache", port=6379).publish("orders", b"x")
match command:
    case [x, *rest] if x: pass
    case {"k": v, **others}: pass
    case Point(x=0, y=yy) | Point(1, 2) as p: pass
    case None | True | -1 | 1 + 2j | "s" | b"b": pass
    case _: pass
s = a[1:2:3], a[::], a[x, y:z], a[...]
t = (yield), (*a, *b)
'''


@pytest.mark.parametrize(
    "src",
    [
        EDGE,
        "",
        "x = 1",
        "URL = 'http://a:1'\nURL = 'http://b:2'\nrequests.get(URL)\n",
        # the first binding in breadth-first order wins, even though the nested one comes first in the source
        "def f():\n    HOST = 'http://first:1'\nHOST = 'http://second:2'\nrequests.post(HOST)\n",
        # positions that tie: a call and the string it starts with; f-string parts (same position on 3.11)
        "'http://{}:{}'.format(h, p)\nprint(f'http://a:1{x}http://b:2{y:{z}}')\n",
        # nested deeper than MAX_LIBCST_DEPTH (the worker stops at limit + 1)
        "x = requests" + ".a" * 700 + "()\n",
        "q = requests.Session()" + ".get(u)" * 400 + "\n",
        "q = requests.Session()" + ".get(u)" * 100 + "\n",
        "x = " + "-" * 500 + "1\n",
        "x = " + "(" * 150 + "1" + ")" * 150 + "\n",
        "x = 1" + " + 1" * 700 + "\n",
        # a huge integer: rendering it raises (str() digit limit); the failure must be the same
        "requests.get('http://a:1', 0x" + "f" * 4000 + ")\n",
        "print(0x" + "f" * 4000 + ")\n",
        "print(0x" + "f" * 600 + ")\n",  # large, but printable
        # a .format key that isdigit() but is not a number: rendering raises ValueError
        "print('{\u00b2}'.format(1))\n",
        "print('{\u0663}'.format(1), 'http://{0}:80'.format(os.getenv('H', 'h')))\n",
        # the collector without any .format call (unused call arguments are not rendered)
        EDGE.replace(".format(", ".fmt("),
        # deep recursion in render (nested `or` around a long call chain, as a call argument)
        "print(" + "(" * 190 + "x" + ".f()" * 600 + " or 1)" * 190 + ")\n",
        "print(" + "(" * 40 + "os.getenv('A')" + " or 'x')" * 40 + ")\n",
    ],
    ids=lambda src: f"{len(src)}-chars",
)
def test_edge_cases(src: str) -> None:
    tree = ast.parse(src)
    _check("edge.py", src, tree)


def test_breadth_first_binding_is_kept() -> None:
    """Not only equal to the reference: the value the reference gives (so the test can fail)."""
    src = "def f():\n    HOST = 'http://first:1'\nHOST = 'http://second:2'\nrequests.post(HOST)\n"
    facts = python_facts("a.py", src, ast.parse(src))
    assert {"kind": "http", "protocol": "http", "line": 4, "args": ["http://second:2"]} in facts["clients"]


def test_depth_counts_context_and_operator_nodes() -> None:
    # Module > Expr > Name > Load: 4, as ast.iter_child_nodes counts it
    assert tree_depth(ast.parse("x"), 100) == 4 == ref.ast_depth(ast.parse("x"), 100)
    # Module > Expr > BinOp > Constant, and BinOp > Add: 4
    assert tree_depth(ast.parse("1 + 2"), 100) == 4
    assert tree_depth(ast.parse("pass"), 100) == 2 == ref.ast_depth(ast.parse("pass"), 100)
    assert tree_depth(ast.parse("x"), 3) == 4  # limit + 1 as soon as the limit is passed
    assert tree_depth(ast.parse("x" + ".a" * 1000), 300) == 301


def test_walk_lists_every_node_once_in_walk_order() -> None:
    tree = ast.parse(EDGE)
    nodes = walk_nodes(tree)
    assert len({id(n) for n in nodes}) == len(nodes)
    assert nodes[0] is tree
    assert not any(isinstance(n, ref.LEAF) for n in nodes)
    assert [type(n).__name__ for n in nodes] == [type(n).__name__ for n in ref.walk(tree)]


GRPC_SERVERS = [
    "server = grpc.server(futures.ThreadPoolExecutor())",
    "server = grpc.aio.server()",
    "pb2_grpc.add_CartServicer_to_server(Cart(), server)",
    "s := grpc.NewServer()",
    "ServerBuilder.forPort(50051).addService(new Impl()).build();",
    "app.MapGrpcService<GreeterService>();",
    "const server = new grpc.Server();",
    "tonic::transport::Server::builder()",
    "s = GRPC::RpcServer.new",
    "grpc::ServerBuilder builder;",
    "pb.RegisterCurrencyServiceServer(s, &svc{})",
    "NettyServerBuilder.forAddress(addr)",
]


@pytest.mark.parametrize("line", GRPC_SERVERS)
def test_grpc_server_shortcut_finds_every_alternative(line: str) -> None:
    from qualscan.graph.facts import GRPC_SERVER, _serves_grpc

    assert GRPC_SERVER.search(line)
    assert _serves_grpc(line) and _serves_grpc(f"x = 1\n{line}\n")
    assert not _serves_grpc(line.replace("erver", "ervr").replace("MapGrpcService", "MapService"))


def test_grpc_server_shortcut_on_every_fixture_file() -> None:
    from qualscan.graph.facts import GRPC_SERVER, _serves_grpc

    found = 0
    for path in sorted((REPO / "fixtures").rglob("*")):
        if path.is_file() and path.stat().st_size < 1_000_000:
            text = path.read_bytes().decode("utf-8", "replace")
            assert _serves_grpc(text) == bool(GRPC_SERVER.search(text)), path
            found += _serves_grpc(text)
    assert found >= 1
