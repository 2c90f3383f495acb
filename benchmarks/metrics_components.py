"""CPU cost of the per-file complexity computation on Django 5.2.8: radon's visitors vs the fused walk.

    python benchmarks/metrics_components.py [--reps 3] [--root DIR]

Parses every .py file of the corpus once (``benchmarks/.work/django-5.2.8``, unpacked by
``benchmarks/compare_radon.py``), then, on the same trees, times in one process and interleaved,
``--reps`` times (medians reported, CPU time):

* the passes ``analyze_file_facts`` ran before the fused walk (tests/_metrics_reference.py):
  radon's ``ComplexityVisitor.from_ast``, radon's ``h_visit_ast``, and ``functions_and_classes``
  (cognitive, nesting, params and names per function, with radon's per-function cyclomatic);
* ``qualscan.metrics.complexity.measure`` -- the one walk that replaces the three;
* for scale, a bare iterative walk over every node (per-class field table, a stack, getattr);

and checks that both give the same functions, classes, cyclomatic total and Halstead figures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _metrics_reference import functions_and_classes, halstead  # noqa: E402
from radon.visitors import ComplexityVisitor  # noqa: E402

from qualscan.metrics.complexity import measure  # noqa: E402


def load(root: Path) -> list[ast.Module]:
    trees = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(".py"):
                with contextlib.suppress(SyntaxError, ValueError):
                    trees.append(ast.parse((Path(d) / f).read_bytes()))
    return trees


_FIELDS: dict[type, tuple[str, ...]] = {}


def bare_walk(tree: ast.AST) -> int:
    """Visit every node: the floor any walk in Python pays."""
    n = 0
    stack: list[Any] = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    fields = _FIELDS
    while stack:
        node = pop()
        n += 1
        t = type(node)
        fs = fields.get(t)
        if fs is None:
            fs = fields[t] = tuple(f for f in t._fields if f != "ctx")
        for name in fs:
            v = getattr(node, name, None)
            if type(v) is list:
                extend([x for x in v if isinstance(x, ast.AST)])
            elif isinstance(v, ast.AST):
                push(v)
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--root", type=Path, default=HERE / ".work" / "django-5.2.8")
    args = ap.parse_args()
    trees = load(args.root)
    print(f"{len(trees)} files parsed from {args.root}")

    visitors: list[ComplexityVisitor] = []

    def radon_cc() -> None:
        visitors.clear()
        visitors.extend(ComplexityVisitor.from_ast(t) for t in trees)

    def radon_halstead() -> None:
        for t in trees:
            halstead(t)

    def old_functions() -> None:
        for t, v in zip(trees, visitors):
            functions_and_classes(t, v)

    def fused() -> None:
        for t in trees:
            measure(t)

    def bare() -> None:
        for t in trees:
            bare_walk(t)

    parts: list[tuple[str, Callable[[], None]]] = [
        ("radon ComplexityVisitor.from_ast", radon_cc),
        ("radon h_visit_ast", radon_halstead),
        ("functions_and_classes (old)", old_functions),
        ("measure (fused walk)", fused),
        ("bare walk over every node", bare),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in parts}
    for _ in range(args.reps):
        for name, fn in parts:  # interleaved: every repetition runs every part once
            c0 = time.process_time()
            fn()
            times[name].append(time.process_time() - c0)
    med = {name: statistics.median(v) for name, v in times.items()}
    for name, _ in parts:
        print(f"  {name:36s} median cpu {med[name]:6.2f} s   runs {', '.join(f'{x:.2f}' for x in times[name])}")
    old = sum(med[name] for name, _ in parts[:3])
    new = med["measure (fused walk)"]
    print(f"  old passes together {old:.2f} s -> fused walk {new:.2f} s (x{old / new:.1f})")

    same = sum(
        1 for t, v in zip(trees, visitors)
        if measure(t) == (*functions_and_classes(t, v), v.total_complexity, halstead(t))
    )
    print(f"  identical functions, classes, cyclomatic total and Halstead: {same}/{len(trees)} files")
    return 0 if same == len(trees) else 1


if __name__ == "__main__":
    raise SystemExit(main())
