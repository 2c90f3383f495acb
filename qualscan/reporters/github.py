"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per finding.

Escaping follows the Actions toolkit (``@actions/core`` ``command.ts``): in the message ``%``,
``\\r`` and ``\\n`` are percent-encoded; in property values ``:`` and ``,`` are encoded as well.
"""

from __future__ import annotations

from typing import Any

from qualscan.model import Level, ScanResult, Severity
from qualscan.scoring import sorted_findings

COMMANDS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}
DIAGNOSTIC_COMMANDS: dict[Level, str] = {Level.ERROR: "warning", Level.WARNING: "warning", Level.INFO: "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: Any) -> str:
    """``::name k=v,k=v::message`` with both parts escaped; ``None`` properties are left out."""
    parts = [f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None]
    head = f"::{name} " + ",".join(parts) if parts else f"::{name}"
    return f"{head}::{escape_data(message)}"


def render(result: ScanResult, **options: Any) -> str:
    """One workflow command per finding (most severe first), then per diagnostic.

    Options: ``min_severity`` (a ``Severity`` or its name) drops less severe findings.
    """
    min_sev = options.get("min_severity")
    floor = Severity.parse(min_sev) if isinstance(min_sev, str) else min_sev
    lines: list[str] = []
    for f in sorted_findings(result.findings):
        if floor is not None and f.severity < floor:
            continue
        title = f"{f.rule} {f.name}" + (f" [{f.service}]" if f.service else "")
        lines.append(
            command(
                COMMANDS[f.severity],
                f.message,
                file=f.file,
                line=max(1, f.line),
                col=f.column + 1 if f.column else None,
                endLine=f.end_line,
                title=title,
            )
        )
    for d in sorted(result.diagnostics, key=lambda d: (d.file, d.line, d.message)):
        lines.append(
            command(DIAGNOSTIC_COMMANDS[d.level], d.message, file=d.file, line=max(1, d.line), title="qualscan")
        )
    return "".join(line + "\n" for line in lines)
