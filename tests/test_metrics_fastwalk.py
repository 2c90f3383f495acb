"""The fused complexity walk (``qualscan.metrics.complexity.measure``) against its oracles.

* radon's AST-level visitors -- ``ComplexityVisitor`` (every function's cyclomatic complexity by
  (line, column), and the file's ``total_complexity``) and ``h_visit_ast`` (h1, h2, N1, N2 and the
  figures derived from them) -- on a deterministic sample of CPython's standard library (every 5th
  .py file, sorted), radon's own sources and qualscan's;
* the implementation it replaced (tests/_metrics_reference.py: radon's visitors, then one walk per
  function for cognitive complexity and nesting): the functions and classes lists, dict for dict;
* hand-written snippets for each of radon's quirks, with the figures worked out by hand.
"""

from __future__ import annotations

import ast
import os
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest
import radon
from _metrics_reference import reference_measures
from radon.complexity import cc_visit
from radon.metrics import h_visit_ast
from radon.visitors import Class, ComplexityVisitor, Function

from qualscan.metrics import complexity
from qualscan.metrics.complexity import measure

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ROOT = Path(__file__).parents[1]


def _stdlib_sample() -> list[Path]:
    """Every 5th .py file of this interpreter's standard library (site-packages left out), sorted."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files: list[str] = []
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ("site-packages", "dist-packages", "__pycache__"))
        files.extend(os.path.relpath(os.path.join(d, n), root) for n in names if n.endswith(".py"))
    return [root / f for f in sorted(files)[::5]]


STDLIB = _stdlib_sample()
OURS = sorted(Path(radon.__file__).parent.glob("*.py")) + sorted(
    [*_ROOT.joinpath("qualscan").rglob("*.py"), *_ROOT.joinpath("rules").glob("*.py"), *_ROOT.joinpath("tests").glob("*.py")]
)


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):  # e.g. the stdlib's deliberately broken test inputs
        return None


def _radon(tree: ast.Module) -> tuple[dict[tuple[int, int], int], int, Any]:
    """radon's figures: {(line, col): cyclomatic} for every function, total_complexity, Halstead total."""
    visitor = ComplexityVisitor.from_ast(tree)
    cc: dict[tuple[int, int], int] = {}
    stack: list[Any] = [*visitor.functions, *visitor.classes]
    while stack:
        block = stack.pop()
        if isinstance(block, Function):
            cc[(block.lineno, block.col_offset)] = block.complexity
            stack.extend(block.closures)
        elif isinstance(block, Class):
            stack.extend(block.methods)
            stack.extend(block.inner_classes)
    for node in ast.walk(tree):
        if isinstance(node, _FUNCS) and (node.lineno, node.col_offset) not in cc:
            # radon does not report the methods of a class defined inside a function: its own figure
            # for such a def, visited alone
            cc[(node.lineno, node.col_offset)] = ComplexityVisitor.from_ast(node).functions[0].complexity
    return cc, visitor.total_complexity, h_visit_ast(tree).total


def _check_against_oracles(tree: ast.Module) -> None:
    try:
        radon_cc, radon_total, radon_hal = _radon(tree)
        reference = reference_measures(tree)
    except RecursionError:  # radon's visitors recurse; the walk does not
        pytest.skip("radon's recursive visitors hit the recursion limit")
    functions, classes, total, hal = measure(tree)
    line_of = {(n.lineno, n.col_offset): n.lineno for n in ast.walk(tree) if isinstance(n, _FUNCS)}
    ours = {f["line"]: f["cyclomatic"] for f in functions}
    assert len(ours) == len(functions) == len(radon_cc)
    assert {k: ours[line_of[k]] for k in radon_cc} == radon_cc
    assert total == radon_total
    assert (hal["h1"], hal["h2"], hal["N1"], hal["N2"]) == (radon_hal.h1, radon_hal.h2, radon_hal.N1, radon_hal.N2)
    assert (hal["volume"], hal["difficulty"], hal["effort"]) == (radon_hal.volume, radon_hal.difficulty, radon_hal.effort)
    assert (functions, classes, total, hal) == reference


def test_stdlib_sample_is_large_enough() -> None:
    assert len(STDLIB) >= 150
    assert sum(_parse(p) is not None for p in STDLIB) >= 150


@pytest.mark.parametrize("path", STDLIB, ids=lambda p: p.name)
def test_equal_to_radon_and_reference_on_stdlib(path: Path) -> None:
    tree = _parse(path)
    if tree is None:
        pytest.skip("does not parse")
    _check_against_oracles(tree)


@pytest.mark.parametrize("path", OURS, ids=lambda p: "/".join(p.parts[-2:]))
def test_equal_to_radon_and_reference_on_radon_and_qualscan(path: Path) -> None:
    tree = _parse(path)
    assert tree is not None
    _check_against_oracles(tree)


