"""QS308 low-coverage-critical-service, QS312 untested-module, QS313 complex-uncovered-function.

They need coverage data (``.coverage``, ``coverage.xml`` or LCOV found by discovery or listed in
``[tool.qualscan.metrics] coverage_files``); without it they report nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity


def _cobertura(filename: str, lines: dict[int, int]) -> str:
    rows = "".join(f'<line number="{n}" hits="{h}"/>' for n, h in sorted(lines.items()))
    covered = sum(1 for h in lines.values() if h)
    rate = covered / len(lines) if lines else 0
    return (
        '<?xml version="1.0" ?>\n'
        f'<coverage version="7.6" line-rate="{rate:.4f}" branch-rate="0" lines-covered="{covered}" '
        f'lines-valid="{len(lines)}" timestamp="1" complexity="0">\n'
        "<sources><source>/ci/build/repo</source></sources>\n"
        '<packages><package name="app"><classes>\n'
        f'<class name="{filename.rsplit("/", 1)[-1]}" filename="{filename}" line-rate="{rate:.4f}">'
        f"<methods/><lines>{rows}</lines></class>\n"
        "</classes></package></packages>\n</coverage>\n"
    )


_PAY = "def charge(amount):\n    if amount <= 0:\n        raise ValueError(amount)\n    return amount\n"
_PAY_LINES = {1: 1, 2: 1, 3: 0, 4: 1}


class LowCoverageCriticalService(ProjectRule):
    """
    ## What it does
    Reports journey-critical services (on a configured or inferred journey, or marked `critical`)
    whose line coverage is below `min_line_rate` percent (default 60), on line 1 of the service's
    least covered file. Services without coverage data are not reported: no data is not zero.

    ## Why it matters during a sales peak
    The checkout and payment code is where an untested branch costs real orders; a low coverage
    there means the peak traffic is the test.

    ## Example
    `payment`: 41 % of lines covered, `payment/app/provider.py` 12 %.

    ## Use instead
    Cover the critical paths first (payment errors, retries, timeouts), then gate on diff coverage.
    """

    code = "QS308"
    name = "low-coverage-critical-service"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Journey-critical service with low test coverage"
    options: ClassVar[dict[str, Any]] = {"min_line_rate": 60.0}
    VALID = (
        {
            "qualscan.toml": '[journeys]\ncheckout = ["cart", "payment"]\n',
            "services/payment/requirements.txt": "",
            "services/payment/app.py": _PAY,
            "coverage.xml": _cobertura("services/payment/app.py", {1: 1, 2: 1, 3: 1, 4: 1}),
        },
    )
    INVALID = (
        {
            "qualscan.toml": '[journeys]\ncheckout = ["cart", "payment"]\n',
            "services/payment/requirements.txt": "",
            "services/payment/app.py": _PAY.replace(
                "def charge(amount):", "def charge(amount):  # qualscan: expect[QS308]"
            ),
            "coverage.xml": _cobertura("services/payment/app.py", {1: 1, 2: 0, 3: 0, 4: 0}),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        if m is None or m.coverage is None:
            return
        limit = float(ctx.options.get("min_line_rate", 60.0))
        critical = set(m.critical_services)
        for svc in ctx.services:
            if getattr(svc, "attrs", {}).get("critical"):
                critical.add(svc.name)
        for name, row in sorted(m.coverage.get("services", {}).items()):
            rate = row.get("line_rate")
            if name not in critical or rate is None or rate >= limit or not row.get("least_covered_file"):
                continue
            yield Hit(
                f"journey-critical service {name} has {rate:.1f} % line coverage (minimum {limit:g} %)",
                file=row["least_covered_file"],
                line=1,
                service=name,
                target=name,
                details={"line_rate": rate, "limit": limit},
            )


class UntestedModule(ProjectRule):
    """
    ## What it does
    Reports modules that appear in the coverage data with executable lines but not one of them
    covered, on line 1. Files absent from the coverage data are not reported (no data is not zero).

    ## Why it matters during a sales peak
    Not one line of the module ran under test: its first real execution may be in production,
    under peak load.

    ## Example
    `order/app/refunds.py`: 0 of 84 lines covered.

    ## Use instead
    Add at least a smoke test importing and exercising the module's main path.
    """

    code = "QS312"
    name = "untested-module"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    summary = "Module with no covered line in the coverage data"
    options: ClassVar[dict[str, Any]] = {"min_lines": 1}
    VALID = (
        {
            "services/payment/requirements.txt": "",
            "services/payment/app.py": _PAY,
            "coverage.xml": _cobertura("services/payment/app.py", _PAY_LINES),
        },
    )
    INVALID = (
        {
            "services/payment/requirements.txt": "",
            "services/payment/app.py": _PAY.replace(
                "def charge(amount):", "def charge(amount):  # qualscan: expect[QS312]"
            ),
            "coverage.xml": _cobertura("services/payment/app.py", {1: 0, 2: 0, 3: 0, 4: 0}),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        if m is None or m.coverage is None:
            return
        min_lines = int(ctx.options.get("min_lines", 1))
        tests = {f["path"] for f in m.files if f.get("is_test")}
        for path, row in sorted(m.coverage.get("files", {}).items()):
            if path in tests or row["lines"] < min_lines or row["covered"] > 0:
                continue
            yield Hit(f"0 of {row['lines']} executable lines covered", file=path, line=1, details=dict(row))


class ComplexUncoveredFunction(ProjectRule):
    """
    ## What it does
    Reports functions with a cyclomatic complexity of at least `min_cyclomatic` (default 10) whose
    line coverage is below `max_line_rate` percent (default 50), on the `def` line. The metrics
    rank all functions by complexity x uncovered share.

    ## Why it matters during a sales peak
    Many paths and few tests: the branch nobody ran is the one the Black Friday traffic takes.

    ## Example
    `apply_promotions`: cyclomatic 18, 20 % of its lines covered.

    ## Use instead
    Test the decision points (table-driven tests per branch), or simplify the function first.
    """

    code = "QS313"
    name = "complex-uncovered-function"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    summary = "Complex function with little test coverage"
    options: ClassVar[dict[str, Any]] = {"min_cyclomatic": 10, "max_line_rate": 50.0}
    VALID = (
        {
            "qualscan.toml": "[rules.QS313]\nmin_cyclomatic = 2\n",
            "services/payment/requirements.txt": "",
            "services/payment/app.py": _PAY,
            "coverage.xml": _cobertura("services/payment/app.py", _PAY_LINES),
        },
    )
    INVALID = (
        {
            "qualscan.toml": "[rules.QS313]\nmin_cyclomatic = 2\n",
            "services/payment/requirements.txt": "",
            "services/payment/app.py": _PAY.replace(
                "def charge(amount):", "def charge(amount):  # qualscan: expect[QS313]"
            ),
            "coverage.xml": _cobertura("services/payment/app.py", {1: 1, 2: 0, 3: 0, 4: 0}),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        if m is None or m.coverage is None:
            return
        min_cc = int(ctx.options.get("min_cyclomatic", 10))
        max_rate = float(ctx.options.get("max_line_rate", 50.0))
        for f in m.functions:
            rate = f.get("line_rate")
            if f.get("is_test") or rate is None or f["cyclomatic"] < min_cc or rate >= max_rate:
                continue
            yield Hit(
                f"{f['qualname']}: cyclomatic {f['cyclomatic']} with {rate:.0f} % of its lines covered",
                file=f["file"],
                line=f["line"],
                end_line=f["end_line"],
                key=f["qualname"],
                details={"cyclomatic": f["cyclomatic"], "line_rate": rate},
            )
