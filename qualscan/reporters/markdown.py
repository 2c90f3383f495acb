"""Markdown: a short summary fit for a pull-request comment.

Counts by severity, the top weak points with their fix, the findings new against the baseline when
``result.extra["gate"]`` is present, and the most severe findings. Everything that comes from the
scanned repository is escaped so that it renders as text (no HTML, no table breakage).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from qualscan.model import Finding, ScanResult
from qualscan.scoring import severity_counts, sorted_findings

SEVERITY_MARK = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦", "info": "⬜"}
_MD_SPECIAL = "\\`*_[]|~"


# C0/C1 control characters (terminal escape sequences) and bidirectional overrides ("Trojan Source"
# spoofing) from the repository are shown as visible escapes, never passed through.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(s: str) -> str:
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", s)


def escape(text: object, limit: int = 300) -> str:
    """Escape Markdown/HTML metacharacters and flatten newlines (for table cells and inline text)."""
    s = " ".join(_visible(str(text)).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    out = []
    for ch in s:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def code(text: object) -> str:
    """Inline code span that survives any backticks in ``text``."""
    s = " ".join(_visible(str(text)).split()).replace("|", "\\|")
    fence = "`"
    while fence in s:
        fence += "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def _event_line(result: ScanResult) -> str:
    ev = result.event or {}
    name = ev.get("name")
    date = ev.get("date")
    if not name and not date:
        return ""
    parts = [escape(name) if name else "the event"]
    if date:
        parts.append(f"on {escape(date)}")
    if ev.get("peak_factor"):
        parts.append(f"(peak ×{escape(ev['peak_factor'])})")
    return "Readiness for " + " ".join(parts)


def _finding_line(f: Finding) -> str:
    return (
        f"- {SEVERITY_MARK.get(f.severity.value, '')} **{f.rule}** {code(f'{f.file}:{f.line}')} "
        f"{escape(f.message)}"
    )


def _gate_section(gate: Mapping[str, Any], by_fp: Mapping[str, Finding], top: int) -> list[str]:
    lines = ["", "### Against the baseline"]
    verdict = gate.get("verdict") or gate.get("status")
    if verdict is None and "passed" in gate:
        verdict = "pass" if gate.get("passed") else "fail"
    if verdict is not None:
        lines.append(f"Gate: **{escape(str(verdict).upper())}**")
    for reason in gate.get("reasons", []) or []:
        lines.append(f"- {escape(reason)}")
    new: Sequence[Any] = gate.get("new") or gate.get("new_findings") or []
    fixed: Sequence[Any] = gate.get("fixed") or gate.get("fixed_findings") or []
    lines.append(f"{len(new)} new, {len(fixed)} fixed since the baseline.")
    blocking = {str(b) for b in gate.get("blocking", []) or []}
    if blocking:
        lines.append(f"{len(blocking)} of the new findings block the merge (marked ⛔).")
    for shown, item in enumerate(new):
        if shown == top:
            lines.append(f"- … and {len(new) - top} more")
            break
        if isinstance(item, str) and item in by_fp:
            lines.append(_finding_line(by_fp[item]) + (" ⛔" if item in blocking else ""))
        elif isinstance(item, Finding):
            lines.append(_finding_line(item))
        elif isinstance(item, Mapping):
            where = f"{item.get('file', '?')}:{item.get('line', '?')}"
            lines.append(
                f"- **{escape(item.get('rule', '?'))}** {code(where)} {escape(item.get('message', ''))}"
            )
        else:
            lines.append(f"- {escape(item)}")
    return lines


def render(result: ScanResult, **options: Any) -> str:
    """Options: ``top`` (weak points and findings shown, default 5)."""
    top = int(options.get("top", 5))
    counts = severity_counts(result.findings)
    lines = ["## qualscan: peak-readiness summary"]
    ev = _event_line(result)
    if ev:
        lines.append(ev)
    lines.append("")
    lines.append(
        f"**{len(result.findings)} findings**: "
        + " · ".join(f"{SEVERITY_MARK[k]} {v} {k}" for k, v in counts.items() if v)
        if result.findings
        else "**No findings.**"
    )
    lines.append(
        " · ".join(
            _plural(len(items), word)
            for items, word in ((result.weak_points, "weak point"), (result.services, "service"),
                                (result.edges, "dependency"), (result.diagnostics, "diagnostic"))
        )
    )
    if result.weak_points:
        n = min(top, len(result.weak_points))
        lines += ["", f"### Top {n} weak point{'s' if n != 1 else ''}", ""]
        lines.append("| # | weak point | kind | score | impact × likelihood | fix |")
        lines.append("|---:|---|---|---:|---|---|")
        for wp in result.weak_points[:top]:
            lines.append(
                f"| {wp.rank} | {code(wp.target)} | {wp.kind} | {wp.score:.1f} | "
                f"{wp.impact:.2f} × {wp.likelihood:.2f} | {escape(wp.fix or '-', 160)} |"
            )
    gate = result.extra.get("gate") if result.extra else None
    if isinstance(gate, Mapping):
        lines += _gate_section(gate, {f.fingerprint: f for f in result.findings if f.fingerprint}, top)
    worst = sorted_findings(result.findings)[:top]
    if worst:
        lines += ["", "<details><summary>Most severe findings</summary>", ""]
        lines += [_finding_line(f) for f in worst]
        if len(result.findings) > top:
            lines.append(f"- … and {len(result.findings) - top} more (see the HTML or SARIF report)")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
