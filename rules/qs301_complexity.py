"""QS301 high-cyclomatic-complexity, QS302 high-cognitive-complexity, QS303 low-maintainability-index,
QS309 oversized-function, QS310 oversized-class, QS311 oversized-file.

All read the project metrics (``ctx.metrics``, see ``qualscan/metrics``); test files are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity

_SVC = {"services/shop/requirements.txt": ""}


def _functions(ctx: ProjectContext) -> list[dict[str, Any]]:
    m = ctx.metrics
    return [f for f in (m.functions if m is not None else []) if not f.get("is_test")]


def _files(ctx: ProjectContext) -> list[dict[str, Any]]:
    m = ctx.metrics
    return [f for f in (m.files if m is not None else []) if not f.get("is_test")]


class HighCyclomaticComplexity(ProjectRule):
    """
    ## What it does
    Reports functions whose cyclomatic complexity (radon's definition: 1 + one per decision point --
    `if`/`elif`, loop, `except`, boolean operator, comprehension, conditional expression, `case`)
    is over `max_cyclomatic` (default 15). The finding sits on the `def` line.

    ## Why it matters during a sales peak
    Every independent path is one more case to test and one more way to fail on input nobody tried
    before the peak: complex functions on the checkout path are where the untested branch finally
    runs, under load, with a change freeze in place.

    ## Example
    ```python
    def shipping(order):  # 16 decision points
        if order.country == "DE" and order.express: ...
    ```

    ## Use instead
    Split the function: a lookup table for the per-country rules, one function per case, early
    returns for the guard clauses.
    """

    code = "QS301"
    name = "high-cyclomatic-complexity"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    summary = "Function with a cyclomatic complexity over the threshold"
    options: ClassVar[dict[str, Any]] = {"max_cyclomatic": 15}
    VALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS301]\nmax_cyclomatic = 3\n",
            "services/shop/app.py": "def simple(x):\n    if x:\n        return 1\n    return 0\n",
        },
    )
    INVALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS301]\nmax_cyclomatic = 3\n",
            "services/shop/app.py": (
                "def price(order):  # qualscan: expect[QS301]\n"
                "    if order.express and order.country == 'DE':\n"
                "        return 10\n"
                "    for line in order.lines:\n"
                "        if line.heavy:\n"
                "            return 20\n"
                "    return 5\n"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        limit = int(ctx.options.get("max_cyclomatic", 15))
        for f in _functions(ctx):
            if f["cyclomatic"] > limit:
                yield Hit(
                    f"{f['qualname']} has a cyclomatic complexity of {f['cyclomatic']} (limit {limit})",
                    file=f["file"],
                    line=f["line"],
                    end_line=f["end_line"],
                    key=f["qualname"],
                    details={"cyclomatic": f["cyclomatic"], "limit": limit},
                )


class HighCognitiveComplexity(ProjectRule):
    """
    ## What it does
    Reports functions whose cognitive complexity (SonarSource's definition: +1 per `if`, loop,
    `except`, conditional expression and `match`, plus one per level of nesting; +1 per `elif`/
    `else`; +1 per sequence of like boolean operators) is over `max_cognitive` (default 15). The
    finding sits on the `def` line.

    ## Why it matters during a sales peak
    Deeply nested logic is where a hot-fix during the event goes wrong: the person on call must
    understand it in minutes, at night, with the checkout down.

    ## Example
    ```python
    def allocate(order):
        for line in order.lines:
            if line.sku in stock:
                if stock[line.sku] > 0:
                    ...
    ```

    ## Use instead
    Flatten with guard clauses (`continue`/`return` early) and extract the inner blocks into named
    functions.
    """

    code = "QS302"
    name = "high-cognitive-complexity"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    summary = "Function with a cognitive complexity over the threshold"
    options: ClassVar[dict[str, Any]] = {"max_cognitive": 15}
    VALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS302]\nmax_cognitive = 4\n",
            "services/shop/app.py": "def flat(xs):\n    for x in xs:\n        if x:\n            return x\n",
        },
    )
    INVALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS302]\nmax_cognitive = 4\n",
            "services/shop/app.py": (
                "def allocate(order, stock):  # qualscan: expect[QS302]\n"
                "    for line in order:\n"  # +1
                "        if line in stock:\n"  # +2
                "            if stock[line] > 0:\n"  # +3
                "                return line\n"
                "    return None\n"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        limit = int(ctx.options.get("max_cognitive", 15))
        for f in _functions(ctx):
            if f["cognitive"] > limit:
                yield Hit(
                    f"{f['qualname']} has a cognitive complexity of {f['cognitive']} (limit {limit})",
                    file=f["file"],
                    line=f["line"],
                    end_line=f["end_line"],
                    key=f["qualname"],
                    details={"cognitive": f["cognitive"], "limit": limit},
                )


class LowMaintainabilityIndex(ProjectRule):
    """
    ## What it does
    Reports files whose maintainability index (radon's formula from Halstead volume, cyclomatic
    complexity, logical lines and comment share; 0-100) is below `min_mi` (default 10, radon's
    rank C). Files with fewer than `min_lloc` logical lines (default 20) are left out. The finding
    sits on line 1.

    ## Why it matters during a sales peak
    A file with a very low index is big, branchy and uncommented all at once: the slowest place to
    find and fix the bug that only the peak traffic triggers.

    ## Example
    A 2,000-line `views.py` with every handler inline.

    ## Use instead
    Split the module by responsibility; move the pure logic out of the request handlers.
    """

    code = "QS303"
    name = "low-maintainability-index"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    summary = "File with a maintainability index below the threshold"
    options: ClassVar[dict[str, Any]] = {"min_mi": 10.0, "min_lloc": 20}
    VALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS303]\nmin_mi = 90.0\nmin_lloc = 1\n",
            "services/shop/app.py": "# prices\nVAT = 0.19\n",
        },
    )
    INVALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS303]\nmin_mi = 90.0\nmin_lloc = 1\n",
            "services/shop/app.py": (
                "def f(a, b, c):  # qualscan: expect[QS303]\n"
                "    if a and b or c:\n"
                "        return a * b + c - a / (b or 1) ** 2 % 7\n"
                "    while a > b:\n"
                "        a = a - b * c + (a << 2) - (b >> 1) ^ c\n"
                "    return [x * y for x in range(a) for y in range(b) if x != y and x > c]\n"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        limit = float(ctx.options.get("min_mi", 10.0))
        min_lloc = int(ctx.options.get("min_lloc", 20))
        for f in _files(ctx):
            mi = f.get("mi")
            if mi is None or (f.get("lloc") or 0) < min_lloc:
                continue
            if mi < limit:
                yield Hit(
                    f"maintainability index {mi:.1f} is below {limit:g}",
                    file=f["path"],
                    line=1,
                    details={"mi": mi, "limit": limit},
                )


class OversizedFunction(ProjectRule):
    """
    ## What it does
    Reports functions longer than `max_lines` lines (default 80, from the `def` line to the last
    line of the body) or with more than `max_params` parameters (default 7, `self`/`cls` not
    counted). The finding sits on the `def` line.

    ## Why it matters during a sales peak
    Long functions with many parameters mix responsibilities: a small change for the campaign
    touches everything in them, and their tests rarely cover all the combinations.

    ## Example
    ```python
    def create_order(user, cart, address, coupon, payment, shipping, gift, note, channel): ...
    ```

    ## Use instead
    Group parameters into a dataclass, split the body into steps.
    """

    code = "QS309"
    name = "oversized-function"
    severity = Severity.INFO
    confidence = Confidence.HIGH
    summary = "Function too long or with too many parameters"
    options: ClassVar[dict[str, Any]] = {"max_lines": 80, "max_params": 7}
    VALID = (
        {**_SVC, "services/shop/app.py": "def ok(a, b):\n    return a + b\n"},
    )
    INVALID = (
        {
            **_SVC,
            "services/shop/app.py": (
                "def create_order(user, cart, address, coupon, payment, shipping, gift, note):  # qualscan: expect[QS309]\n"
                "    return user\n"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        max_lines = int(ctx.options.get("max_lines", 80))
        max_params = int(ctx.options.get("max_params", 7))
        for f in _functions(ctx):
            reasons = []
            if f["length"] > max_lines:
                reasons.append(f"{f['length']} lines (limit {max_lines})")
            if f["params"] > max_params:
                reasons.append(f"{f['params']} parameters (limit {max_params})")
            if reasons:
                yield Hit(
                    f"{f['qualname']} has " + " and ".join(reasons),
                    file=f["file"],
                    line=f["line"],
                    end_line=f["end_line"],
                    key=f["qualname"],
                    details={"length": f["length"], "params": f["params"]},
                )


class OversizedClass(ProjectRule):
    """
    ## What it does
    Reports classes longer than `max_lines` lines (default 500) or with more than `max_methods`
    methods (default 30). The finding sits on the `class` line.

    ## Why it matters during a sales peak
    A god class (the `OrderService` that does everything) is changed by every team for every
    campaign: the most likely place for a late, risky change.

    ## Example
    ```python
    class OrderService:  # 60 methods, 1,400 lines
        ...
    ```

    ## Use instead
    Split by responsibility (pricing, fulfilment, notifications) behind small interfaces.
    """

    code = "QS310"
    name = "oversized-class"
    severity = Severity.INFO
    confidence = Confidence.HIGH
    summary = "Class too long or with too many methods"
    options: ClassVar[dict[str, Any]] = {"max_lines": 500, "max_methods": 30}
    VALID = ({**_SVC, "services/shop/app.py": "class Small:\n    def a(self):\n        return 1\n"},)
    INVALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS310]\nmax_methods = 2\n",
            "services/shop/app.py": (
                "class OrderService:  # qualscan: expect[QS310]\n"
                "    def a(self):\n        return 1\n"
                "    def b(self):\n        return 2\n"
                "    def c(self):\n        return 3\n"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        max_lines = int(ctx.options.get("max_lines", 500))
        max_methods = int(ctx.options.get("max_methods", 30))
        m = ctx.metrics
        for c in m.classes if m is not None else []:
            if c.get("is_test"):
                continue
            reasons = []
            if c["length"] > max_lines:
                reasons.append(f"{c['length']} lines (limit {max_lines})")
            if c["methods"] > max_methods:
                reasons.append(f"{c['methods']} methods (limit {max_methods})")
            if reasons:
                yield Hit(
                    f"class {c['qualname']} has " + " and ".join(reasons),
                    file=c["file"],
                    line=c["line"],
                    end_line=c["end_line"],
                    key=c["qualname"],
                    details={"length": c["length"], "methods": c["methods"]},
                )


class OversizedFile(ProjectRule):
    """
    ## What it does
    Reports Python files with more than `max_sloc` source lines of code (default 1000; radon's
    SLOC: lines holding code, not blank, not comment-only, not docstring). The finding sits on
    line 1.

    ## Why it matters during a sales peak
    Big modules gather merge conflicts, slow reviews and unrelated changes: the hot files of the
    release just before the freeze.

    ## Example
    A `utils.py` of 3,000 lines imported by every service.

    ## Use instead
    Split by topic into a package.
    """

    code = "QS311"
    name = "oversized-file"
    severity = Severity.INFO
    confidence = Confidence.HIGH
    summary = "Python file with too many source lines"
    options: ClassVar[dict[str, Any]] = {"max_sloc": 1000}
    VALID = ({**_SVC, "services/shop/app.py": "A = 1\nB = 2\n"},)
    INVALID = (
        {
            **_SVC,
            "qualscan.toml": "[rules.QS311]\nmax_sloc = 2\n",
            "services/shop/app.py": "A = 1  # qualscan: expect[QS311]\nB = 2\nC = 3\n",
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        limit = int(ctx.options.get("max_sloc", 1000))
        for f in _files(ctx):
            sloc = f.get("sloc")
            if sloc is not None and sloc > limit:
                yield Hit(
                    f"{sloc} source lines of code (limit {limit})",
                    file=f["path"],
                    line=1,
                    details={"sloc": sloc, "limit": limit},
                )
