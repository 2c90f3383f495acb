"""JUnit XML: one ``testsuite`` per rule (default) or per service, one failing ``testcase`` per finding.

A rule (or service) with no finding gets a single passing test case, so CI dashboards show what was
checked. Characters that XML 1.0 cannot carry are replaced by U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from qualscan.model import Finding, ScanResult

_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(value))


def _case(parent: ET.Element, classname: str, name: str, f: Finding | None) -> None:
    case = ET.SubElement(parent, "testcase", classname=_clean(classname), name=_clean(name), time="0")
    if f is None:
        return
    case.set("file", _clean(f.file))
    case.set("line", str(f.line))
    failure = ET.SubElement(case, "failure", message=_clean(f.message), type=_clean(f"{f.rule} {f.severity.value}"))
    body = [
        f"{f.file}:{f.line}:{f.column + 1}: {f.rule} {f.name} [{f.severity.value}, confidence {f.confidence.value}]",
        f.message,
    ]
    if f.service:
        body.append(f"service: {f.service}")
    if f.target:
        body.append(f"target: {f.target}")
    if f.fingerprint:
        body.append(f"fingerprint: {f.fingerprint}")
    failure.text = _clean("\n".join(body))


def render(result: ScanResult, **options: Any) -> str:
    """Options: ``group`` = ``"rule"`` (default) or ``"service"``."""
    group = options.get("group", "rule")
    if group not in ("rule", "service"):
        raise ValueError(f"junit group must be 'rule' or 'service', got {group!r}")
    buckets: dict[str, list[Finding]] = defaultdict(list)
    titles: dict[str, str] = {}
    if group == "rule":
        for r in result.rules:
            buckets[r.code]
            titles[r.code] = f"{r.code} {r.name}"
        for f in result.findings:
            buckets[f.rule].append(f)
            titles.setdefault(f.rule, f"{f.rule} {f.name}")
    else:
        for s in result.services:
            buckets[s.name]
            titles[s.name] = s.name
        for f in result.findings:
            key = f.service or "(no service)"
            buckets[key].append(f)
            titles.setdefault(key, key)
    root = ET.Element("testsuites", name="qualscan")
    total = failures = 0
    for key in sorted(buckets):
        findings = sorted(buckets[key], key=lambda f: f.sort_key)
        n = max(1, len(findings))
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_clean(titles[key]),
            tests=str(n),
            failures=str(len(findings)),
            errors="0",
            skipped="0",
            time="0",
        )
        if not findings:
            _case(suite, f"qualscan.{key}", "no findings", None)
        for f in findings:
            classname = f"qualscan.{f.rule}" if group == "service" else f"qualscan.{f.service or 'repo'}"
            _case(suite, classname, f"{f.file}:{f.line} {f.rule}", f)
        total += n
        failures += len(findings)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
