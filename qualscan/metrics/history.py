"""Changeability from one ``git log`` pass: churn, authors, hotspots and change coupling.

The lead's discovery runs ``git -C ROOT log <GIT_LOG_ARGS> --since=<churn_days> --relative -- .``
once; this module only parses its text (no per-file git calls). Each commit is a record
separator (``\\x1e``), then ``hash \\x1f author-time \\x1f author name \\x1f author email`` and the
``--numstat`` lines ``added<TAB>removed<TAB>path`` (``-`` for binary files).

* churn per file: commits, lines added, lines removed, distinct authors, the main author (most
  commits) and their share of the file's commits (a share near 1 with few authors is a low bus
  factor);
* hotspot score = commits in the window x the file's total cyclomatic complexity (CodeScene's
  change frequency x complexity), ranked;
* change coupling (code-maat's *coupling* analysis): for files A and B, shared = commits touching
  both, degree = shared / mean(revisions A, revisions B) * 100; reported when both files have at
  least ``coupling_min_revisions`` revisions, shared >= ``coupling_min_revisions`` (code-maat's
  min-shared-revs), degree >= ``coupling_min_percent``; commits touching more than
  ``coupling_max_changeset`` files are ignored for coupling (code-maat: 5, 30 %, 30 files). The
  same analysis runs on services (a commit touching files of services X and Y couples X and Y).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

GIT_LOG_ARGS: list[str] = [
    "--numstat",
    "--no-renames",
    "--no-merges",
    "--format=%x1e%H%x1f%at%x1f%aN%x1f%aE",
]

_QUOTED = re.compile(r'^"(.*)"$')


@dataclass
class Commit:
    sha: str
    time: int
    author: str
    files: list[tuple[str, int, int]] = field(default_factory=list)


def _unquote(path: str) -> str:
    if not path.startswith('"'):
        return path  # (nearly every path: git quotes only unusual ones)
    m = _QUOTED.match(path)
    if not m:
        return path
    body = m.group(1)
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return body


def parse_git_log(text: str) -> tuple[list[Commit], int]:
    """Return (commits, malformed line count). Tolerates truncated or partial output."""
    commits: list[Commit] = []
    bad = 0
    for record in text.split("\x1e"):
        if not record.strip():
            continue
        lines = record.split("\n")
        head = lines[0].split("\x1f")
        if len(head) < 4:
            bad += 1
            continue
        try:
            when = int(head[1])
        except ValueError:
            bad += 1
            continue
        author = head[3].strip().lower() or head[2].strip()
        c = Commit(head[0].strip(), when, author)
        for line in lines[1:]:
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                bad += 1
                continue
            a, r, path = parts
            path = _unquote(path.strip())
            added = int(a) if a.isdigit() else 0
            removed = int(r) if r.isdigit() else 0
            c.files.append((path, added, removed))
        commits.append(c)
    return commits, bad


def churn(commits: list[Commit]) -> dict[str, dict[str, Any]]:
    per: dict[str, dict[str, Any]] = {}
    authors: dict[str, dict[str, int]] = {}  # path -> author -> commits
    for c in commits:
        when, author = c.time, c.author
        for path, added, removed in c.files:
            row = per.get(path)
            if row is None:
                per[path] = {"commits": 1, "added": added, "removed": removed, "last_change": max(0, when)}
                authors[path] = {author: 1}
                continue
            row["commits"] += 1
            row["added"] += added
            row["removed"] += removed
            if when > row["last_change"]:
                row["last_change"] = when
            counts = authors[path]
            counts[author] = counts.get(author, 0) + 1
    for path, row in per.items():
        counts = authors[path]
        row["authors"] = len(counts)
        row["main_author_share"] = round(max(counts.values()) / row["commits"], 4)  # the main author's share
    return per


def change_coupling(
    changesets: list[set[str]], *, min_revisions: int, min_percent: float, max_changeset: int
) -> list[dict[str, Any]]:
    """code-maat's coupling over a list of changesets (sets of entities changed together)."""
    revisions: Counter[str] = Counter()
    shared: Counter[tuple[str, str]] = Counter()
    for cs in changesets:
        if len(cs) > max_changeset:
            continue  # code-maat drops large changesets from the whole analysis
        for e in cs:
            revisions[e] += 1
        if len(cs) < 2:
            continue
        for a, b in combinations(sorted(cs), 2):
            shared[(a, b)] += 1
    out: list[dict[str, Any]] = []
    for (a, b), n in shared.items():
        ra, rb = revisions[a], revisions[b]
        if ra < min_revisions or rb < min_revisions or n < min_revisions:
            continue
        degree = n / ((ra + rb) / 2) * 100
        if degree < min_percent:
            continue
        out.append({"a": a, "b": b, "shared": n, "revisions": [ra, rb], "degree": round(degree, 2)})
    out.sort(key=lambda r: (-r["degree"], -r["shared"], r["a"], r["b"]))
    return out


def history_metrics(
    commits: list[Commit],
    *,
    known_files: set[str],
    service_of: Callable[[str], str | None],
    complexity: Mapping[str, int],
    min_revisions: int,
    min_percent: float,
    max_changeset: int,
) -> dict[str, Any]:
    per_file = churn(commits)
    files = {p: row for p, row in per_file.items() if p in known_files}
    hotspots = []
    for path, row in files.items():
        cc = complexity.get(path)
        if cc is None:
            continue
        score = row["commits"] * cc
        if score > 0:
            hotspots.append(
                {"file": path, "service": service_of(path), "commits": row["commits"], "complexity": cc, "score": score}
            )
    hotspots.sort(key=lambda h: (-h["score"], h["file"]))
    for i, h in enumerate(hotspots, 1):
        h["rank"] = i
    file_sets = [{p for p, _, _ in c.files if p in known_files} for c in commits]
    file_coupling = change_coupling(
        file_sets, min_revisions=min_revisions, min_percent=min_percent, max_changeset=max_changeset
    )
    service_sets: list[set[str]] = []
    for fs in file_sets:
        if len(fs) > max_changeset:
            service_sets.append(set())  # too large a changeset to say anything about coupling
            continue
        service_sets.append({s for s in (service_of(p) for p in fs) if s is not None})
    service_coupling = change_coupling(
        service_sets, min_revisions=min_revisions, min_percent=min_percent, max_changeset=max_changeset
    )
    authors_by_service: dict[str, Counter[str]] = defaultdict(Counter)
    for c, fs in zip(commits, file_sets):
        for s in {service_of(p) for p in fs}:
            if s is not None:
                authors_by_service[s][c.author] += 1
    return {
        "files": files,
        "hotspots": hotspots,
        "file_coupling": file_coupling,
        "service_coupling": service_coupling,
        "authors_by_service": authors_by_service,
        "commits": len(commits),
    }
