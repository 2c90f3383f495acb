"""SARIF 2.1.0 report (GitHub code scanning and any SARIF viewer).

One run; ``tool.driver.rules`` comes from ``result.rules`` (help text and Markdown from each rule's
docs), every finding becomes a ``result`` with a ``partialFingerprints`` entry so code scanning
tracks it across commits, and diagnostics become tool execution notifications. Columns are
1-based in SARIF (``Finding.column`` is 0-based).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from qualscan.model import Finding, Level, RuleInfo, ScanResult, Severity, jsonable

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "qualscan/v1"

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
DIAGNOSTIC_LEVELS: dict[Level, str] = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}
# GitHub's rank for alerts: 0.0 .. 100.0
RANKS: dict[Severity, float] = {
    Severity.CRITICAL: 95.0,
    Severity.HIGH: 75.0,
    Severity.MEDIUM: 50.0,
    Severity.LOW: 25.0,
    Severity.INFO: 5.0,
}
_PRECISION = {"high": "high", "medium": "medium", "low": "low"}


def _markdown_to_text(md: str) -> str:
    """A plain-text rendering of the rule docs for ``help.text`` (headings and fences dropped)."""
    lines = []
    for line in md.splitlines():
        if line.strip().startswith("```"):
            continue
        lines.append(re.sub(r"^#+\s*", "", line))
    return "\n".join(lines).strip()


def _tags(code: str) -> list[str]:
    if code.startswith("QS1"):
        return ["resilience", "reliability"]
    if code.startswith("QS2"):
        return ["deployment", "reliability"]
    return ["maintainability"]


def _rule_descriptor(info: RuleInfo) -> dict[str, Any]:
    docs = info.docs.strip() or info.summary or info.name
    d: dict[str, Any] = {
        "id": info.code,
        "name": info.name,
        "shortDescription": {"text": info.summary or info.name},
        "fullDescription": {"text": _markdown_to_text(docs).split("\n\n")[0] or info.summary or info.name},
        "help": {"text": _markdown_to_text(docs) or info.summary or info.name, "markdown": docs},
        "defaultConfiguration": {"level": LEVELS[info.severity], "rank": RANKS[info.severity]},
        "properties": {
            "tags": _tags(info.code),
            "precision": _PRECISION[info.confidence.value],
            "qualscan/severity": info.severity.value,
            "qualscan/scope": info.scope,
            "qualscan/fixable": info.fixable,
        },
    }
    return d


def _region(f: Finding) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(1, f.line), "startColumn": max(0, f.column) + 1}
    if f.end_line is not None and f.end_line >= max(1, f.line):
        region["endLine"] = f.end_line
    return region


def build(result: ScanResult) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict (``render`` serialises it)."""
    infos: dict[str, RuleInfo] = {r.code: r for r in result.rules}
    for f in result.findings:
        if f.rule not in infos:
            infos[f.rule] = RuleInfo(f.rule, f.name, f.severity, f.confidence, f.name, "unknown")
    codes = sorted(infos)
    index = {c: i for i, c in enumerate(codes)}
    results: list[dict[str, Any]] = []
    for f in sorted(result.findings, key=lambda f: f.sort_key):
        props: dict[str, Any] = {"severity": f.severity.value, "confidence": f.confidence.value}
        if f.service:
            props["service"] = f.service
        if f.target:
            props["target"] = f.target
        if f.details:
            props["details"] = jsonable(dict(f.details))
        item: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": LEVELS[f.severity],
            "rank": RANKS[f.severity],
            "message": {"text": f.message or f.name},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.file), "uriBaseId": "%SRCROOT%"},
                        "region": _region(f),
                    }
                }
            ],
            "properties": props,
        }
        if f.fingerprint:
            item["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
        results.append(item)
    notifications = []
    for d in sorted(result.diagnostics, key=lambda d: (d.file, d.line, d.message)):
        notifications.append(
            {
                "level": DIAGNOSTIC_LEVELS[d.level],
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(d.file), "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": max(1, d.line)},
                        }
                    }
                ],
            }
        )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "qualscan",
                "version": result.tool_version,
                "semanticVersion": result.tool_version,
                "rules": [_rule_descriptor(infos[c]) for c in codes],
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"weak_points": [wp.to_json() for wp in result.weak_points]},
    }
    if result.event:
        run["properties"]["event"] = jsonable(dict(result.event))
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _uri(path: str) -> str:
    """A relative path as a URI reference (RFC 3986): spaces, ``<``, ``"``, ``%``, ``#``... percent-encoded."""
    return quote(path, safe="/")


def render(result: ScanResult, **options: Any) -> str:
    """SARIF 2.1.0 JSON text, keys in a stable order, ending with a newline."""
    return json.dumps(build(result), indent=2, ensure_ascii=False, default=str) + "\n"
