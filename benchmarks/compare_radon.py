"""Benchmark and cross-check qualscan's metrics pass against radon on Django 5.2.8's sdist.

    python benchmarks/compare_radon.py [--jobs N] [--skip-radon-mi]

1. downloads the sdist (``pip download --no-deps --no-binary :all: django==5.2.8``) into
   ``benchmarks/.work/`` (gitignored) and unpacks it, once;
2. times ``radon cc -s -j`` and ``radon mi -j`` on it (subprocesses, one process each);
3. times qualscan's whole metrics pass -- read, decode, the one ``ast.parse``, ``analyze_file`` on
   every file, then ``analyze_project`` (import graph, clones, matrix) -- in one process, and with
   a pool of ``--jobs`` worker processes (default: one per core), as the pipeline runs it;
4. prints the time ratios and the agreement: per-function cyclomatic complexity equal to radon's
   (matched by file and line), per-file Halstead volume equal to ``radon hal -j``'s, per-file
   cyclomatic total equal to radon's ``ComplexityVisitor.total_complexity`` (radon's API on the
   file's text: the CLI does not print it) and per-file MI within 0.1 of radon's.

The per-file facts of the worker processes are the same dicts the pipeline sends back.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
VERSION = "5.2.8"
sys.path.insert(0, str(REPO))

from qualscan.config import Config  # noqa: E402
from qualscan.metrics import analyze_file, analyze_project  # noqa: E402
from qualscan.model import FileKind, SourceFile  # noqa: E402
from qualscan.parsers.python import decode, parse  # noqa: E402


def corpus() -> Path:
    root = WORK / f"django-{VERSION}"
    if root.is_dir():
        return root
    WORK.mkdir(parents=True, exist_ok=True)
    sdist = WORK / f"django-{VERSION}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"django=={VERSION}", "-d", str(WORK)],
            check=True,
        )
    with tarfile.open(sdist) as tar:
        tar.extractall(WORK, filter="data")
    return root


def py_files(root: Path) -> list[str]:
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))
    return out


def one_file(args: tuple[str, str]) -> tuple[str, dict[str, Any] | None]:
    root, rel = args
    global PARSE_CPU
    c0 = time.process_time()
    data = (Path(root) / rel).read_bytes()
    text, _ = decode(rel, data)
    if text is None:
        return rel, None
    tree, _ = parse(rel, text)
    PARSE_CPU += time.process_time() - c0
    if tree is None:
        return rel, None
    facts = analyze_file(rel, text, tree, CONFIG)
    del tree
    return rel, facts


CONFIG = Config()
PARSE_CPU = 0.0  # read + decode + ast.parse, the part the pipeline shares with the rules


def metrics_pass(root: Path, files: list[str], jobs: int) -> tuple[float, float, dict[str, dict[str, Any]], Any]:
    """(wall seconds, CPU seconds of this process and its workers, per-file facts, ProjectMetrics)."""
    c0 = time.process_time() + _children_cpu()
    t0 = time.perf_counter()
    facts: dict[str, dict[str, Any]] = {}
    tasks = [(str(root), rel) for rel in files]
    if jobs <= 1:
        for t in tasks:
            rel, f = one_file(t)
            if f is not None:
                facts[rel] = f
    else:
        with ProcessPoolExecutor(jobs) as pool:
            for rel, f in pool.map(one_file, tasks, chunksize=16):
                if f is not None:
                    facts[rel] = f
    sources = [SourceFile(path=rel, kind=FileKind.PYTHON, service=None, is_test="/tests/" in f"/{rel}") for rel in files]
    pm = analyze_project(
        config=CONFIG, files=sources, services=(), file_facts=facts, git_log=None, git_problem="benchmark",
        coverage=(), journeys=(), critical_services=frozenset(),
    )
    return time.perf_counter() - t0, time.process_time() + _children_cpu() - c0, facts, pm


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of the child, parsed JSON output)."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, _children_cpu() - c0, json.loads(proc.stdout)


def radon_functions(cc: dict[str, Any]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for path, blocks in cc.items():
        if not isinstance(blocks, list):
            continue
        stack = list(blocks)
        while stack:
            b = stack.pop()
            if b.get("type") in ("function", "method"):
                out[(path.replace(os.sep, "/"), b["lineno"])] = b["complexity"]
            stack.extend(b.get("methods", []))
            stack.extend(b.get("closures", []))
    return out


def radon_totals(root: Path, facts: dict[str, dict[str, Any]]) -> tuple[int, list[tuple[str, int, int]]]:
    """Files whose ``cyclomatic_total`` equals radon's ``ComplexityVisitor.from_code(text).total_complexity``."""
    from radon.visitors import ComplexityVisitor

    same = 0
    diffs = []
    for rel, f in sorted(facts.items()):
        text, _ = decode(rel, (root / rel).read_bytes())
        theirs = ComplexityVisitor.from_code(text).total_complexity
        if f["cyclomatic_total"] == theirs:
            same += 1
        else:
            diffs.append((rel, theirs, f["cyclomatic_total"]))
    return same, diffs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-radon-mi", action="store_true")
    args = ap.parse_args()
    root = corpus()
    files = py_files(root)
    lines = sum((root / f).read_bytes().count(b"\n") for f in files)
    print(f"corpus: Django {VERSION} sdist, {len(files)} .py files, {lines} lines; {os.cpu_count()} cores")

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    t_cc, c_cc, cc = timed(["radon", "cc", "-s", "-j", "."], root)
    print(f"radon cc -s -j            wall {t_cc:7.2f} s   cpu {c_cc:7.2f} s")
    t_hal, c_hal, hal = timed(["radon", "hal", "-j", "."], root)
    print(f"radon hal -j              wall {t_hal:7.2f} s   cpu {c_hal:7.2f} s")
    mi: dict[str, Any] = {}
    if not args.skip_radon_mi:
        t_mi, c_mi, mi = timed(["radon", "mi", "-j", "."], root)
        print(f"radon mi -j               wall {t_mi:7.2f} s   cpu {c_mi:7.2f} s")
    t1, c1, facts, pm = metrics_pass(root, files, 1)
    print(
        f"qualscan metrics, 1 proc  wall {t1:7.2f} s   cpu {c1:7.2f} s   "
        f"(wall ratio to radon cc {t1 / t_cc:.2f}, cpu ratio {c1 / c_cc:.2f})"
    )
    print(
        f"  of which read+decode+ast.parse (shared with the rules in the pipeline): cpu {PARSE_CPU:.2f} s; "
        f"metrics proper: cpu {c1 - PARSE_CPU:.2f} s (ratio {(c1 - PARSE_CPU) / c_cc:.2f})"
    )
    if args.jobs > 1:
        tn, cn, _, _ = metrics_pass(root, files, args.jobs)
        print(
            f"qualscan metrics, {args.jobs} procs wall {tn:7.2f} s   cpu {cn:7.2f} s   "
            f"(wall ratio to radon cc {tn / t_cc:.2f})"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"  project pass output: {len(pm.functions)} functions, {len(pm.modules)} modules, "
        f"{len(pm.import_cycles)} import cycles to break, {len(pm.clones)} clone groups"
    )

    ours = {(f["file"], f["line"]): f["cyclomatic"] for f in pm.functions}
    theirs = radon_functions(cc)
    same = sum(1 for k, v in theirs.items() if ours.get(k) == v)
    print(f"cyclomatic equal to radon: {same}/{len(theirs)} functions = {100 * same / max(1, len(theirs)):.2f} %")
    diffs = [(k, v, ours.get(k)) for k, v in sorted(theirs.items()) if ours.get(k) != v]
    for d in diffs[:5]:
        print("   differs:", d)
    same_vol = total_hal = 0
    vol_diffs = []
    for path, v in hal.items():
        if "total" not in v:
            continue
        total_hal += 1
        f = facts.get(path.replace(os.sep, "/"))
        if f is not None and f["halstead"]["volume"] == v["total"]["volume"]:
            same_vol += 1
        else:
            vol_diffs.append((path, v["total"]["volume"], None if f is None else f["halstead"]["volume"]))
    print(f"Halstead volume equal to radon hal: {same_vol}/{total_hal} files")
    for d in vol_diffs[:5]:
        print("   differs:", d)
    same_total, total_diffs = radon_totals(root, facts)
    print(f"cyclomatic total equal to radon's total_complexity: {same_total}/{len(facts)} files")
    for d in total_diffs[:5]:
        print("   differs:", d)
    if mi:
        ok = total = 0
        worst = []
        for path, v in mi.items():
            if "mi" not in v:
                continue
            total += 1
            f = facts.get(path.replace(os.sep, "/"))
            if f is not None and f.get("mi") is not None and abs(f["mi"] - v["mi"]) <= 0.1:
                ok += 1
            else:
                worst.append((path, v["mi"], None if f is None else f.get("mi")))
        print(f"MI within 0.1 of radon:    {ok}/{total} files = {100 * ok / max(1, total):.2f} %")
        for w in worst[:5]:
            print("   differs:", w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
