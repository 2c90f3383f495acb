"""Coverage readers: coverage.py data files (SQLite, through ``coverage.CoverageData``), Cobertura XML
(``coverage.xml``, resolving its ``<source>`` roots) and LCOV (``lcov.info`` / ``*.lcov``).

Each reader returns ``{measured path: FileCoverage}``; ``map_to_files`` then maps measured paths
(often absolute, from another machine) onto the scanned files by the longest common path suffix.

* Cobertura and LCOV list executable lines with hit counts, and branches -- line and branch rates
  are exact.
* A ``.coverage`` file stores executed lines only; the executable lines are taken from the scanned
  file's statements (first line of every statement, docstrings left out -- what coverage.py
  calls statements, to within ``# pragma: no cover`` exclusions). Branch rates from ``.coverage``
  are not computed (the possible arcs need coverage.py's own static analysis).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath


@dataclass
class FileCoverage:
    executable: set[int] | None = None  # None: unknown (take the statements of the scanned file)
    covered: set[int] = field(default_factory=set)
    branches: int | None = None
    branches_covered: int | None = None

    def merge(self, other: FileCoverage) -> None:
        if other.executable is not None:
            self.executable = (self.executable or set()) | other.executable
        self.covered |= other.covered
        if other.branches is not None:
            self.branches = max(self.branches or 0, other.branches)
            self.branches_covered = max(self.branches_covered or 0, other.branches_covered or 0)


class CoverageReadError(Exception):
    pass


def read_coverage(name: str, data: bytes) -> dict[str, FileCoverage]:
    """Dispatch on the content: SQLite header, XML, or LCOV records."""
    if data.startswith(b"SQLite format 3\x00"):
        return read_sqlite(data)
    head = data[:400].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<coverage") or name.endswith(".xml"):
        return read_cobertura(data)
    if b"SF:" in data[:4096] or name.endswith((".info", ".lcov")):
        return read_lcov(data.decode("utf-8", "replace"))
    if data.startswith(b"!coverage.py:"):
        raise CoverageReadError("coverage.py JSON data file from before 5.0 is not supported")
    raise CoverageReadError("unrecognised coverage data (expected .coverage SQLite, Cobertura XML or LCOV)")


def read_sqlite(data: bytes) -> dict[str, FileCoverage]:
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    fd, tmp = tempfile.mkstemp(prefix="qualscan-cov-", suffix=".sqlite")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        cov = CoverageData(basename=tmp, read_only=True, no_disk=False)
        try:
            cov.read()
            out: dict[str, FileCoverage] = {}
            for measured in sorted(cov.measured_files()):
                lines = cov.lines(measured)
                if lines is None and cov.has_arcs():
                    arcs = cov.arcs(measured) or []
                    lines = sorted({a for a, _ in arcs if a > 0} | {b for _, b in arcs if b > 0})
                out[measured] = FileCoverage(executable=None, covered=set(lines or ()))
            return out
        except (CoverageException, sqlite3.Error) as exc:
            # the message names our temporary copy: keep absolute paths out of the report
            raise CoverageReadError(f"cannot read coverage.py data: {str(exc).replace(tmp, 'the data file')}") from None
        finally:
            close = getattr(cov, "close", None)
            if close is not None:
                close()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _join(root: str, filename: str) -> str:
    if not root:
        return filename
    if root.endswith(("/", "\\")):
        return root + filename
    sep = "\\" if ("\\" in root and "/" not in root) else "/"
    return root + sep + filename


def read_cobertura(data: bytes) -> dict[str, FileCoverage]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CoverageReadError(f"malformed Cobertura XML: {exc}") from None
    if root.tag != "coverage":
        raise CoverageReadError(f"not Cobertura XML (root element <{root.tag}>)")
    sources = [(s.text or "").strip() for s in root.iter("source") if (s.text or "").strip()]
    out: dict[str, FileCoverage] = {}
    for cls in root.iter("class"):
        filename = cls.get("filename")
        if not filename:
            continue
        fc = FileCoverage(executable=set(), covered=set(), branches=0, branches_covered=0)
        for line in cls.iter("line"):
            try:
                num = int(line.get("number", "0"))
                hits = int(float(line.get("hits", "0")))
            except ValueError:
                continue
            assert fc.executable is not None
            fc.executable.add(num)
            if hits > 0:
                fc.covered.add(num)
            if line.get("branch") == "true":
                cond = line.get("condition-coverage", "")
                # "50% (1/2)"
                if "(" in cond and "/" in cond:
                    try:
                        a, b = cond.split("(", 1)[1].rstrip(")").split("/")
                        fc.branches = (fc.branches or 0) + int(b)
                        fc.branches_covered = (fc.branches_covered or 0) + int(a)
                    except ValueError:
                        pass
        keys = [_join(s, filename) for s in sources] or [filename]
        if filename not in keys:
            keys.append(filename)
        for key in keys:
            if key in out:
                out[key].merge(fc)
            else:
                out[key] = FileCoverage(set(fc.executable or ()), set(fc.covered), fc.branches, fc.branches_covered)
    return out


def read_lcov(text: str) -> dict[str, FileCoverage]:
    out: dict[str, FileCoverage] = {}
    current: FileCoverage | None = None
    name = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("SF:"):
            name = line[3:]
            current = FileCoverage(executable=set(), covered=set(), branches=0, branches_covered=0)
        elif current is None:
            continue
        elif line.startswith("DA:"):
            parts = line[3:].split(",")
            try:
                num, hits = int(parts[0]), int(float(parts[1]))
            except (ValueError, IndexError):
                continue
            assert current.executable is not None
            current.executable.add(num)
            if hits > 0:
                current.covered.add(num)
        elif line.startswith("BRDA:"):
            parts = line[5:].split(",")
            if len(parts) >= 4:
                current.branches = (current.branches or 0) + 1
                if parts[3] not in ("-", "0"):
                    current.branches_covered = (current.branches_covered or 0) + 1
        elif line == "end_of_record":
            if name in out:
                out[name].merge(current)
            else:
                out[name] = current
            current = None
    return out


def _parts(path: str) -> tuple[str, ...]:
    if "\\" in path and "/" not in path:
        return tuple(p for p in PureWindowsPath(path).parts if p not in ("\\",))
    return tuple(p for p in PurePosixPath(path).parts if p not in ("/", "."))


def map_to_files(measured: Iterable[str], files: Iterable[str], coverage_dir: str = "") -> dict[str, str]:
    """measured path -> scanned file, by the longest common suffix of path components.

    Relative measured paths are first tried relative to the coverage file's directory and to the
    root. A measured path matching nothing (a third-party or generated file) is left out.
    """
    by_name: dict[str, list[tuple[str, ...]]] = {}
    for f in files:
        parts = tuple(f.split("/"))
        by_name.setdefault(parts[-1], []).append(parts)
    file_set = set(files) if not isinstance(files, set) else files
    out: dict[str, str] = {}
    for m in measured:
        mp = _parts(m)
        if not mp:
            continue
        if not os.path.isabs(m) and not PureWindowsPath(m).is_absolute():
            rel = "/".join(mp)
            joined = f"{coverage_dir}/{rel}" if coverage_dir else rel
            for direct in (joined, rel):
                if direct in file_set:
                    out[m] = direct
                    break
            if m in out:
                continue
        best: tuple[int, str] | None = None
        for cand in by_name.get(mp[-1], []):
            n = 0
            for a, b in zip(reversed(mp), reversed(cand)):
                if a != b:
                    break
                n += 1
            key = "/".join(cand)
            if best is None or n > best[0] or (n == best[0] and key < best[1]):
                best = (n, key)
        if best is not None and (best[0] >= 2 or best[0] == len(best[1].split("/"))):
            out[m] = best[1]
    return out


def apply_statements(
    cov: Mapping[str, FileCoverage], statements: Mapping[str, Iterable[int]]
) -> dict[str, FileCoverage]:
    """Fill unknown executable lines (``.coverage`` data) from the scanned file's statements."""
    out = {}
    for path, fc in cov.items():
        if fc.executable is None:
            stmts = set(statements.get(path, ()))
            # coverage.py records raw executed lines (a module docstring too); its reports keep
            # statements only -- so do we, unless we know no statement of the file
            covered = fc.covered & stmts if stmts else set(fc.covered)
            out[path] = FileCoverage(stmts or set(covered), covered, fc.branches, fc.branches_covered)
        else:
            out[path] = fc
    return out
