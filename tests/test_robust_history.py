"""Issue #9, bad coverage data and git histories: corrupt ``.coverage`` (SQLite) files, random bytes,
malformed / entity-bomb / XXE Cobertura XML, garbage LCOV; shallow clones, missing objects, a broken
HEAD, a ``.git`` file pointing nowhere, an empty repository, no git installed at all.

Real coverage files and real git repositories with real commits, built in temporary directories.
Each case is a diagnostic naming the file (or ``.`` for the repository) and the reason; the scan
completes and the good file is still analysed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from qualscan.config import Config
from qualscan.engine.pipeline import scan_path
from qualscan.model import ScanResult
from qualscan.reporters import json_report

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
CONFIG = Config(use_cache=False, jobs=1)
GOOD = "import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n"
GOOD_PATH = "services/cart/app/client.py"
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


def build(root: Path) -> None:
    (root / "services/cart/app").mkdir(parents=True, exist_ok=True)
    (root / "services/cart/pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (root / GOOD_PATH).write_text(GOOD)


def assert_good(result: ScanResult) -> None:
    assert {(f.rule, f.file, f.line) for f in result.findings if f.file == GOOD_PATH} == {("QS101", GOOD_PATH, 5)}
    report = json.loads(json_report.render(result))
    jsonschema.validate(report, SCHEMA)
    text = json.dumps(report)
    assert "/tmp/" not in text and str(Path.home()) + "/" not in text  # no absolute paths leak


def diag(result: ScanResult, file: str, needle: str) -> None:
    hits = [d for d in result.diagnostics if d.file == file and needle in d.message]
    assert hits, [(d.file, d.message) for d in result.diagnostics]


# --- coverage ------------------------------------------------------------------------------------

LOL = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
XML_BOMB = f'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY l0 "lol">{LOL}]>\n<coverage><sources><source>&l9;</source></sources></coverage>\n'
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<coverage><sources><source>&xxe;</source></sources><packages/></coverage>\n"
)


def _corrupt_sqlite(tmp: Path) -> bytes:
    """A real coverage.py-shaped SQLite file with its pages scrambled after the header."""
    db = tmp / "real.sqlite"
    con = sqlite3.connect(db)
    con.execute("create table meta (key text, value text)")
    con.execute("create table file (id integer primary key, path text)")
    con.executemany("insert into file(path) values (?)", [(f"/src/f{i}.py",) for i in range(200)])
    con.commit()
    con.close()
    data = bytearray(db.read_bytes())
    for i in range(120, len(data), 7):
        data[i] = (data[i] * 31 + 17) % 256
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        (".coverage", b"SQLite format 3\x00" + bytes(range(256)) * 20, "cannot read coverage.py data"),
        (".coverage", "scrambled", "cannot read coverage.py data"),
        (".coverage", bytes(range(7, 256)) * 10, "unrecognised coverage data"),
        (".coverage", b"!coverage.py: This is a private format, don't read it directly!{}", "before 5.0"),
        ("coverage.xml", b'<?xml version="1.0"?><coverage><packages><package', "malformed Cobertura XML"),
        ("coverage.xml", XML_BOMB.encode(), "malformed Cobertura XML"),
        ("coverage.xml", XXE.encode(), "malformed Cobertura XML"),
        ("coverage.xml", b"\x00\x01binary", "malformed Cobertura XML"),
    ],
    ids=["sqlite-garbage", "sqlite-scrambled", "random-bytes", "pre-5.0-json", "xml-truncated", "xml-entity-bomb", "xml-xxe", "xml-binary"],
)
def test_corrupt_coverage_data(tmp_path: Path, name: str, content: bytes | str, needle: str) -> None:
    root = tmp_path / "repo"
    build(root)
    data = _corrupt_sqlite(tmp_path) if content == "scrambled" else content
    assert isinstance(data, bytes)
    (root / name).write_bytes(data)
    result = scan_path(root, CONFIG)
    diag(result, name, needle)
    assert "root:x:0:0" not in json_report.render(result)  # XXE never resolved
    assert_good(result)


def test_garbage_lcov_and_absurd_hit_counts(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "lcov.info").write_bytes(
        b"SF:\x00\xff\nDA:abc,def\nDA:1\nend_of_record\n"
        b"SF:services/cart/app/client.py\nDA:-5,99999999999999999999999\nDA:5,1\nend_of_record\n"
    )
    result = scan_path(tmp_path, CONFIG)
    assert_good(result)


def test_deeply_nested_coverage_xml(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "coverage.xml").write_bytes(b"<coverage>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</coverage>")
    result = scan_path(tmp_path, CONFIG)
    assert_good(result)


def test_coverage_file_named_in_config_that_does_not_exist(tmp_path: Path) -> None:
    build(tmp_path)
    config = Config(use_cache=False, jobs=1, metrics={"coverage_files": ["reports/missing.xml"]})
    result = scan_path(tmp_path, config)
    diag(result, "reports/missing.xml", "vanished")
    assert_good(result)


# --- git ----------------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="T",
               GIT_COMMITTER_EMAIL="t@example.com")
    proc = subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, check=True)
    return proc.stdout.strip()


def make_repo(root: Path, commits: int = 3) -> None:
    build(root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    for i in range(commits - 1):
        (root / "services/cart/app/other.py").write_text(f"VALUE = {i}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"change {i}")


@needs_git
def test_history_is_read_from_a_healthy_repository(tmp_path: Path) -> None:
    make_repo(tmp_path)
    result = scan_path(tmp_path, CONFIG)
    assert not [d for d in result.diagnostics if d.file == "."]
    files = {f["path"]: f for f in result.metrics["files"]}
    assert files["services/cart/app/other.py"]["commits"] == 2
    assert_good(result)


@needs_git
def test_shallow_clone(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    make_repo(origin)
    git(tmp_path, "clone", "-q", "--depth", "1", origin.as_uri(), "shallow")
    result = scan_path(tmp_path / "shallow", CONFIG)
    diag(result, ".", "shallow clone")
    assert_good(result)


@needs_git
def test_missing_objects(tmp_path: Path) -> None:
    make_repo(tmp_path)
    sha = git(tmp_path, "rev-parse", "HEAD~1")
    (tmp_path / ".git/objects" / sha[:2] / sha[2:]).unlink()
    result = scan_path(tmp_path, CONFIG)
    diag(result, ".", "git log failed")
    assert_good(result)


@needs_git
def test_broken_head_and_dangling_gitdir(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_repo(a)
    (a / ".git/HEAD").write_text("garbage\n")
    build(b)
    (b / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    for root in (a, b):
        result = scan_path(root, CONFIG)
        diag(result, ".", "not a git repository")
        assert_good(result)


@needs_git
def test_repository_without_commits(tmp_path: Path) -> None:
    build(tmp_path)
    git(tmp_path, "init", "-q")
    result = scan_path(tmp_path, CONFIG)
    diag(result, ".", "no commits yet")
    assert_good(result)


@needs_git
def test_hostile_git_config_runs_nothing(tmp_path: Path) -> None:
    """A scanned repository's .git/config naming commands (fsmonitor, textconv, pager, hooks, aliases)."""
    root = tmp_path / "repo"
    make_repo(root)
    marker = tmp_path / "ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}-{hook}\n")
        (hooks / hook).chmod(0o755)
    (root / ".gitattributes").write_text("*.py diff=evil\n")
    (root / "services/cart/app/other.py").write_text("VALUE = 'changed'\n")
    git(root, "-c", "core.hooksPath=/dev/null", "add", "-A")
    git(root, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "attrs")
    for key, value in [
        ("core.fsmonitor", f"touch {marker}-fsmonitor; false"),
        ("diff.evil.textconv", f"sh -c 'touch {marker}-textconv; cat \"$0\"'"),
        ("diff.external", f"touch {marker}-external"),
        ("core.pager", f"touch {marker}-pager"),
        ("core.hooksPath", str(hooks)),
        ("alias.log", f"!touch {marker}-alias"),
    ]:
        git(root, "config", key, value)
    (root / "services/cart/app/other.py").write_text("VALUE = 'dirty worktree'\n")  # index refresh bait
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(root), "-f", "json", "--no-cache"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ran")) == []
    # the gate's diff against a base runs `git diff` on the work tree: no textconv, no external diff either
    gate = subprocess.run(
        [sys.executable, "-m", "qualscan", "check", str(root), "-f", "json", "--no-cache", "--diff-base", "HEAD~1"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert gate.returncode in (0, 1), gate.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ran")) == []
    data = json.loads(proc.stdout)
    files = {f["path"]: f for f in data["metrics"]["files"]}
    assert files["services/cart/app/other.py"]["commits"] >= 2  # the history was still read


def test_no_git_installed(tmp_path: Path) -> None:
    build(tmp_path)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = dict(os.environ, PATH=str(empty_bin))
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(tmp_path / "services"), "-f", "json", "--no-cache"],
        capture_output=True, text=True, timeout=300, cwd=REPO, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    assert any(d["file"] == "." and "git is not installed" in d["message"] for d in data["diagnostics"])
    assert ("QS101", "cart/app/client.py", 5) in {(f["rule"], f["file"], f["line"]) for f in data["findings"]}
