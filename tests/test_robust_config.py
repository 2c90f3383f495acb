"""Issue #9, bad and hostile configuration. The configuration file lives in the scanned repository,
so it is untrusted input too:

* malformed TOML, wrong types, unknown keys, absurd nesting: exit 2 with one clear message, no traceback;
* settings that would make qualscan write or read outside the root (``cache_dir``, ``coverage_files``,
  a ``.qualscan_cache`` that is a symbolic link) or exhaust the machine (``jobs``) are refused or bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qualscan.config import Config
from qualscan.engine import pipeline
from qualscan.engine.pipeline import scan_path

REPO = Path(__file__).resolve().parents[1]
GOOD = "import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n"
GOOD_PATH = "services/cart/app/client.py"


def build(root: Path) -> None:
    (root / "services/cart/app").mkdir(parents=True, exist_ok=True)
    (root / "services/cart/pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (root / GOOD_PATH).write_text(GOOD)


def qs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qualscan", *args], capture_output=True, text=True, timeout=300, cwd=REPO)


CASES: list[tuple[str, bytes, list[str]]] = [
    ("qualscan.toml", b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", ["nested too deeply"]),
    ("qualscan.toml", b"\xff\xfe\x00binary", ["file is not UTF-8 text"]),
    ("qualscan.toml", b"max_file_size = inf\n", ["max_file_size: expected an integer, got float inf"]),
    ("qualscan.toml", b"[services]\ncart = 5\n", ["services.cart: expected a table, got int"]),
    ("qualscan.toml", b"[rules.QS101]\nseverity = 5\n", ["rules.QS101.severity: unknown severity '5'"]),
    ("qualscan.toml", b"[rules.QS101]\nbogus_option = 5\n", ["rules.QS101.bogus_option: unknown option"]),
    ("qualscan.toml", b"[event]\ndate = 2026-13-45\n", ["malformed TOML"]),
    ("qualscan.toml", b"[journeys.checkout]\nweight = 1\n", ["journeys.checkout.path: required"]),
    ("qualscan.toml", b'cache_dir = "../../outside"\n', ["cache_dir: must be a relative path inside the scanned root"]),
    ("qualscan.toml", b'cache_dir = "/tmp/elsewhere"\n', ["cache_dir: must be a relative path inside the scanned root"]),
    ("qualscan.toml", b"jobs = 'many'\nexclude = 3\nnope = 1\n[gate]\nfail_on = 'doom'\n",
     ["jobs: expected an integer", "exclude: expected a list", "nope: unknown key", "gate.fail_on: expected one of"]),
    ("qualscan.toml", b"jobs = -1\nmax_file_size = 0\n", ["jobs: must be 0", "max_file_size: must be greater than 0"]),
    ("pyproject.toml", b"[tool]\nqualscan = 5\n", ["tool.qualscan: expected a table"]),
    ("pyproject.toml", b"[tool.qualscan\n", ["malformed TOML"]),
    ("pyproject.toml", b"[tool.qualscan]\nrules = {select = 'QS1'}\n", ["rules.select: expected a list"]),
]


@pytest.mark.parametrize(("name", "content", "needles"), CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_bad_configuration_exits_2_with_one_clear_message(tmp_path: Path, name: str, content: bytes, needles: list[str]) -> None:
    build(tmp_path)
    (tmp_path / name).write_bytes(content)
    proc = qs("scan", str(tmp_path), "--no-cache", "-f", "json")
    assert proc.returncode == 2, (proc.stdout[:200], proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"qualscan: error: invalid configuration in {tmp_path / name}:"
    assert len(lines) == 1 + len(needles), lines  # one line per problem, every problem at once
    for needle in needles:
        assert any(needle in line for line in lines[1:]), (needle, lines)
    assert not (tmp_path / ".qualscan_cache").exists()


def test_config_symlinked_out_of_the_root_is_not_read(tmp_path: Path) -> None:
    """A hostile tree could point its qualscan.toml at a file of the CI runner and read it back in the
    validation messages (which quote wrong values)."""
    root = tmp_path / "repo"
    build(root)
    elsewhere = tmp_path / "runner-credentials.toml"
    elsewhere.write_text('jobs = "SECRET-VALUE"\n')
    os.symlink(elsewhere, root / "qualscan.toml")
    proc = qs("scan", str(root), "--no-cache")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "a symbolic link out of the scanned root; not read" in proc.stderr
    assert "SECRET-VALUE" not in proc.stderr + proc.stdout
    # the person running qualscan may still name any file explicitly
    proc = qs("scan", str(root), "--no-cache", "--config", str(elsewhere))
    assert proc.returncode == 2 and "jobs: expected an integer" in proc.stderr


def test_deeply_nested_pyproject_without_qualscan_table(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    proc = qs("scan", str(tmp_path), "--no-cache")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "nested too deeply" in proc.stderr


@pytest.mark.parametrize("target", ["directory", "missing"])
def test_explicit_config_that_cannot_be_read(tmp_path: Path, target: str) -> None:
    build(tmp_path)
    path = tmp_path / "conf.d" if target == "directory" else tmp_path / "nope.toml"
    if target == "directory":
        path.mkdir()
    proc = qs("scan", str(tmp_path), "--no-cache", "--config", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot read" in proc.stderr


def test_cli_cache_dir_may_point_anywhere(tmp_path: Path) -> None:
    """The restriction is on the repository's file, not on the person running qualscan."""
    root, cache = tmp_path / "repo", tmp_path / "cache"
    build(root)
    proc = qs("scan", str(root), "-f", "json", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr
    assert any(p.suffix == ".json" for p in cache.rglob("*.json"))
    assert not (root / ".qualscan_cache").exists()
    # a relative --cache-dir is relative to the working directory, like any command-line path
    proc = subprocess.run([sys.executable, "-m", "qualscan", "scan", "repo", "-f", "json", "--cache-dir", "rel-cache"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any((tmp_path / "rel-cache").rglob("*.json"))
    assert not any("cache" in d["message"] for d in json.loads(proc.stdout)["diagnostics"])


def test_jobs_from_a_hostile_config_is_bounded(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    assert pipeline._jobs(Config(jobs=100_000)) == pipeline.MAX_JOBS_PER_CORE * cores
    assert pipeline._jobs(Config(jobs=1)) == 1
    assert pipeline._jobs(Config()) == cores
    build(tmp_path)
    for i in range(40):
        (tmp_path / f"services/cart/app/m{i}.py").write_text(f"V = {i}\n")
    (tmp_path / "qualscan.toml").write_text("jobs = 100000\n")
    proc = qs("scan", str(tmp_path), "-f", "json", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert ("QS101", GOOD_PATH, 5) in {(f["rule"], f["file"], f["line"]) for f in json.loads(proc.stdout)["findings"]}


def test_coverage_files_outside_the_root_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    build(root)
    secret = tmp_path / "coverage.xml"
    secret.write_text('<?xml version="1.0"?><coverage><sources><source>SECRET-OUTSIDE</source></sources></coverage>')
    (root / "qualscan.toml").write_text(f'[metrics]\ncoverage_files = ["{secret}", "../coverage.xml", "ok/../../coverage.xml"]\n')
    proc = qs("scan", str(root), "-f", "json", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    refused = sorted(d["file"] for d in data["diagnostics"] if "outside the scanned root" in d["message"])
    assert refused == sorted([str(secret), "../coverage.xml", "ok/../../coverage.xml"])
    assert "SECRET-OUTSIDE" not in proc.stdout


def test_cache_directory_symlinked_out_of_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    build(root)
    outside.mkdir()
    os.symlink(outside, root / ".qualscan_cache")
    result = scan_path(root, Config(jobs=1))
    assert "cache directory resolves outside the scanned root (symbolic link?); cache disabled" in [
        d.message for d in result.diagnostics if d.file == ".qualscan_cache"
    ]
    assert list(outside.iterdir()) == []
    assert ("QS101", GOOD_PATH, 5) in {(f.rule, f.file, f.line) for f in result.findings}


def test_cache_shard_symlinked_out_of_the_cache(tmp_path: Path) -> None:
    """Every two-hex-digit shard of the cache a symbolic link out: nothing is written through them."""
    root, outside = tmp_path / "repo", tmp_path / "outside"
    build(root)
    outside.mkdir()
    cache = root / ".qualscan_cache"
    cache.mkdir()
    for i in range(256):
        os.symlink(outside, cache / f"{i:02x}")
    for _ in range(2):  # the second run would read the planted entries back
        result = scan_path(root, Config(jobs=1))
        assert ("QS101", GOOD_PATH, 5) in {(f.rule, f.file, f.line) for f in result.findings}
    assert list(outside.iterdir()) == []
