"""QS307 hotspot (git history x complexity, from ``ctx.metrics``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity


class Hotspot(ProjectRule):
    """
    ## What it does
    Ranks files by change frequency x complexity (CodeScene's hotspots: commits in the history
    window, `churn_days`, times the file's total cyclomatic complexity) and reports the top `top`
    files (default 10) that changed at least `min_commits` times (default 10) and have a total
    cyclomatic complexity of at least `min_complexity` (default 20). The finding sits on line 1.
    Needs git history; without it the rule reports nothing (and a diagnostic says why).

    ## Why it matters during a sales peak
    Complex code that keeps changing is where the defects of the last releases before the freeze
    are: freeze those files first, review their changes twice, and put their owners on call.

    ## Example
    `checkout/views.py`: 48 commits this year, cyclomatic total 95.

    ## Use instead
    Refactor the hotspot (split it, cover it with tests) before the freeze, or stop changing it.
    """

    code = "QS307"
    name = "hotspot"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    summary = "Complex file that changes often (change frequency x complexity)"
    options: ClassVar[dict[str, Any]] = {"top": 10, "min_commits": 10, "min_complexity": 20}
    # In-memory examples (``scan_sources``) have no git history. ``EXAMPLE_GIT_LOG`` holds, per
    # example kind and index, the ``git log`` text (GIT_LOG_ARGS format) the example stands for;
    # the rule-example harness passes it to ``scan_sources(git_log=...)``; tests/test_metrics_history.py
    # also runs the rule on a real repository.
    VALID = (
        {
            "services/shop/requirements.txt": "",
            "services/shop/app.py": "def f(x):\n    return x\n",
        },
    )
    INVALID = (
        {
            "services/shop/requirements.txt": "",
            "qualscan.toml": "[rules.QS307]\nmin_commits = 1\nmin_complexity = 1\n",
            "services/shop/app.py": "def f(x):  # qualscan: expect[QS307]\n    return x if x else 0\n",
        },
    )

    EXAMPLE_GIT_LOG: ClassVar[dict[str, list[str | None]]] = {
        "VALID": [None],
        "INVALID": [
            "".join(
                f"\x1e{i:040x}\x1f{1_760_000_000 + i * 86_400}\x1fAnn\x1fann@example.com\n\n1\t1\tservices/shop/app.py\n"
                for i in range(1, 4)
            )
        ],
    }

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        if m is None or m.hotspots is None:
            return
        top = int(ctx.options.get("top", 10))
        min_commits = int(ctx.options.get("min_commits", 10))
        min_cc = int(ctx.options.get("min_complexity", 20))
        tests = {f["path"] for f in m.files if f.get("is_test")}
        ranked = [
            h
            for h in m.hotspots
            if h["commits"] >= min_commits and h["complexity"] >= min_cc and h["file"] not in tests
        ]
        for h in ranked[:top]:
            yield Hit(
                f"hotspot #{h['rank']}: {h['commits']} commits x cyclomatic {h['complexity']} = {h['score']}",
                file=h["file"],
                line=1,
                details={"commits": h["commits"], "complexity": h["complexity"], "score": h["score"], "rank": h["rank"]},
            )
