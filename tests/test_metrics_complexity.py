"""Complexity metrics from tables of hand-computed cases, and equality with radon on real code."""

from __future__ import annotations

import ast
import math
import textwrap
from pathlib import Path

import pytest
import radon
from radon.complexity import cc_visit
from radon.metrics import h_visit, mi_visit
from radon.raw import analyze

from qualscan.config import Config
from qualscan.metrics import analyze_file
from qualscan.metrics.complexity import maintainability_index
from qualscan.metrics.raw import raw_and_tokens


def _facts(src: str) -> dict:
    src = textwrap.dedent(src)
    return analyze_file("m.py", src, ast.parse(src), Config())


def _fn(src: str, name: str) -> dict:
    return next(f for f in _facts(src)["functions"] if f["qualname"] == name)


# (source, qualname, cyclomatic, cognitive) -- computed by hand from the definitions in
# qualscan/metrics/complexity.py (radon for cyclomatic, SonarSource for cognitive).
CASES = [
    ("def f():\n    return 1\n", "f", 1, 0),
    # if: cc +1; cognitive +1 (nesting 0)
    ("def f(x):\n    if x:\n        return 1\n    return 0\n", "f", 2, 1),
    # if/elif/else: cc 1+1+1 = 3 (else adds nothing in radon); cognitive if 1 + elif 1 + else 1 = 3
    ("def f(x):\n    if x > 1:\n        return 1\n    elif x < 0:\n        return -1\n    else:\n        return 0\n", "f", 3, 3),
    # nested: for(+1) > if(+2 nesting 1) > if(+3 nesting 2) = 6; cc 1+1+1+1 = 4
    (
        "def f(xs):\n    for x in xs:\n        if x:\n            if x > 2:\n                return x\n    return None\n",
        "f",
        4,
        6,
    ),
    # boolean sequences: `a and b and c` = one sequence (+1 cognitive), cc +2 (3 operands)
    ("def f(a, b, c):\n    return a and b and c\n", "f", 3, 1),
    # `a and b or c`: two sequences (+2 cognitive); cc +1 (or) +1 (and) = 3
    ("def f(a, b, c):\n    return a and b or c\n", "f", 3, 2),
    # try/except x2 + else: cc 1 + 2 handlers + 1 else = 4; cognitive: 2 excepts at nesting 0 + else 1 = 3
    (
        "def f():\n    try:\n        g()\n    except KeyError:\n        pass\n    except ValueError:\n        pass\n"
        "    else:\n        h()\n",
        "f",
        4,
        3,
    ),
    # while with else: cc 1 + 1 + 1 = 3; cognitive while +1, else +1 = 2
    ("def f(n):\n    while n:\n        n -= 1\n    else:\n        pass\n", "f", 3, 2),
    # comprehension with an if: cc +1 +1 = 3; cognitive 0 (comprehensions are not counted)
    ("def f(xs):\n    return [x for x in xs if x]\n", "f", 3, 0),
    # conditional expression inside an if: cc 1+1+1 = 3; cognitive if 1 + ternary (1 + nesting 1) = 3
    ("def f(x):\n    if x:\n        return 1 if x > 1 else 2\n    return 0\n", "f", 3, 3),
    # else: if (not elif) nests: if 1 + else 1 + inner if (1 + nesting 1) = 4; cc 3
    ("def f(x):\n    if x:\n        return 1\n    else:\n        if x is None:\n            return 2\n    return 3\n", "f", 3, 4),
    # match with 3 cases, last is `case _`: cc 1 + 2 = 3; cognitive match +1
    (
        "def f(x):\n    match x:\n        case 1:\n            return 'a'\n        case 2:\n            return 'b'\n"
        "        case _:\n            return 'c'\n",
        "f",
        3,
        1,
    ),
    # assert counts for radon's cc, not for cognitive
    ("def f(x):\n    assert x\n    return x\n", "f", 2, 0),
    # nested function: the inner if is +1 + nesting 1 for the outer function, reported alone as 1
    ("def f():\n    x = 1\n    def g(y):\n        if y:\n            return x\n    return g\n", "f", 1, 2),
    ("def f():\n    x = 1\n    def g(y):\n        if y:\n            return x\n    return g\n", "f.<locals>.g", 2, 1),
    # a decorator-style wrapper (only the def and `return name`) adds no nesting
    ("def f():\n    def g(y):\n        if y:\n            return 1\n    return g\n", "f", 1, 1),
    # a conditional expression nests its test: `a if (b if c else d) else e` = 1 + (1 + 1)
    ("def f(a, b, c, d, e):\n    return a if (b if c else d) else e\n", "f", 3, 3),
    # a class body restarts at level 0: the method's if counts 1 in f (not 1 + nesting)
    ("def f():\n    class K:\n        def m(self, x):\n            if x:\n                return 1\n    return K\n", "f", 1, 1),
    # with adds nothing to either
    ("def f(p):\n    with open(p) as fh:\n        return fh.read()\n", "f", 1, 0),
]


