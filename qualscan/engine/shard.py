"""Split a scan across machines (CI runners) and join the parts.

``qualscan scan --shard i/n`` runs the expensive per-file pass (decode, parse, metrics facts, graph
facts, Python rules: ``engine/worker.py``) over a deterministic share of the Python files only, and
writes a JSON report whose ``shard`` section carries every per-file outcome it computed.
``qualscan merge a.json b.json ... --root .`` then runs the cheap project phase (manifests, service
graph, project metrics with git history and coverage, project rules, fingerprints, scoring) once,
over the whole repository, with the shards' outcomes standing in for the per-file pass. The merged
report is the report a single full scan of the same commit gives.

The share
    Python files are grouped into units: the owning service, else the internal library
    (``lib:<name>``), else the top-level directory (``dir:<name>``, ``dir:`` for root files). Units
    are dealt to shards by longest-processing-time-first on their Python bytes (ties by name), so
    shards are balanced and every shard computes the same partition from the same tree. A unit is
    never split: a service bigger than ``total / n`` makes its shard the slowest.

Why outcomes are keyed like the cache
    Each outcome is stored under its per-file cache key (``engine/cache.py``: settings digest,
    path, content hash, owning-service facts). The merge serves them through a read-only cache: an
    outcome is used only if the file at ``--root`` has the same content and the same settings;
    a file changed since (or missed by every shard) is analysed during the merge and reported in a
    warning diagnostic, so a merge never silently mixes commits.

What the merge reads from ``--root``
    Discovery (the file list), the manifests and other non-Python inputs, ``git log`` and coverage
    data: all cheap next to the per-file pass. The merge job therefore needs the checkout (with
    history, ``fetch-depth: 0``, for churn) -- the same checkout the shards scanned.
"""

from __future__ import annotations

import dataclasses
import heapq
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from qualscan import __version__
from qualscan.config import Config
from qualscan.discovery import Inventory
from qualscan.engine.cache import Cache, settings_digest
from qualscan.engine.pipeline import Progress, prepare_inputs, run_detailed
from qualscan.model import Diagnostic, FileKind, Level, ScanResult, SourceFile

SHARD_FORMAT = 1
SHARD_KEY = "shard"  # the report section (ScanResult.extra key / top-level JSON key)

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A bad ``--shard`` value or a set of shard reports that cannot be merged."""


@dataclasses.dataclass(frozen=True)
class ShardSpec:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> ShardSpec:
    """``"2/5"`` -> ShardSpec(2, 5). Raises ShardError on anything else."""
    m = _SPEC.match(text or "")
    if not m:
        raise ShardError(f"--shard must be i/n with 1 <= i <= n (got {text!r})")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard must be i/n with 1 <= i <= n (got {text!r})")
    return ShardSpec(index, count)


# --- the partition (pure) ----------------------------------------------------------------------------


def unit_of(f: SourceFile) -> str:
    """The unit a Python file is sharded with: its service, library, or top-level directory."""
    if f.service is not None:
        return f.service
    if f.library is not None:
        return f"lib:{f.library}"
    parts = PurePosixPath(f.path).parts
    return f"dir:{parts[0]}" if len(parts) > 1 else "dir:"


def partition(inventory: Inventory, count: int) -> dict[str, int]:
    """Unit -> shard index (1-based): LPT on Python bytes, deterministic for a given tree."""
    if count < 1:
        raise ShardError("the number of shards must be at least 1")
    weight: dict[str, int] = {}
    for f in inventory.files:
        if f.kind is FileKind.PYTHON:
            u = unit_of(f)
            weight[u] = weight.get(u, 0) + max(f.size, 1)
    loads = [(0, i) for i in range(1, count + 1)]  # (bytes so far, shard index): a min-heap
    heapq.heapify(loads)
    out: dict[str, int] = {}
    for unit in sorted(weight, key=lambda u: (-weight[u], u)):
        load, index = heapq.heappop(loads)
        out[unit] = index
        heapq.heappush(loads, (load + weight[unit], index))
    return out


# --- caches standing in for the per-file pass ---------------------------------------------------------


class RecordingCache(Cache):
    """Keeps every outcome of a run (fresh or from the wrapped disk cache) under its cache key."""

    def __init__(self, config: Config, inner: Cache | None) -> None:
        super().__init__(inner.directory if inner is not None else Path("."), config)
        self.inner = inner
        self.recorded: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        out = self.inner.get(key) if self.inner is not None else None
        if out is not None:
            self.recorded[key] = out
        return out

    def put(self, key: str, payload: dict[str, Any]) -> None:
        self.recorded[key] = payload
        if self.inner is not None:
            self.inner.put(key, payload)

    def ensure_gitignore(self) -> None:  # pragma: no cover - the wrapped cache did it
        pass


class PrecomputedCache(Cache):
    """Read-only: serves the shards' outcomes; writes (files analysed during the merge) are counted."""

    def __init__(self, config: Config, outcomes: Mapping[str, dict[str, Any]]) -> None:
        super().__init__(Path("."), config)
        self.outcomes = outcomes
        self.analysed: list[str] = []

    def get(self, key: str) -> dict[str, Any] | None:
        out = self.outcomes.get(key)
        if out is None:
            self.misses += 1
        else:
            self.hits += 1
        return out

    def put(self, key: str, payload: dict[str, Any]) -> None:
        self.analysed.append(str(payload.get("path", "?")))

    def ensure_gitignore(self) -> None:  # pragma: no cover - nothing is written
        pass


