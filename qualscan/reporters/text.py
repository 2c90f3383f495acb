"""Terminal report: rich tables (summary, top weak points, findings, diagnostics).

Renders into a string. Colour when ``color=True``; when the option is absent, only when stdout
is a terminal (and ``NO_COLOR`` is unset). Text from the scanned repository is never parsed as rich
markup, and control characters (ANSI escapes planted in a repository) are shown escaped.
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from qualscan.model import ScanResult
from qualscan.scoring import severity_counts, sorted_findings

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}

# C0/C1 controls (ANSI escapes) and bidirectional overrides ("Trojan Source") are shown escaped
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe(value: object) -> Text:
    """Repository text as a rich ``Text``: no markup, control characters (ANSI escapes) made visible."""
    return Text(_CONTROL.sub(_escape_char, str(value)))


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def render(result: ScanResult, **options: Any) -> str:
    """Options: ``color`` (bool; default: only when stdout is a terminal and NO_COLOR is unset),
    ``width`` (default 120), ``top`` (weak points shown,
    default 10), ``max_findings`` (findings listed, default 200; 0 = all)."""
    color_opt = options.get("color")
    if color_opt is None:  # auto: colour only on an interactive terminal, never with NO_COLOR set
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ and options.get("output") is None
    else:
        color = bool(color_opt)
    width = int(options.get("width", 120))
    top = int(options.get("top", 10))
    max_findings = int(options.get("max_findings", 200))
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    ev = result.event or {}
    title = "qualscan"
    if ev.get("name"):
        title += f" - {ev['name']}"
    if ev.get("date"):
        title += f" ({ev['date']})"
    console.print(safe(title), style="bold")
    counts = severity_counts(result.findings)
    summary = Text(f"{len(result.findings)} findings: ")
    summary.append_text(
        Text(", ").join(Text(f"{v} {k}", style=SEVERITY_STYLE[k]) for k, v in counts.items())
    )
    summary.append(
        f" | {len(result.weak_points)} weak points, {len(result.services)} services, "
        f"{len(result.edges)} dependencies, {len(result.diagnostics)} diagnostics"
    )
    console.print(summary)

    if result.weak_points:
        table = Table(title=f"Top {min(top, len(result.weak_points))} weak points", box=box.SIMPLE_HEAD,
                      title_justify="left", expand=False)
        table.add_column("#", justify="right")
        table.add_column("weak point", overflow="fold")
        table.add_column("kind")
        table.add_column("score", justify="right")
        table.add_column("impact", justify="right")
        table.add_column("likelihood", justify="right")
        table.add_column("fix", overflow="fold")
        for wp in result.weak_points[:top]:
            table.add_row(
                str(wp.rank),
                safe(wp.target),
                wp.kind,
                f"{wp.score:.1f}",
                f"{wp.impact:.2f}",
                f"{wp.likelihood:.2f}",
                safe(wp.fix or "-"),
            )
        console.print(table)

    findings = sorted_findings(result.findings)
    if findings:
        shown = findings if max_findings <= 0 else findings[:max_findings]
        table = Table(title="Findings", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("severity")
        table.add_column("code")
        table.add_column("location", overflow="fold")
        table.add_column("message", overflow="fold")
        for f in shown:
            table.add_row(
                Text(f.severity.value, style=SEVERITY_STYLE[f.severity.value]),
                f.rule,
                safe(f"{f.file}:{f.line}"),
                safe(f.message),
            )
        console.print(table)
        if len(shown) < len(findings):
            console.print(Text(f"... {len(findings) - len(shown)} more findings (use --format json/html)"))
    if result.diagnostics:
        table = Table(title="Diagnostics (files not fully understood)", box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("level")
        table.add_column("location", overflow="fold")
        table.add_column("message", overflow="fold")
        for d in sorted(result.diagnostics, key=lambda d: (d.file, d.line, d.message)):
            table.add_row(d.level.value, safe(f"{d.file}:{d.line}"), safe(d.message))
        console.print(table)
    out = buf.getvalue()
    if not color:
        out = "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
    return out