def test_child_table_covers_every_node_field() -> None:
    """The per-class field table read from the ASDL signatures misses no field holding a node."""
    leaves = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop, ast.alias, ast.type_ignore)
    seen: dict[type, set[str]] = {}
    for path in STDLIB[::2] + OURS[::4]:
        tree = _parse(path)
        for node in ast.walk(tree) if tree is not None else ():
            for name, value in ast.iter_fields(node):
                values = value if isinstance(value, list) else [value]
                if any(isinstance(v, ast.AST) and not isinstance(v, leaves) for v in values):
                    seen.setdefault(type(node), set()).add(name)
    assert len(seen) > 45
    for cls, names in seen.items():
        if cls in complexity._SPECIAL:
            continue
        singles, lists = complexity._PLAIN[cls]
        assert names <= set(singles) | set(lists), cls


# -- radon's quirks, by hand ----------------------------------------------------------------------


def _measure(src: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], int, dict[str, float]]:
    tree = ast.parse(textwrap.dedent(src))
    _check_against_oracles(tree)
    functions, classes, total, hal = measure(tree)
    return {f["qualname"]: f for f in functions}, classes, total, hal


def test_assert_counts_one_and_is_not_looked_into_by_cyclomatic() -> None:
    fns, _, total, hal = _measure(
        """
        def f(a, b, c):
            assert a and b or c, (x if a else y)
        """
    )
    assert fns["f"]["cyclomatic"] == 2  # 1 + assert; the BoolOps and the IfExp inside are not counted
    assert total == 2
    # cognitive does look into it: `a and b or c` is two sequences, the conditional expression 1
    assert fns["f"]["cognitive"] == 3
    # Halstead does too: and (a, b), or (BoolOp, c) -> h1 2, N1 2, operands a, b, c, the inner BoolOp
    assert (hal["h1"], hal["N1"], hal["h2"], hal["N2"]) == (2, 2, 4, 4)


def test_except_star_handlers_are_not_counted_by_radon() -> None:
    fns, _, _, _ = _measure(
        """
        def f():
            try:
                g()
            except* KeyError:
                pass
            except* ValueError:
                pass
            else:
                h()

        def t():
            try:
                g()
            except KeyError:
                pass
            except ValueError:
                pass
            else:
                h()
        """
    )
    assert fns["f"]["cyclomatic"] == 1  # radon matches the class name 'Try': TryStar adds nothing
    assert fns["t"]["cyclomatic"] == 4  # 1 + 2 handlers + else
    assert fns["f"]["cognitive"] == fns["t"]["cognitive"] == 3  # 2 excepts + else, both forms


def test_match_case_underscore_and_capture() -> None:
    fns, _, _, _ = _measure(
        """
        def wildcard(x):
            match x:
                case 1:
                    pass
                case 2 if x > 0 and x < 9:
                    pass
                case _:
                    pass

        def capture(x):
            match x:
                case [1, 2]:
                    pass
                case other:
                    pass

        def only_wildcard(x):
            match x:
                case _:
                    pass

        def no_default(x):
            match x:
                case 1:
                    pass
                case {"k": 2}:
                    pass
        """
    )
    assert fns["wildcard"]["cyclomatic"] == 1 + (3 - 1) + 1  # the guard's `and` counts too
    assert fns["capture"]["cyclomatic"] == 1 + (2 - 1)  # a bare capture counts as `case _`
    assert fns["only_wildcard"]["cyclomatic"] == 1  # max(0, 1 - 1)
    assert fns["no_default"]["cyclomatic"] == 3
    assert fns["wildcard"]["cognitive"] == 1 + 1  # match; the guard's boolean sequence


def test_class_inside_function_and_cyclomatic_total() -> None:
    fns, classes, total, _ = _measure(
        """
        if A:
            x = 1

        def outer(a):
            if a:
                pass
            class Inner:
                y = 1 if a else 2
                def method(self, b):
                    for i in b:
                        pass
                    return [j for j in b if j]
            def closure(c):
                while c:
                    pass
            return Inner, closure

        class Top:
            z = [k for k in range(3)]
            def m(self, d):
                return d or self
            class Nested:
                def n(self):
                    if self:
                        pass
        """
    )
    assert fns["outer"]["cyclomatic"] == 2  # the class and the closure are not added
    assert fns["outer.<locals>.Inner.method"]["cyclomatic"] == 1 + 1 + 2  # radon does not report it
    assert fns["outer.<locals>.closure"]["cyclomatic"] == 2
    assert fns["Top.m"]["cyclomatic"] == 2
    assert fns["Top.Nested.n"]["cyclomatic"] == 2
    # 1 + module `if` + (outer - 1) + Top's body (comprehension 1) + its method m (2);
    # closures, classes inside functions and inner classes are not in radon's total
    assert total == 1 + 1 + 1 + 1 + 2
    assert fns["outer.<locals>.Inner.method"]["is_method"] is True
    # cognitive: outer's if (1) + the class body restarts at 0: ternary (1), the method's for (1);
    # the closure's while nests one level (1 + 1)
    assert fns["outer"]["cognitive"] == 1 + 1 + 1 + 2
    assert [c["qualname"] for c in classes] == ["outer.<locals>.Inner", "Top", "Top.Nested"]


