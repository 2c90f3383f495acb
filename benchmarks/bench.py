"""qualscan performance benchmark: what users would otherwise run, same machine, same run.

    python benchmarks/bench.py                       # everything, 3 runs each, writes benchmarks/RESULTS.md
    python benchmarks/bench.py --runs 5 --sizes 250,500,1000,2000
    python benchmarks/bench.py --quick               # 1 run, small synthetic sizes, no RESULTS.md

It fetches its corpora itself into benchmarks/.work/ (gitignored):
  * the Django 5.2.8 sdist (``pip download --no-deps --no-binary :all: django==5.2.8``), copied into
    a git repository with one commit (qualscan reads git history; the other tools ignore ``.git``);
  * synthetic monorepos of N services (benchmarks/synth.py), also git repositories;
and installs radon, lizard and bandit from PyPI into its own venv (benchmarks/.work/venv).

Measured, interleaved round by round so that background load hits every tool alike (medians):
  * qualscan cold full scan (every analysis on, no cache, default jobs = one per core) vs
    ``radon cc -s -j``, ``radon mi``, ``lizard -l python``, ``bandit -t B113 -r``;
  * the ``ast.parse`` floor: parsing every file once, one core;
  * warm re-scan with the cache and nothing changed;
  * a one-file change through the gate (``qualscan check --diff-base HEAD``, warm cache);
  * peak memory: largest process RSS (rusage) and the sampled PSS sum of the process tree;
  * the synthetic monorepo at each size, to show how the cost grows.
Wall time is what users wait for; CPU time (user + sys, all processes) shows the work done.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
BENCH = WORK / "bench"
VENV = WORK / "venv"
DJANGO_VERSION = "5.2.8"
TOOLS = ("radon==6.0.1", "lizard", "bandit")

sys.path.insert(0, str(HERE))
import synth  # noqa: E402, I001


# --- measuring one command -------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float  # largest single process (rusage ru_maxrss over the process and its reaped children)
    tree_pss_mb: float  # peak of the sampled PSS sum over the process tree
    rc: int


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str], *, cwd: Path = REPO, ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> Run:
    """Run ``cmd``; wall, CPU of the whole process tree, memory. Output goes to a log in .work."""
    if env is not None and SNAPSHOT is not None:
        cwd = SNAPSHOT  # `python -m` puts the working directory first on sys.path: run the snapshot's code
    peak = [0]
    stop = threading.Event()
    log = open(WORK / "last-command.log", "wb")  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)

    def sample() -> None:
        while not stop.is_set():
            todo, total = [proc.pid], 0
            while todo:
                p = todo.pop()
                total += _pss_kb(p)
                todo += _children(p)
            peak[0] = max(peak[0], total)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    sampler.join()
    log.close()
    if proc.returncode not in ok:
        tail = (WORK / "last-command.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0] / 1024, proc.returncode)


@dataclass
class Series:
    name: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    def med(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs) if self.runs else math.nan

    def spread(self) -> str:
        if not self.runs:
            return "-"
        walls = sorted(r.wall for r in self.runs)
        return f"{walls[0]:.2f}-{walls[-1]:.2f}"


# --- corpora and tools ------------------------------------------------------------------------------


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@example.com")
    return env


def prepare_tools() -> dict[str, str]:
    py = VENV / "bin" / "python"
    if not py.exists():
        print("creating the tools venv ...", flush=True)
        sh([sys.executable, "-m", "venv", str(VENV)])
    have = sh([str(py), "-m", "pip", "freeze"]).stdout.lower()
    if not all(t.split("==")[0] in have for t in TOOLS):
        print(f"installing {', '.join(TOOLS)} from PyPI into {VENV} ...", flush=True)
        sh([str(py), "-m", "pip", "install", "--quiet", *TOOLS])
    versions = {}
    for line in sh([str(py), "-m", "pip", "freeze"]).stdout.splitlines():
        name, _, ver = line.partition("==")
        if name.lower() in ("radon", "lizard", "bandit"):
            versions[name.lower()] = ver
    return versions


def prepare_django() -> Path:
    src = WORK / f"django-{DJANGO_VERSION}"
    if not src.is_dir():
        tgz = WORK / f"django-{DJANGO_VERSION}.tar.gz"
        if not tgz.exists():
            print(f"downloading the Django {DJANGO_VERSION} sdist ...", flush=True)
            sh([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"django=={DJANGO_VERSION}",
                "-d", str(WORK)])
        with tarfile.open(tgz) as tf:
            tf.extractall(WORK, filter="data")
    repo = BENCH / "django"
    if not (repo / ".git").is_dir():
        shutil.rmtree(repo, ignore_errors=True)
        shutil.copytree(src, repo)
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", f"django {DJANGO_VERSION} sdist"]):
            sh(["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env=git_env())
    return repo


def prepare_synth(n: int) -> tuple[Path, dict[str, int]]:
    root = BENCH / f"synth-{n}"
    meta = BENCH / f"synth-{n}.json"
    if not (root / ".git").is_dir() or not meta.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating the synthetic monorepo of {n} services ...", flush=True)
        counts = synth.generate(root, n)
        synth.git_commit(root)
        meta.write_text(json.dumps(counts))
    return root, json.loads(meta.read_text())


def py_files(root: Path) -> list[Path]:
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x != ".git")  # as qualscan discovers them
        out += [Path(d) / f for f in sorted(files) if f.endswith(".py")]
    return out


def corpus_size(root: Path) -> tuple[int, int]:
    files = py_files(root)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return len(files), lines


AST_FLOOR = """
import ast, os, sys, time
files = []
for d, dirs, names in os.walk(sys.argv[1]):
    dirs[:] = sorted(x for x in dirs if x != '.git')
    files += [os.path.join(d, f) for f in sorted(names) if f.endswith('.py')]
