"""How qualscan's cold-scan cost grows with the number of services (issue #8), in one run.

    python benchmarks/growth.py                          # sizes 250,500,1000, 3 runs each
    python benchmarks/growth.py --sizes 250,1000,2000 --runs 3
    python benchmarks/growth.py --compare OLD_TREE       # also time another qualscan, interleaved

For each size it generates the synthetic monorepo of benchmarks/synth.py (with ``--git``, as
bench.py does) under benchmarks/.work/growth/ (reused when present), then runs

    python -m qualscan scan DIR --no-cache -j 1 -f json -o OUT

as a child process and takes its CPU time (user + sys, from ``wait4``). One worker (``-j 1``) keeps
the process-pool start-up out of the figure, and CPU time (not wall time) keeps the other load of a
shared machine out of it. Runs are interleaved size by size (and tree by tree with ``--compare``)
round after round, so that background load hits every series alike; medians are reported.

The growth exponent is the least-squares slope of log(CPU) on log(services): 1.0 is linear.

``--compare DIR`` names a directory that holds another copy of the package as ``DIR/qualscan``
(with ``rules`` and ``templates`` inside it, as installed: ``qualscan/rules``...); it is put first
on ``PYTHONPATH`` for its series. The two reports of a size are compared byte for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "growth"

sys.path.insert(0, str(HERE))
import synth  # noqa: E402, I001


def prepare(n: int) -> Path:
    root = WORK / f"synth-{n}"
    if not (root / ".git").is_dir():
        print(f"generating the synthetic monorepo of {n} services ...", flush=True)
        synth.generate(root, n)
        synth.git_commit(root)
    return root


def cpu_of(cmd: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + sys) of a child process and everything it waited for."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1):  # 1: findings over the threshold
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{err.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    pts = [(math.log(x), math.log(y)) for x, y in points if y > 0]
    if len(pts) < 2:
        return math.nan
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="250,500,1000", help="numbers of services (default: 250,500,1000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size and tree (default: 3)")
    ap.add_argument("--compare", metavar="DIR", help="another tree holding DIR/qualscan, timed in the same rounds")
    args = ap.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    trees: dict[str, str | None] = {"current": None}
    if args.compare:
        trees = {"other": str(Path(args.compare).resolve()), "current": None}
    roots = {n: prepare(n) for n in sizes}
    out = WORK / "out"
    out.mkdir(parents=True, exist_ok=True)
    cpu: dict[tuple[str, int], list[float]] = {(t, n): [] for t in trees for n in sizes}
    for r in range(args.runs):
        for n in sizes:
            for tree, path in trees.items():
                env = dict(os.environ)
                if path is not None:
                    env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
                report = out / f"{tree}-{n}.json"
                cmd = [sys.executable, "-P", "-m", "qualscan", "scan", str(roots[n]), "--no-cache", "-j", "1",
                       "-f", "json", "-o", str(report)]
                t = cpu_of(cmd, env)
                cpu[(tree, n)].append(t)
                print(f"  round {r + 1}/{args.runs}, {n} services, {tree}: {t:.2f} s CPU", flush=True)
    print()
    print("| tree | services | CPU median (s) | ms CPU / service |")
    print("|---|---:|---:|---:|")
    for tree in trees:
        for n in sizes:
            med = statistics.median(cpu[(tree, n)])
            print(f"| {tree} | {n:,} | {med:.2f} | {1000 * med / n:.1f} |")
    print()
    for tree in trees:
        k = exponent([(n, statistics.median(cpu[(tree, n)])) for n in sizes])
        print(f"{tree}: CPU ∝ services^{k:.3f} (log-log fit over {len(sizes)} sizes, {args.runs} runs each)")
    if args.compare:
        for n in sizes:
            same = filecmp.cmp(out / f"other-{n}.json", out / f"current-{n}.json", shallow=False)
            print(f"{n} services: reports byte-identical: {'yes' if same else 'NO'}")
            if not same:
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
