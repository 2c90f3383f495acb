"""Warm re-scan and one-file gate on Django, the two issue #8 targets, old code vs new, interleaved.

    python benchmarks/warm_gate.py [--runs 3] [--ref HEAD~3] [--verify]

* floor: ``ast.parse`` of every .py file in one process (the bar: warm <= 0.3x floor);
* warm: ``qualscan scan DIR --cache-dir C -f json -o out.json`` after one untimed filling run, nothing
  changed;
* gate: append a new function to django/core/paginator.py (new content every round, so its cache
  entry misses), then ``qualscan check DIR --diff-base HEAD --cache-dir C -f json -o gate.json``
  (target < 1.5 s).

The code measured is a ``git archive`` snapshot of ``--new`` (default HEAD). Django is copied to a
temporary directory and committed to a fresh git repository (the sdist is not
a repository). ``--ref`` also runs the code of that git revision (``git archive`` snapshot, its own
cache directory) in the same rounds, so both see the same machine load. CPU = user + sys of the
qualscan process and its children (git, pool workers). ``--verify`` also checks that the warm and
gate reports are byte-identical to ``--no-cache`` runs (two cold scans: minutes).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DJANGO = REPO / "benchmarks" / ".work" / "django-5.2.8"
FLOOR = """
import ast, os, sys
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        if f.endswith('.py'):
            try:
                ast.parse(open(os.path.join(d, f), 'rb').read())
            except (SyntaxError, ValueError):
                pass
"""
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@e.x", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@e.x", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def measure(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(wall, CPU) of one command, CPU = user + sys of it and its waited-for descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # cwd: ``python -m`` puts the working directory first on sys.path, ahead of PYTHONPATH -- run
    # from the checkout, it would import the checkout's qualscan instead of the snapshot
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def snapshot(ref: str, dest: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, check=True, capture_output=True).stdout
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    for sub in ("rules", "templates"):  # installed as qualscan.rules / qualscan.templates
        if (dest / sub).is_dir():
            shutil.move(str(dest / sub), str(dest / "qualscan" / sub))
    # byte-compiled as pip does on install (PYTHONDONTWRITEBYTECODE may be set: every run would
    # otherwise recompile ~260 modules, ~0.1-0.15 s of a gate; as benchmarks/bench.py does)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "qualscan")], check=True)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ref", help="also run the code of this git revision (e.g. the commit before the change)")
    ap.add_argument("--new", default="HEAD", help="the revision measured as new (default HEAD; 'worktree': the checkout as is)")
    ap.add_argument("--django", type=Path, default=DJANGO)
    ap.add_argument("--changed", default="django/core/paginator.py", help="the file the gate rounds change")
    ap.add_argument("--verify", action="store_true", help="compare with --no-cache reports (slow)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qs-warm-gate-"))
    try:
        repo = work / "django"
        shutil.copytree(args.django, repo, ignore=shutil.ignore_patterns(".qualscan_cache"))
        env_git = {**os.environ, **GIT_ENV}
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "django"]):
            subprocess.run(["git", *cmd], cwd=repo, env=env_git, check=True, capture_output=True)
        time.sleep(2.5)  # past the stat index's racy window, as a checkout a few seconds old is
        # snapshots: edits made to the checkout while the benchmark runs do not change what it measures
        new_src = REPO if args.new == "worktree" else snapshot(args.new, work / "new")
        variants = {"new": {**os.environ, "PYTHONPATH": str(new_src)}}
        if args.ref:
            variants[f"old ({args.ref})"] = {**os.environ, "PYTHONPATH": str(snapshot(args.ref, work / "old"))}
        py = [sys.executable, "-P", "-m", "qualscan"]  # -P: nothing from the working directory either
        for name, env in variants.items():  # fill each variant's cache (untimed)
            cache = work / f"cache-{name.split()[0]}"
            measure([*py, "scan", str(repo), "--cache-dir", str(cache), "-f", "json", "-o", str(work / "fill.json")], env)
        results: dict[str, list[tuple[float, float]]] = {}
        target = repo / args.changed
        original = target.read_bytes()
        try:
            for r in range(args.runs):
                results.setdefault("ast.parse floor", []).append(measure([sys.executable, "-c", FLOOR, str(repo)]))
                for name, env in variants.items():
                    cache = work / f"cache-{name.split()[0]}"
                    results.setdefault(f"warm scan, {name}", []).append(measure(
                        [*py, "scan", str(repo), "--cache-dir", str(cache), "-f", "json", "-o", str(work / f"warm-{name.split()[0]}.json")], env))
                target.write_bytes(original + f"\n\ndef _bench_added_{r}(items):\n    return [i for i in items if i]\n".encode())
                for name, env in variants.items():
                    cache = work / f"cache-{name.split()[0]}"
                    results.setdefault(f"gate (1 file changed), {name}", []).append(measure(
                        [*py, "check", str(repo), "--diff-base", "HEAD", "--cache-dir", str(cache), "-f", "json",
                         "-o", str(work / f"gate-{name.split()[0]}.json")], env, ok=(0, 1)))
                target.write_bytes(original)
            if args.verify:
                env = variants["new"]
                measure([*py, "scan", str(repo), "--no-cache", "-f", "json", "-o", str(work / "cold.json")], env)
                same = (work / "cold.json").read_bytes() == (work / "warm-new.json").read_bytes()
                print(f"warm report byte-identical to --no-cache: {same}")
                target.write_bytes(original + f"\n\ndef _bench_added_{args.runs - 1}(items):\n    return [i for i in items if i]\n".encode())
                measure([*py, "check", str(repo), "--diff-base", "HEAD", "--no-cache", "-f", "json", "-o", str(work / "gate-cold.json")],
                        env, ok=(0, 1))
                same = (work / "gate-cold.json").read_bytes() == (work / "gate-new.json").read_bytes()
                print(f"gate report byte-identical to --no-cache: {same}")
        finally:
            target.write_bytes(original)
        stored = len(list((work / "cache-new" / "results").glob("*.json")))
        print(f"reports stored in the new variant's cache: {stored} (1 = every warm run reused the first)")
        floor = statistics.median(w for w, _ in results["ast.parse floor"])
        floor_cpu = statistics.median(c for _, c in results["ast.parse floor"])
        print(f"\n{'':40} {'wall median':>12} {'CPU median':>11}   runs (wall/CPU s)")
        for name, runs in results.items():
            wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
            ratio = f"  = {cpu / floor_cpu:.2f}x floor CPU" if name.startswith("warm") else ""
            print(f"{name:40} {wall:11.2f}s {cpu:10.2f}s   " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs) + ratio)
        print(f"\nfloor: {floor:.2f} s wall, {floor_cpu:.2f} s CPU; targets: warm <= {0.3 * floor_cpu:.2f} s, gate < 1.5 s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
