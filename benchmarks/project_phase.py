"""The main-process cost of the metrics pass on a warm run, old code vs new, in one process.

    python benchmarks/project_phase.py ROOT [--ref REV] [--runs 5]

ROOT is a scanned tree with a warm engine cache made by the code of this checkout (for the one-file
gate of issue #8: the Django copy of ``docs/internals.md``'s recipe, after its ``qualscan scan``).
The script runs the pipeline once on ROOT (all cache hits) to capture the inputs of
``metrics.analyze_project``, then times, interleaved and with the collector tuned as ``cli.run``
tunes it:

* decode: ``json.loads`` of every file's cached outcome, as ``Cache.get`` does -- the outcomes as
  this checkout stores them, and as the code of ``--ref`` stored them (the same outcomes with the
  per-file facts converted back to that format, written as ``Cache.put`` writes);
* project: ``analyze_project`` of this checkout, and of ``--ref`` (its ``qualscan/metrics``
  loaded from git under another package name; every other layer is shared).

It checks that both ``analyze_project`` give the same ``to_json()``, and prints the medians of the
process CPU time. ``--ref`` defaults to the commit before the per-file facts went to FACTS_VERSION 4
(clone tokens and statement lines as strings).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from qualscan import metrics as metrics_layer
from qualscan.config import load_config
from qualscan.engine import pipeline
from qualscan.engine.worker import GC_THRESHOLD
from qualscan.metrics.encoding import decode_clone_text, decode_lines, runs_of

REPO = Path(__file__).resolve().parents[1]  # the git repository of --ref (qualscan itself: the installed one, or PYTHONPATH)


def load_old_metrics(ref: str) -> Any:
    """``qualscan/metrics`` of git revision ``ref`` as the package ``_qs_metrics_old``."""
    tmp = Path(tempfile.mkdtemp(prefix="qs-metrics-old-"))
    pkg = tmp / "_qs_metrics_old"
    pkg.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", ref, "qualscan/metrics/"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    for name in names:
        if name.endswith(".py"):
            src = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=REPO, check=True, capture_output=True, text=True).stdout
            (pkg / Path(name).name).write_text(src.replace("qualscan.metrics", "_qs_metrics_old"))
    sys.path.insert(0, str(tmp))
    return importlib.import_module("_qs_metrics_old")


def to_v3(facts: dict[str, Any]) -> dict[str, Any]:
    """FACTS_VERSION 4 facts in the shape of version 3 (clone tokens + run-length lines, statement list)."""
    old = dict(facts, version=3)
    clone = old.pop("clone", "")
    tokens, starts, rows = decode_clone_text(clone)
    old["tokens"] = tokens
    old["token_lines"] = runs_of(starts, rows, len(tokens))
    old["statements"] = decode_lines(facts.get("statements") or "")
    return old


def _put(payload: dict[str, Any]) -> bytes:  # = Cache.put
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--ref", default="56711e1", help="git revision of the old qualscan/metrics")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    old_metrics = load_old_metrics(args.ref)
    root = args.root.resolve()
    config = load_config(root)
    captured: dict[str, Any] = {}
    outcomes: list[dict[str, Any]] = []
    new_analyze = metrics_layer.analyze_project
    per_file_pass = pipeline._per_file_pass

    def capture(**kw: Any) -> Any:
        captured.update(kw)
        return new_analyze(**kw)

    def keep(*a: Any, **kw: Any) -> Any:
        out = per_file_pass(*a, **kw)
        outcomes.extend(out)
        return out

    metrics_layer.analyze_project = capture  # type: ignore[assignment]
    pipeline._per_file_pass = keep  # type: ignore[assignment]
    inputs = pipeline.prepare_inputs(root, config)
    pipeline.run_detailed(inputs, config)
    metrics_layer.analyze_project = new_analyze  # type: ignore[assignment]
    pipeline._per_file_pass = per_file_pass  # type: ignore[assignment]
    cache = inputs.cache
    print(f"{root}: {len(outcomes)} outcomes, cache {cache.hits if cache else 0} hit(s), {cache.misses if cache else 0} miss(es)")
    if any(o["metrics"].get("version") != metrics_layer.FACTS_VERSION for o in outcomes if o.get("metrics")):
        raise SystemExit("facts of another version in the cache: scan ROOT once with this checkout first")

    new_bytes = [_put(o) for o in outcomes]
    old_bytes = [_put(dict(o, metrics=to_v3(o["metrics"])) if o.get("metrics") else o) for o in outcomes]
    old_kwargs = dict(captured, file_facts={p: to_v3(f) for p, f in captured["file_facts"].items()})

    a = new_analyze(**captured).to_json()
    b = old_metrics.analyze_project(**old_kwargs).to_json()
    if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
        raise SystemExit("analyze_project: old and new results differ")

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    times: dict[str, list[float]] = {k: [] for k in ("decode old", "decode new", "project old", "project new")}

    def timed(name: str, fn: Any, *a: Any, **kw: Any) -> None:
        t = time.process_time()
        fn(*a, **kw)
        times[name].append(time.process_time() - t)

    def decode(entries: list[bytes]) -> None:
        for e in entries:
            json.loads(e)

    for _ in range(args.runs):
        timed("decode old", decode, old_bytes)
        timed("decode new", decode, new_bytes)
        timed("project old", old_metrics.analyze_project, **old_kwargs)
        timed("project new", new_analyze, **captured)
    print(f"cached outcomes: old {sum(map(len, old_bytes)):,} bytes, new {sum(map(len, new_bytes)):,} bytes")
    for name, ts in times.items():
        print(f"{name:12} median {statistics.median(ts):.4f} s CPU  ({', '.join(f'{t:.4f}' for t in ts)})")


if __name__ == "__main__":
    main()
