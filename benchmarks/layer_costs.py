"""Where the per-file pass spends its time, per layer and per rule (one process, one core).

    python benchmarks/layer_costs.py ROOT [--limit N]

Runs the same steps as ``engine/worker.py::analyze_python`` on every Python file under ROOT, timing
each step with the process CPU clock, and prints a table (seconds, share). Used to find hot spots.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from qualscan import graph as graph_layer
from qualscan import metrics as metrics_layer
from qualscan.config import load_config
from qualscan.discovery import discover, read_file
from qualscan.engine.registry import enabled_rules, rule_options
from qualscan.engine.rule import PythonFileContext, PythonRule
from qualscan.engine.suppress import parse_suppressions
from qualscan.model import Diagnostic, FileKind
from qualscan.parsers import python as pyparser


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    root = args.root.resolve()
    config = load_config(root)
    inv = discover(root, config)
    rules = [r for r in enabled_rules(config) if issubclass(r, PythonRule)]
    cost: dict[str, float] = defaultdict(float)
    runs: dict[str, int] = defaultdict(int)
    files = [f for f in inv.files if f.kind is FileKind.PYTHON]
    if args.limit:
        files = files[: args.limit]
    clock = time.process_time

    def timed(name: str, fn, *a, **k):  # type: ignore[no-untyped-def]
        t = clock()
        try:
            return fn(*a, **k)
        except Exception:  # noqa: BLE001
            return None
        finally:
            cost[name] += clock() - t
            runs[name] += 1

    for f in files:
        data = read_file(root, f.path, config.max_file_size)
        if isinstance(data, Diagnostic):
            continue
        text, _ = timed("decode", pyparser.decode, f.path, data)
        if text is None:
            continue
        tree, _ = timed("parse (ast)", pyparser.parse, f.path, text)
        if tree is None:
            continue
        timed("suppressions", parse_suppressions, text)
        imports = timed("imported_modules", pyparser.imported_modules, tree) or frozenset()
        timed("metrics.analyze_file", metrics_layer.analyze_file, f.path, text, tree, config)
        timed("graph.python_facts", graph_layer.python_facts, f.path, text, tree)
        ctx = PythonFileContext(f.path, text, tree, service=f.service, is_test=f.is_test, config=config, imports=imports,
                                service_info={})
        for rule in rules:
            if f.is_test and not rule.include_tests:
                continue
            if rule.triggers and not (rule.triggers & imports):
                continue
            ctx.options = rule_options(rule, config)
            name = f"rule {rule.code}" + (" (libcst)" if getattr(rule, "needs_libcst", False) else "")
            timed(name, lambda r=rule, c=ctx: list(r().check(c)))
    total = sum(cost.values())
    print(f"{len(files)} files, {total:.2f} s CPU in the per-file pass (one core)")
    for name, secs in sorted(cost.items(), key=lambda kv: -kv[1]):
        print(f"{name:34s} {secs:8.2f} s  {100 * secs / total:5.1f} %  ({runs[name]} files)")


if __name__ == "__main__":
    main()
