"""Old vs new walks of the per-file pass (issue #8) on a whole corpus: identical results, CPU cost.

    python benchmarks/facts_equivalence.py ROOT [--reps 3]

Parses every ``.py`` file under ROOT once (read and ``ast.parse`` only, never imported), then:

* checks that ``graph.python_facts``, ``engine.worker.ast_depth`` (at ``MAX_LIBCST_DEPTH`` and at a
  few small limits) and ``parsers.python.imported_modules`` give exactly what the previous code
  gives (kept verbatim in ``tests/_facts_reference.py``), file by file;
* times each old / new pair over the whole corpus with the process CPU clock, interleaved
  (old, new, old, new...), and prints the median of ``--reps`` runs and the ratio.

Exit status 1 if any result differs.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _facts_reference as ref  # noqa: E402

from qualscan.engine.worker import MAX_LIBCST_DEPTH, ast_depth  # noqa: E402
from qualscan.graph import python_facts  # noqa: E402
from qualscan.parsers.python import decode, imported_modules  # noqa: E402


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    items: list[tuple[str, str, ast.Module]] = []
    for path in sorted(args.root.rglob("*.py")):
        text, _ = decode(str(path), path.read_bytes())
        if text is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        items.append((str(path.relative_to(args.root)), text, tree))

    differ: list[str] = []
    for rel, text, tree in items:
        if _outcome(python_facts, rel, text, tree) != _outcome(ref.python_facts, rel, text, tree):
            differ.append(f"python_facts {rel}")
        if imported_modules(tree) != ref.imported_modules(tree):
            differ.append(f"imported_modules {rel}")
        for limit in (3, 8, 13, MAX_LIBCST_DEPTH):
            if ast_depth(tree, limit) != ref.ast_depth(tree, limit):
                differ.append(f"ast_depth({limit}) {rel}")
    print(f"{len(items)} files parsed; results differing: {len(differ)}")
    for line in differ[:20]:
        print("  ", line)

    pairs: list[tuple[str, Callable[[str, str, ast.Module], Any], Callable[[str, str, ast.Module], Any]]] = [
        ("python_facts", ref.python_facts, python_facts),
        ("ast_depth", lambda p, t, tree: ref.ast_depth(tree, MAX_LIBCST_DEPTH),
         lambda p, t, tree: ast_depth(tree, MAX_LIBCST_DEPTH)),
        ("imported_modules", lambda p, t, tree: ref.imported_modules(tree), lambda p, t, tree: imported_modules(tree)),
    ]
    clock = time.process_time
    print(f"CPU seconds over the {len(items)} files, median of {args.reps} interleaved runs:")
    for name, old, new in pairs:
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.reps):
            for label, fn in (("old", old), ("new", new)):
                start = clock()
                for item in items:
                    fn(*item)
                times[label].append(clock() - start)
        o, n = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"  {name:18s} old {o:6.2f} s   new {n:6.2f} s   x{o / n:4.2f}   "
              f"(old {[round(t, 2) for t in times['old']]}, new {[round(t, 2) for t in times['new']]})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