def test_lambda_is_transparent_at_module_level() -> None:
    fns, _, total, _ = _measure(
        """
        key = lambda v: v if v > 0 else (w for w in v if w)

        def f(items):
            return sorted(items, key=lambda i: i and i.name)
        """
    )
    # the module-level lambda's conditional expression (1) and generator with an `if` (2) count at
    # module level; f adds its cyclomatic less 1
    assert total == 1 + 1 + 2 + 1
    assert fns["f"]["cyclomatic"] == 2  # the lambda's `and` counts in f
    assert fns["f"]["cognitive"] == 1


def test_decorators_count_for_cognitive_only_and_class_decorators_for_halstead() -> None:
    fns, _, total, hal = _measure(
        """
        @register(a and b)
        def f(x=c or d):
            return x

        def outer():
            if y:
                @cache(p or q if r else s)
                def inner():
                    pass
            return inner

        @dataclass(frozen=e and g)
        class K:
            pass
        """
    )
    # radon counts neither decorators, defaults, nor class decorators
    assert fns["f"]["cyclomatic"] == 1 and fns["outer.<locals>.inner"]["cyclomatic"] == 1
    assert total == 1 + 1  # outer's if
    # cognitive: a function's own decorators at level 0; in the enclosing function at the def's level
    assert fns["f"]["cognitive"] == 1  # `a and b`; the default is not looked into
    assert fns["outer.<locals>.inner"]["cognitive"] == 1 + 1  # the ternary (level 0) and `or`
    assert fns["outer"]["cognitive"] == 1 + (1 + 1) + 1  # if; the ternary at level 1; `or`
    # Halstead sees the class decorator (`e and g`) but no function decorator or default
    assert (hal["h1"], hal["N1"], hal["h2"], hal["N2"]) == (1, 1, 2, 2)


def test_constants_equal_as_python_values_are_one_operand() -> None:
    _, _, _, hal = _measure(
        """
        x = 1 + 1.0
        y = True + 1
        def f():
            return 1 + 2
        """
    )
    # operands: (None, 1) == (None, 1.0) == (None, True) -> 1 at module level; in f (f, 1), (f, 2)
    assert (hal["h1"], hal["N1"], hal["h2"], hal["N2"]) == (1, 3, 3, 6)


def test_expression_operands_are_distinct_nodes() -> None:
    _, _, _, hal = _measure("z = (a + b) * (a + b) - -a\n")
    # operands: a, b (twice each: one (None, 'a')), two BinOp nodes (by identity), the product, -a
    assert hal["N1"] == 5 and hal["N2"] == 9
    assert hal["h2"] == 2 + 2 + 2  # a, b; the two sums; the product and the negation
    assert hal["h1"] == 4  # Add, Mult, Sub, USub


def test_deep_expressions_and_long_elif_chains_do_not_recurse() -> None:
    depth = sys.getrecursionlimit() * 2
    src = "def f(x):\n    return " + " + ".join(["x"] * depth) + "\n"
    src += "def g(x):\n    if x == 0:\n        pass\n" + "".join(f"    elif x == {i}:\n        pass\n" for i in range(1, depth))
    functions, _, total, hal = measure(ast.parse(src))
    by_name = {f["qualname"]: f for f in functions}
    assert by_name["f"]["cyclomatic"] == 1 and hal["N1"] == depth - 1 + depth
    assert by_name["g"]["cyclomatic"] == 1 + depth
    assert by_name["g"]["cognitive"] == depth  # the if 1, each elif 1
    assert by_name["g"]["nesting"] == 1
    assert total == 1 + depth


def test_same_per_function_figures_as_radon_cc_visit() -> None:
    src = Path(radon.__file__).parent.joinpath("visitors.py").read_text(encoding="utf-8")
    ours = {f["line"]: f["cyclomatic"] for f in measure(ast.parse(src))[0]}
    blocks = cc_visit(src)
    stack: list[Any] = list(blocks)
    seen = 0
    while stack:
        b = stack.pop()
        if isinstance(b, Function):
            assert ours[b.lineno] == b.complexity
            seen += 1
            stack.extend(b.closures)
        else:
            stack.extend(b.methods)
    assert seen >= 20