@pytest.mark.parametrize(("src", "name", "cc", "cog"), CASES)
def test_cyclomatic_and_cognitive_by_hand(src: str, name: str, cc: int, cog: int) -> None:
    f = _fn(src, name)
    assert (f["cyclomatic"], f["cognitive"]) == (cc, cog)


@pytest.mark.parametrize(("src", "name", "cc", "cog"), CASES)
def test_cyclomatic_equals_radon(src: str, name: str, cc: int, cog: int) -> None:
    blocks = {b.name: b.complexity for b in cc_visit(src)}
    leaf = name.rsplit(".", 1)[-1]
    if leaf in blocks:
        assert _fn(src, name)["cyclomatic"] == blocks[leaf]


def test_function_shape_facts() -> None:
    src = """
    class Cart:
        @staticmethod
        def total(self_like, a, /, b, *rest, c=1, **kw):
            for x in rest:
                while x:
                    if x:
                        x -= 1
                    elif x < 0:
                        break
            return a
    """
    f = _fn(src, "Cart.total")
    # decorator (line 3) excluded: def on line 4, `return a` on line 11
    assert (f["line"], f["end_line"], f["length"]) == (4, 11, 8)
    # self_like is not self/cls: every parameter counts -> self_like, a, b, *rest, c, **kw
    assert f["params"] == 6
    # for > while > if (the elif stays at the if's level) = 3
    assert f["nesting"] == 3
    cls = _facts(src)["classes"][0]
    assert (cls["qualname"], cls["line"], cls["methods"], cls["abstract"]) == ("Cart", 2, 1, False)


def test_method_self_not_counted_and_abstract_class() -> None:
    src = "import abc\nclass Port(abc.ABC):\n    @abc.abstractmethod\n    def send(self, msg, *, timeout):\n        ...\n"
    facts = _facts(src)
    (fn,) = facts["functions"]
    assert (fn["qualname"], fn["params"], fn["is_method"]) == ("Port.send", 2, True)
    assert facts["classes"][0]["abstract"] is True


def test_nesting_depth_ignores_nested_functions() -> None:
    src = "def f():\n    if a:\n        def g():\n            if b:\n                if c:\n                    pass\n"
    f = _fn(src, "f")
    assert f["nesting"] == 1
    assert f["cognitive"] == 1 + (1 + 2) + (1 + 3)  # if; nested def +1 nesting: if at 2, if at 3
    g = _fn(src, "f.<locals>.g")
    assert (g["nesting"], g["cognitive"]) == (2, 1 + (1 + 1))


def test_maintainability_index_by_hand() -> None:
    # V = 1000, G = 12, LLOC = 80, 10 comment lines + 5 docstring lines of 75 SLOC (20 %)
    raw = {"sloc": 75, "comments": 10, "multi": 5, "lloc": 80}
    nn = 171 - 5.2 * math.log(1000) - 0.23 * 12 - 16.2 * math.log(80) + 50 * math.sin(math.sqrt(2.46 * math.radians(20)))
    # by hand: 171 - 35.921 - 2.76 - 70.988 + 39.981 = 101.312 -> 101.312 * 100 / 171 = 59.247
    assert nn * 100 / 171 == pytest.approx(59.247, abs=0.001)
    assert maintainability_index(1000.0, 12, raw) == pytest.approx(nn * 100 / 171)
    assert maintainability_index(0.0, 2, raw) == 100.0  # radon: no volume -> 100


def test_halstead_by_hand() -> None:
    # a + b: operators {+} (h1=1, N1=1), operands {a, b} (h2=2, N2=2): volume = 3 * log2(3)
    hal = _facts("def f(a, b):\n    return a + b\n")["halstead"]
    assert (hal["h1"], hal["h2"], hal["N1"], hal["N2"]) == (1, 2, 1, 2)
    assert hal["volume"] == pytest.approx(3 * math.log2(3))
    assert hal["difficulty"] == pytest.approx(1 / 2 * 2 / 2)


# -- equality with radon on real code: radon's own sources and ours ----------------------------------