for f in files:
    with open(f, 'rb') as fh:
        data = fh.read()
    try:
        ast.parse(data, f)
    except (SyntaxError, ValueError):
        pass
"""


# --- the benchmark ----------------------------------------------------------------------------------


SNAPSHOT: Path | None = None  # the committed code under test, exported once (see snapshot())


def snapshot() -> tuple[Path, str]:
    """Export HEAD (``git archive``) so the whole run measures one version of qualscan, even while
    others commit or edit the checkout; ``rules/`` and ``templates/`` go where the wheel puts them."""
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=REPO).stdout.strip()
    dest = WORK / "snapshots" / commit
    if not (dest / "qualscan").is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        for sub in ("rules", "templates"):
            if (dest / sub).is_dir():
                shutil.move(str(dest / sub), str(dest / "qualscan" / sub))
        # byte-compile it, as `pip install` does for an installed wheel (and did for radon, lizard and
        # bandit in the tools' venv): without .pyc files -- PYTHONDONTWRITEBYTECODE is set on the build
        # machines -- every qualscan run would recompile its ~260 modules (~0.1-0.15 s per run)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "qualscan")], check=True)
    return dest, commit


def qs_env() -> dict[str, str] | None:
    if SNAPSHOT is None:
        return None
    return {**os.environ, "PYTHONPATH": str(SNAPSHOT)}


def qualscan(*args: str) -> list[str]:
    return [sys.executable, "-m", "qualscan", *args]


def bench_django(repo: Path, runs: int, slow_runs: int | None = None) -> dict[str, Series]:
    bin_ = VENV / "bin"
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    s: dict[str, Series] = {}
    cmds: dict[str, tuple[list[str], tuple[int, ...]]] = {
        "qualscan scan (cold, no cache)": (qualscan("scan", str(repo), "--no-cache", "-f", "json", "-o", str(out / "qs.json")), (0,)),
        "radon cc -s -j": ([str(bin_ / "radon"), "cc", "-s", "-j", "-O", str(out / "cc.json"), str(repo)], (0,)),
        "radon mi": ([str(bin_ / "radon"), "mi", "-O", str(out / "mi.txt"), str(repo)], (0,)),
        "lizard -l python": ([str(bin_ / "lizard"), "-l", "python", "-o", str(out / "lizard.txt"), str(repo)], (0, 1)),
        "bandit -t B113 -r": ([str(bin_ / "bandit"), "-q", "-t", "B113", "-r", str(repo), "-f", "json", "-o", str(out / "bandit.json")], (0, 1)),
        "ast.parse floor (1 core)": ([sys.executable, "-c", AST_FLOOR, str(repo)], (0,)),
    }
    for name in cmds:
        s[name] = Series(name)
    slow = {"radon mi", "bandit -t B113 -r"}  # the two slowest baselines may run fewer rounds (--slow-runs)
    for r in range(runs):
        for name, (cmd, ok) in cmds.items():
            if name in slow and slow_runs is not None and r >= slow_runs:
                continue
            print(f"  django round {r + 1}/{runs}: {name} ...", end=" ", flush=True)
            run = measure(cmd, ok=ok, env=qs_env() if name.startswith("qualscan") else None)
            s[name].runs.append(run)
            print(f"{run.wall:.2f} s wall, {run.cpu:.2f} s CPU, {run.rss_mb:.0f} MB", flush=True)

    # warm: fill the cache once (untimed), then re-scan with nothing changed
    cache = BENCH / "cache-django"
    shutil.rmtree(cache, ignore_errors=True)
    measure(qualscan("scan", str(repo), "--cache-dir", str(cache), "-f", "json", "-o", str(out / "qs-fill.json")), env=qs_env())
    warm = s["qualscan scan (warm cache, nothing changed)"] = Series("qualscan scan (warm cache, nothing changed)")
    for r in range(runs):
        run = measure(qualscan("scan", str(repo), "--cache-dir", str(cache), "-f", "json", "-o", str(out / "qs-warm.json")),
                      env=qs_env())
        warm.runs.append(run)
        print(f"  django warm {r + 1}/{runs}: {run.wall:.2f} s", flush=True)

    # gate: one file changed (new content each round: its cache entry always misses), warm cache;
    # then the same gate as CI runs it on a pull request: the change is committed, so HEAD is new
    # and the stored `git log` text (kept per HEAD) cannot be reused
    target = repo / "django" / "core" / "paginator.py"
    original = target.read_bytes()
    base = sh(["git", "rev-parse", "HEAD"], cwd=repo, env=git_env()).stdout.strip()
    for name, label, diff_base, commit in (
        ("qualscan check --diff-base HEAD (1 file changed)", "gate", "HEAD", False),
        ("qualscan check --diff-base HEAD~1 (1 file changed and committed: new HEAD)", "gate, committed", "HEAD~1", True),
    ):
        series = s[name] = Series(name)
        try:
            for r in range(runs):
                target.write_bytes(original + f"\n\ndef _bench_{label[-4:]}_{r}(items):\n    return [i for i in items if i]\n".encode())
                if commit:
                    sh(["git", "commit", "-qam", f"bench round {r}"], cwd=repo, env=git_env())
                run = measure(
                    qualscan("check", str(repo), "--diff-base", diff_base, "--cache-dir", str(cache), "-f", "json",
                             "-o", str(out / "gate.json")),
                    ok=(0, 1),
                    env=qs_env(),
                )
                series.runs.append(run)
                print(f"  django {label} {r + 1}/{runs}: {run.wall:.2f} s (exit {run.rc})", flush=True)
                if commit:
                    sh(["git", "reset", "-q", "--hard", base], cwd=repo, env=git_env())
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            series.note = f"not measured: {str(exc).splitlines()[0]}"
            print(f"  {label} failed: {exc}", flush=True)
        finally:
            sh(["git", "reset", "-q", "--hard", base], cwd=repo, env=git_env())
            target.write_bytes(original)
    return s


def bench_shards(n: int, count: int) -> dict[str, Any]:
    """``scan --shard i/count`` of the n-service monorepo, one shard after the other, then ``merge``;
    the merged report is compared byte for byte with a full scan of the same tree."""
    root, _ = prepare_synth(n)
    out = BENCH / "out" / f"shards-{n}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shards = []
    for i in range(1, count + 1):
        path = out / f"shard-{i}.json"
        run = measure(qualscan("scan", str(root), "--no-cache", "--shard", f"{i}/{count}", "-f", "json", "-o", str(path)),
                      env=qs_env())
        files = len(json.loads(path.read_text())["shard"]["files"])
        shards.append({"index": i, "run": run, "files": files})
        print(f"  shard {i}/{count} of {n} services: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, {files} files", flush=True)
    merged = out / "merged.json"
    merge = measure(qualscan("merge", *[str(out / f"shard-{i}.json") for i in range(1, count + 1)], "--root", str(root),
                             "-o", str(merged)), env=qs_env())
    print(f"  merge: {merge.wall:.2f} s wall, {merge.cpu:.2f} s CPU", flush=True)
    full = out / "full.json"
    whole = measure(qualscan("scan", str(root), "--no-cache", "-f", "json", "-o", str(full)), env=qs_env())
    return {"services": n, "count": count, "shards": shards, "merge": merge, "full": whole,
            "identical": merged.read_bytes() == full.read_bytes()}


def bench_synth(sizes: list[int], runs: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        root, counts = prepare_synth(n)
        series = Series(f"synthetic {n}")
        for r in range(runs):
            run = measure(qualscan("scan", str(root), "--no-cache", "-f", "json", "-o", str(BENCH / "out" / f"synth-{n}.json")),
                          env=qs_env())
            series.runs.append(run)
            print(f"  synthetic {n} services, run {r + 1}/{runs}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU", flush=True)
        report = json.loads((BENCH / "out" / f"synth-{n}.json").read_text())
        py, lines = corpus_size(root)
        rows.append(
            {
                "services": n,
                "py_files": py,
                "lines": lines,
                "series": series,
                "found_services": report["summary"]["services"],
                "edges": report["summary"]["edges"],
                "findings": report["summary"]["findings"],
            }
        )
    return rows


def profile_django(repo: Path) -> str:
    """Per-layer CPU of the per-file pass on one core (benchmarks/layer_costs.py): where the time goes."""
    return sh([sys.executable, str(HERE / "layer_costs.py"), str(repo)], cwd=REPO, env=qs_env()).stdout


# --- the report -------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=REPO).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        commit = "?"
    if SNAPSHOT is not None:
        commit = SNAPSHOT.name
    from qualscan import __version__

    return {
        "cpu": model,
        "cores usable": str(len(os.sched_getaffinity(0))),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "qualscan": f"{__version__} (commit {commit})",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fmt_ratio(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}×"


def growth_exponent(rows: list[dict[str, Any]], attr: str = "wall") -> float:
    """Least-squares slope of log(time) on log(services): 1.0 is linear."""
    pts = [(math.log(r["services"]), math.log(r["series"].med(attr))) for r in rows if r["series"].runs]
    if len(pts) < 2:
        return math.nan
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def write_results(
    path: Path,
    command: str,
    info: dict[str, str],
    tools: dict[str, str],
    corpus: tuple[int, int],
    django: dict[str, Series],
    synth_rows: list[dict[str, Any]],
    load: tuple[tuple[float, ...], tuple[float, ...]],
    profile: str | None,
    runs: int,
    status: str = "complete",
    shard_result: dict[str, Any] | None = None,
) -> None:
    qs = django["qualscan scan (cold, no cache)"]
    floor = django["ast.parse floor (1 core)"]
    warm = django["qualscan scan (warm cache, nothing changed)"]
    gate = django["qualscan check --diff-base HEAD (1 file changed)"]
    cc = django["radon cc -s -j"]
    L: list[str] = []
    L += ["# qualscan benchmark results", ""]
    L += [f"Generated by `{command}` (medians over the runs shown; Django rounds interleaved across tools). Do not edit by hand.", ""]
    L += [f"Status: {status}.", ""]
    L += ["## Machine", ""]
    L += [f"- {k}: {v}" for k, v in info.items()]
    L += ["- tools (PyPI, own venv): " + ", ".join(f"{k} {v}" for k, v in sorted(tools.items()))]
    L += [f"- load average at start {load[0][0]:.2f} / {load[0][1]:.2f} / {load[0][2]:.2f}, at end "
          f"{load[1][0]:.2f} / {load[1][1]:.2f} / {load[1][2]:.2f} (1/5/15 min; the machine is shared, so wall "
          "times carry that noise; CPU times less so)", ""]
    L += [f"## Django {DJANGO_VERSION} sdist ({corpus[0]:,} .py files, {corpus[1]:,} lines)", ""]
    L += ["| command | runs | wall median (s) | wall range (s) | CPU median (s) | largest process RSS (MB) | tree PSS peak (MB) | qualscan cold ÷ this (wall) | qualscan cold ÷ this (CPU) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in django.items():
        if not s.runs:
            L.append(f"| {name} | 0 | {s.note or 'not measured'} | | | | | | |")
            continue
        ratio = qs.med("wall") / s.med("wall")
        L.append(
            f"| {name} | {len(s.runs)} | {s.med('wall'):.2f} | {s.spread()} | {s.med('cpu'):.2f} | {s.med('rss_mb'):.0f} | "
            f"{s.med('tree_pss_mb'):.0f} | {fmt_ratio(ratio)} | {fmt_ratio(qs.med('cpu') / s.med('cpu'))} |"
        )
    L += ["", "## Targets (2-core machine)", ""]
    L += ["| target | measured | verdict |", "|---|---|---|"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    if qs.runs and cc.runs:
        r = qs.med("wall") / cc.med("wall")
        L.append(f"| cold full scan, every analysis on, ≤ `radon cc` alone | {qs.med('wall'):.2f} s vs {cc.med('wall'):.2f} s = {r:.2f}× | {verdict(r <= 1.0)} |")
        cores = len(os.sched_getaffinity(0))
        rc = qs.med("cpu") / cores / cc.med("cpu")
        L.append(f"| same, from CPU time (qualscan CPU ÷ {cores} cores vs radon CPU: what an idle machine would show) | "
                 f"{qs.med('cpu'):.2f} s ÷ {cores} vs {cc.med('cpu'):.2f} s = {rc:.2f}× | {verdict(rc <= 1.0)} |")
    if warm.runs and floor.runs:
        r = warm.med("wall") / floor.med("wall")
        L.append(f"| warm re-scan ≤ 0.3× the `ast.parse` floor | {warm.med('wall'):.2f} s vs {floor.med('wall'):.2f} s = {r:.2f}× | {verdict(r <= 0.3)} |")
    if gate.runs:
        L.append(f"| one-file gate (`check --diff-base`) < 1.5 s | {gate.med('wall'):.2f} s | {verdict(gate.med('wall') < 1.5)} |")
    else:
        L.append(f"| one-file gate (`check --diff-base`) < 1.5 s | {gate.note or 'not measured'} | not measured |")
    moved = next((v for k, v in django.items() if k.startswith("qualscan check --diff-base HEAD~1")), None)
    if moved is not None and moved.runs:
        L.append(f"| same gate with the change committed (new HEAD: `git log` runs again, as on a CI pull request) | "
                 f"{moved.med('wall'):.2f} s | {verdict(moved.med('wall') < 1.5)} |")
    if qs.runs:
        peak = max(qs.med("tree_pss_mb"), qs.med("rss_mb"))
        L.append(f"| peak memory < 1 GB (cold Django scan) | largest process {qs.med('rss_mb'):.0f} MB, whole tree {qs.med('tree_pss_mb'):.0f} MB PSS | {verdict(peak < 1024)} |")
    k = growth_exponent(synth_rows)
    if not math.isnan(k):
        kc = growth_exponent(synth_rows, "cpu")
        L.append(f"| growth with services close to linear | wall ∝ services^{k:.2f}, CPU ∝ services^{kc:.2f} (log-log fits over {len(synth_rows)} sizes) | {verdict(max(k, kc) <= 1.15)} |")
    L += ["", "## Synthetic monorepo (benchmarks/synth.py): cold full scan, no cache", ""]
    L += ["| services | runs | .py files | lines | services found | edges | findings | wall median (s) | CPU median (s) | ms wall / service | largest process RSS (MB) | tree PSS peak (MB) |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in synth_rows:
        s = row["series"]
        L.append(
            f"| {row['services']:,} | {len(s.runs)} | {row['py_files']:,} | {row['lines']:,} | {row['found_services']:,} | {row['edges']:,} | "
            f"{row['findings']:,} | {s.med('wall'):.2f} | {s.med('cpu'):.2f} | {1000 * s.med('wall') / row['services']:.1f} | "
            f"{s.med('rss_mb'):.0f} | {s.med('tree_pss_mb'):.0f} |"
        )
    L += ["", "## How it was measured", ""]
    L += [
        "- Each command is a separate process; wall time is measured around it, CPU time (user + sys) and the largest "
        "process RSS come from `wait4` (they include the worker processes), the tree PSS peak from sampling "
        "`/proc/*/smaps_rollup` of the process tree every 50 ms.",
        "- qualscan runs with its defaults (every rule and metric on, one worker per core) and writes the JSON report; "
        "the other tools run single-process as users run them, writing their reports to files.",
        "- Warm: one untimed scan fills the cache, then re-scans with nothing changed. Gate: each round appends a "
        "new function to `django/core/paginator.py` (a new content hash, so its cache entry misses) and runs "
        "`qualscan check --diff-base HEAD` on the warm cache. Gate, committed: the same change is committed "
        "first and the gate runs with `--diff-base HEAD~1`, as CI checks a pull request's commit: HEAD is new, "
        "so `git log` runs for the new commit (the other commits' entries come from the cache).",
        "- The `ast.parse` floor parses every .py file once in one process (trees dropped), the lower bound of any "
        "full AST analysis on one core.",
    ]
    if shard_result:
        sr = shard_result
        L += ["", f"## Sharding: {sr['services']:,} synthetic services in {sr['count']} shards (`scan --shard i/{sr['count']}`, then `merge`)", ""]
        L += ["| step | .py files | wall (s) | CPU (s) | largest process RSS (MB) |", "|---|---:|---:|---:|---:|"]
        for sh_ in sr["shards"]:
            r = sh_["run"]
            L.append(f"| shard {sh_['index']}/{sr['count']} | {sh_['files']:,} | {r.wall:.2f} | {r.cpu:.2f} | {r.rss_mb:.0f} |")
        m, f = sr["merge"], sr["full"]
        L.append(f"| merge (project phase on the whole) | - | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} |")
        L.append(f"| full scan, one machine | - | {f.wall:.2f} | {f.cpu:.2f} | {f.rss_mb:.0f} |")
        crit = max(x["run"].wall for x in sr["shards"]) + m.wall
        L += ["", f"CI critical path (slowest shard + merge, shards on parallel runners): {crit:.2f} s vs {f.wall:.2f} s "
              f"for one full scan. Merged report byte-identical to the full scan: {'yes' if sr['identical'] else '**no**'}. "
              "(One run each, measured one after the other on this machine.)"]
    if profile:
        L += ["", "## Where the per-file pass spends its CPU (Django, one core, `benchmarks/layer_costs.py`)", "",
              "```", profile.strip(), "```"]
    path.write_text("\n".join(L) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (default 3; medians are reported)")
    ap.add_argument("--synth-runs", type=int, help="runs per synthetic size (default: --runs)")
    ap.add_argument("--slow-runs", type=int, help="runs of the slowest baselines, radon mi and bandit (default: --runs)")
    ap.add_argument("--sizes", default="250,500,1000,2000", help="synthetic monorepo sizes (services)")
    ap.add_argument("--profile", action="store_true", help="add the per-layer CPU table of the Django per-file pass to the results")
    ap.add_argument("--quick", action="store_true", help="1 run, sizes 50,100; print only (no RESULTS.md)")
    ap.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--shards", default="1000:4", help="SERVICES:COUNT for the sharding measurement ('' to skip)")
    ap.add_argument("--live", action="store_true", help="run qualscan from the working tree instead of a snapshot of HEAD")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.sizes, args.shards = 1, "50,100", "100:2"
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    WORK.mkdir(exist_ok=True)
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "out").mkdir(exist_ok=True)
    load0 = os.getloadavg()
    global SNAPSHOT
    if not args.live:
        SNAPSHOT, commit = snapshot()
        print(f"measuring qualscan at commit {commit} (exported to {SNAPSHOT})", flush=True)
    tools = prepare_tools()
    repo = prepare_django()
    corpus = corpus_size(repo)
    print(f"Django: {corpus[0]} .py files, {corpus[1]} lines", flush=True)
    command = ("python benchmarks/bench.py " + " ".join(sys.argv[1:])).strip()
    target = args.output if not args.quick else WORK / "RESULTS-quick.md"
    django = bench_django(repo, args.runs, args.slow_runs)
    profile = profile_django(repo) if args.profile else None
    rows: list[dict[str, Any]] = []
    sharding: dict[str, Any] | None = None

    def save(status: str) -> None:  # after every stage, so an interrupted run still leaves its numbers
        write_results(target, command, machine_info(), tools, corpus, django, rows, (load0, os.getloadavg()), profile,
                      args.runs, status, sharding)
        print(f"wrote {target} ({status})", flush=True)

    for i, n in enumerate(sizes):
        save(f"partial: synthetic sizes {', '.join(map(str, sizes[i:]))} still to measure")
        rows += bench_synth([n], args.synth_runs or args.runs)
    if args.shards:
        save("partial: sharding still to measure")
        n_services, _, count = args.shards.partition(":")
        sharding = bench_shards(int(n_services), int(count or 4))
    save("complete")
    print(target.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
