"""Inline suppressions: ``# qualscan: ignore[CODE,...]``, bare ``# qualscan: ignore`` and
``# qualscan: ignore-file``; and the ``# qualscan: expect[CODE]`` marks used by fixtures and rule
examples. Works on Python and YAML text alike (both use ``#`` comments).

For YAML, a suppression on a resource's ``kind:`` line or in the comment block heading its
document applies to every line of that document (the whole resource).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_IGNORE = re.compile(r"#\s*qualscan:\s*ignore(?!-file)(?:\[([A-Za-z0-9_,\s-]*)\])?")
_IGNORE_FILE = re.compile(r"#\s*qualscan:\s*ignore-file\b")
_EXPECT = re.compile(r"#\s*qualscan:\s*expect\[([A-Za-z0-9_,\s-]+)\]")
ALL = "*"
FILE_SCAN_LINES = 20


@dataclass(frozen=True)
class Suppressions:
    whole_file: bool = False
    lines: Mapping[int, frozenset[str]] = field(default_factory=dict)  # line -> codes ("*" for all)

    def suppressed(self, line: int, code: str) -> bool:
        if self.whole_file:
            return True
        codes = self.lines.get(line)
        return bool(codes) and (ALL in codes or code in codes)  # type: ignore[operator]

    def to_json(self) -> dict[str, object]:
        return {"whole_file": self.whole_file, "lines": {str(k): sorted(v) for k, v in sorted(self.lines.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Suppressions:
        lines = data.get("lines", {})
        assert isinstance(lines, Mapping)
        return cls(bool(data.get("whole_file")), {int(k): frozenset(v) for k, v in lines.items()})


def _codes(group: str | None) -> frozenset[str]:
    if group is None or not group.strip():
        return frozenset({ALL})
    return frozenset(c.strip().upper() for c in group.split(",") if c.strip())


def parse_suppressions(text: str, *, yaml: bool = False) -> Suppressions:
    if "qualscan:" not in text:
        return Suppressions()
    lines = text.splitlines()
    whole = any(_IGNORE_FILE.search(line) for line in lines[:FILE_SCAN_LINES])
    found: dict[int, set[str]] = {}
    for i, line in enumerate(lines, start=1):
        m = _IGNORE.search(line)
        if m:
            found.setdefault(i, set()).update(_codes(m.group(1)))
    if yaml and found:
        _spread_over_documents(lines, found)
    return Suppressions(whole, {k: frozenset(v) for k, v in found.items()})


def _spread_over_documents(lines: list[str], found: dict[int, set[str]]) -> None:
    """A suppression on ``kind:`` or in a document's leading comments covers the whole document."""
    starts = [0] + [i for i, line in enumerate(lines) if line.startswith("---")]
    bounds = list(zip(starts, starts[1:] + [len(lines)]))
    for start, end in bounds:
        doc_codes: set[str] = set()
        leading = True
        for idx in range(start, end):
            line = lines[idx]
            stripped = line.strip()
            if idx == start and stripped.startswith("---"):
                continue
            if leading and (stripped.startswith("#") or not stripped):
                doc_codes.update(found.get(idx + 1, ()))
                continue
            leading = False
            if re.match(r"^kind\s*:", line):
                doc_codes.update(found.get(idx + 1, ()))
        if doc_codes:
            for idx in range(start, end):
                found.setdefault(idx + 1, set()).update(doc_codes)


def parse_expectations(text: str) -> dict[int, frozenset[str]]:
    """``# qualscan: expect[CODE,...]`` marks: line -> codes."""
    out: dict[int, frozenset[str]] = {}
    if "qualscan:" not in text:
        return out
    for i, line in enumerate(text.splitlines(), start=1):
        m = _EXPECT.search(line)
        if m:
            out[i] = _codes(m.group(1))
    return out