# radon's own sources, the metrics package and the sample monorepo (files that do not change under us
# while other layers are being written)
_ROOT = Path(__file__).parents[1]
REAL = (
    sorted(Path(radon.__file__).parent.glob("*.py"))
    + sorted(_ROOT.joinpath("qualscan", "metrics").glob("*.py"))
    + sorted(_ROOT.joinpath("fixtures", "shop").rglob("*.py"))
)


@pytest.mark.parametrize("path", REAL, ids=lambda p: "/".join(p.parts[-3:]))
def test_equal_to_radon_on_real_code(path: Path) -> None:
    src = path.read_text(encoding="utf-8")
    facts = analyze_file(path.name, src, ast.parse(src), Config())
    # cyclomatic per function, matched by line
    radon_cc = {}
    stack = list(cc_visit(src))
    while stack:
        b = stack.pop()
        if hasattr(b, "closures"):
            radon_cc[b.lineno] = b.complexity
            stack.extend(b.closures)
        else:
            stack.extend(b.methods)
            stack.extend(b.inner_classes)
    ours = {f["line"]: f["cyclomatic"] for f in facts["functions"]}
    assert {k: ours.get(k) for k in radon_cc} == radon_cc
    # raw counts and MI
    assert facts["raw"] == analyze(src)._asdict()
    assert facts["mi"] == pytest.approx(mi_visit(src, True), abs=0.1)
    assert facts["halstead"]["volume"] == pytest.approx(h_visit(src).total.volume)


RAW_CASES = [
    "x = 1; y = 2\n",
    "if x: y = 1\n",
    "if x: y = 1; z = 2\n",
    "d = {a: b}\n",
    "def f():\n    '''doc\n\n    more'''\n    return 1\n",
    "x = (1,\n     # inside\n     2)\n",
    "x = 1 + \\\n    2\n",
    "'''module\ndoc'''\n# c\n\n\nx = '''a\nb'''  # t\n",
    "for i in x:\n    pass\nelse:\n    pass\n",
    "x = 1\n\n\n   \n",
    "x = [\n\n    1,\n]\n",
    "lambda: 0\n",
    "try: pass\nexcept: pass\n",
    "x = 1",  # no final newline
    "class A:\n    'single'\n    def f(self): return 1  # trailing\n",
]


@pytest.mark.parametrize("src", RAW_CASES)
def test_raw_counts_equal_radon(src: str) -> None:
    raw, _, _ = raw_and_tokens(src)
    assert raw == analyze(src)._asdict()


def test_clone_tokens_abstract_names_and_literals() -> None:
    _, a, runs_a = raw_and_tokens("def f(x):\n    return x + 1\n")
    _, b, runs_b = raw_and_tokens("def g(total):\n    return total + 42\n")
    assert a == b
    assert runs_a == runs_b == [1, 6, 2, 4]  # line 1: 6 tokens, line 2: 4 tokens
    _, c, _ = raw_and_tokens("def f(x):\n    return x - 1\n")
    assert c != a  # operators keep their identity


SCANNER_CASES = [
    *RAW_CASES,
    "s = 'a\\\nb'\n",  # single-quoted string continued with a backslash
    "x = f'{a!r:>{w}}'\n",
    "x = 1e-3 + .5 + 0x1F + 1_000j\n",
    "if x:\n\tpass\n\x0c\ny = 2\n",
    "x = (\n    1  # c\n)\n   ",
    "# only a comment",
    "x = '''unterminated\n",
    "x = (1,\n",
]


def _reference_tokens(src: str) -> list[tuple[int, str, int]] | str:
    import io
    import tokenize

    skip = {tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING}
    try:
        return [
            (t.type, t.string, t.start[0])
            for t in tokenize.generate_tokens(iter(io.StringIO(src).readlines()).__next__)
            if t.type not in skip
        ]
    except tokenize.TokenError as exc:
        return f"TokenError: {exc.args[0]}"


def _scanned(src: str) -> list[tuple[int, str, int]] | str:
    import io
    import tokenize

    from qualscan.metrics.scanner import scan

    try:
        return scan(io.StringIO(src).readlines())
    except tokenize.TokenError as exc:
        return f"TokenError: {exc.args[0]}"


@pytest.mark.parametrize("src", SCANNER_CASES)
def test_scanner_equals_tokenize_on_snippets(src: str) -> None:
    assert _scanned(src) == _reference_tokens(src)


def test_scanner_equals_tokenize_on_real_files() -> None:
    for path in REAL:
        src = path.read_text(encoding="utf-8")
        assert _scanned(src) == _reference_tokens(src), path
