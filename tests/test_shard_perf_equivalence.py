"""Performance rewrites (issue #8) must give exactly what the straightforward code gives."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from qualscan.parsers.python import imported_modules

REPO = Path(__file__).resolve().parents[1]


def reference_imports(tree: ast.AST) -> frozenset[str]:
    """The obvious version: every Import / absolute ImportFrom found by a full ``ast.walk``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".", 1)[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".", 1)[0])
    return frozenset(names)


NESTED = '''
import a1, a2.sub as x
from b1.c import d
from . import rel
from .. rel2 import y
def f():
    import c1
    async def g():
        from c2 import z
class K:
    import k1
    def m(self):
        if x:
            import i1
        elif y:
            import i2
        else:
            import i3
for i in []:
    import f1
else:
    import f2
while False:
    import w1
else:
    import w2
try:
    import t1
except ImportError:
    import t2
else:
    import t3
finally:
    import t4
try:
    pass
except* ValueError:
    import ts1
with open("x") as fh:
    import wi1
async def h():
    async with a as b:
        import aw1
    async for q in b:
        import af1
    else:
        import af2
match cmd:
    case [x]:
        import m1
    case _:
        import m2
lam = lambda: __import__("dyn")
'''


def test_imports_anywhere_in_the_statement_tree() -> None:
    tree = ast.parse(NESTED)
    expected = {"a1", "a2", "b1", "c1", "c2", "k1", "i1", "i2", "i3", "f1", "f2", "w1", "w2", "t1", "t2", "t3", "t4",
                "ts1", "wi1", "aw1", "af1", "af2", "m1", "m2"}
    assert imported_modules(tree) == expected == reference_imports(tree)


@pytest.mark.parametrize("root", ["qualscan", "rules", "fixtures", "tests"])
def test_same_as_a_full_walk_on_real_code(root: str) -> None:
    checked = 0
    for path in sorted((REPO / root).rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        assert imported_modules(tree) == reference_imports(tree), path
        checked += 1
    assert checked > 0
