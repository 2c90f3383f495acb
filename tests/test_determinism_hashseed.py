"""Reports are byte-identical whatever the process's string-hash seed.

Python randomises ``str`` hashing per process (PYTHONHASHSEED), so anything that iterates a set of
names -- networkx subgraph views do -- can change order between two runs on the same input. A
Django scan once reported a different import cycle on every run this way. Each scan below runs
in its own process with a different seed, on a repository with many equally short cycles, and the
JSON reports must be identical.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _write_cyclic_package(root: Path) -> None:
    """``pkg`` imports eight modules that each import ``pkg.core``, which imports ``pkg``.

    Every ``pkg -> mN -> core -> pkg`` is a shortest cycle through ``pkg/__init__.py``: which one a
    breadth-first search meets first depends on neighbour order alone.
    """
    pkg = root / "services" / "catalog" / "pkg"
    pkg.mkdir(parents=True)
    (root / "services" / "catalog" / "pyproject.toml").write_text('[project]\nname = "catalog"\n')
    names = [f"m{i}" for i in range(8)]
    (pkg / "__init__.py").write_text("".join(f"from pkg import {n}\n" for n in names))
    for n in names:
        (pkg / f"{n}.py").write_text(f"from pkg import core\n\n\ndef {n}_value():\n    return core.VALUE\n")
    (pkg / "core.py").write_text("import pkg\n\nVALUE = 1\n")


def _scan(repo: Path, seed: str, out: Path) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(repo), "--no-cache", "-j", "1", "-f", "json", "-o", str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return out.read_bytes()


def test_reports_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures" / "shop", repo)
    _write_cyclic_package(repo)
    reports = {seed: _scan(repo, seed, tmp_path / f"report-{seed}.json") for seed in ("1", "2", "3", "4")}
    first = reports["1"]
    cycles = json.loads(first)["metrics"]["import_cycles"]
    broken_at = {c["break"]["file"] for c in cycles}
    assert "services/catalog/pkg/core.py" in broken_at, cycles  # the tied cycles are really reported
    for seed, data in reports.items():
        assert data == first, f"report with PYTHONHASHSEED={seed} differs from PYTHONHASHSEED=1"