# --- entry points ---------------------------------------------------------------------------------


def scan_shard(
    root: Path,
    config: Config,
    spec: ShardSpec,
    *,
    progress: Progress | None = None,
    use_cache: bool | None = None,
) -> ScanResult:
    """Scan share ``spec`` of ``root``. The result's ``extra["shard"]`` holds the per-file outcomes;
    its findings, graph and ranking are partial (only ``merge_shards`` output is whole)."""
    inputs = prepare_inputs(root, config, use_cache=use_cache, history=False)
    assign = partition(inputs.inventory, spec.count)
    mine = sorted(u for u, i in assign.items() if i == spec.index)
    mine_set = set(mine)
    recorder = RecordingCache(config, inputs.cache)
    inputs = dataclasses.replace(
        inputs,
        cache=recorder,
        python_filter=lambda f: unit_of(f) in mine_set,
        git_problem=f"shard {spec}: history metrics are computed by `qualscan merge`",
    )
    result, _, _ = run_detailed(inputs, config, progress=progress)
    files = sorted(str(o.get("path")) for o in recorder.recorded.values())
    section = {
        "format": SHARD_FORMAT,
        "index": spec.index,
        "count": spec.count,
        "root": result.root,
        "tool_version": __version__,
        "settings": settings_digest(config),
        "units": mine,
        "files": files,
        "outcomes": dict(sorted(recorder.recorded.items())),
    }
    return dataclasses.replace(result, extra={**dict(result.extra), SHARD_KEY: section})


def shard_section(report: Mapping[str, Any], name: str = "report") -> dict[str, Any]:
    """The validated ``shard`` section of a JSON report; ShardError when it is not a shard report."""
    section = report.get(SHARD_KEY) if isinstance(report, Mapping) else None
    if not isinstance(section, dict):
        raise ShardError(f"{name} is not a shard report (no `{SHARD_KEY}` section; produce it with `qualscan scan --shard i/n -f json`)")
    if section.get("format") != SHARD_FORMAT:
        raise ShardError(f"{name}: unsupported shard format {section.get('format')!r} (this qualscan reads {SHARD_FORMAT})")
    for key, typ in (("index", int), ("count", int), ("settings", str), ("outcomes", dict)):
        if not isinstance(section.get(key), typ):
            raise ShardError(f"{name}: shard section has no valid `{key}`")
    return section


def merge_shards(
    root: Path,
    config: Config,
    reports: Sequence[Mapping[str, Any]],
    *,
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Join shard reports: the project phase runs once over ``root`` with the shards' outcomes.

    Raises ShardError when the reports are not one complete set (every index 1..n exactly once,
    one ``n``) or were produced with other settings (qualscan version, rules, options, metrics).
    """
    names = list(names) if names is not None else [f"report {i + 1}" for i in range(len(reports))]
    if not reports:
        raise ShardError("nothing to merge: give the JSON reports of every shard")
    sections = [shard_section(r, n) for r, n in zip(reports, names)]
    counts = {s["count"] for s in sections}
    if len(counts) != 1:
        raise ShardError(f"the reports come from different splits (n = {', '.join(map(str, sorted(counts)))})")
    count = counts.pop()
    seen: dict[int, str] = {}
    for s, n in zip(sections, names):
        if s["index"] in seen:
            raise ShardError(f"shard {s['index']}/{count} given twice ({seen[s['index']]} and {n})")
        seen[s["index"]] = n
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise ShardError(f"missing shard(s) {', '.join(f'{i}/{count}' for i in missing)}: a merge needs all {count}")
    digest = settings_digest(config)
    for s, n in zip(sections, names):
        if s["settings"] != digest:
            raise ShardError(
                f"{n} was produced with other settings (qualscan version {s.get('tool_version', '?')}, rules, rule options "
                f"or metric settings) than this merge (qualscan {__version__}); run the shards and the merge with the "
                "same configuration"
            )
    outcomes: dict[str, dict[str, Any]] = {}
    for s in sections:
        outcomes.update(s["outcomes"])
    inputs = prepare_inputs(root, config, use_cache=False)
    served = PrecomputedCache(config, outcomes)
    inputs = dataclasses.replace(inputs, cache=served)
    result, _, _ = run_detailed(inputs, config, progress=progress)
    if served.analysed:
        shown = ", ".join(sorted(served.analysed)[:5]) + (", ..." if len(served.analysed) > 5 else "")
        diag = Diagnostic(
            ".",
            0,
            Level.WARNING,
            f"{len(served.analysed)} Python file(s) were not in the shard results with this content and were analysed "
            f"during the merge (changed since the shards ran?): {shown}",
        )
        result = dataclasses.replace(
            result,
            diagnostics=tuple(sorted({*result.diagnostics, diag}, key=lambda d: (d.file, d.line, d.level.value, d.message))),
        )
    return result
