"""Issue #9, the cache: written only under the root (or the directory given on the command line),
never through a symbolic link, and never trusted when it arrives with the repository.

Cache entry keys and checksums are computable by anyone, so a pull request that commits
``.qualscan_cache`` entries replaying "no findings" would hide a finding from the gate. A cache
directory that git tracks is therefore never read (shown here with a real forged entry).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _cache_support import forge as forge_entry

from qualscan.config import Config
from qualscan.engine.pipeline import scan_path

REPO = Path(__file__).resolve().parents[1]
GOOD_PATH = "services/cart/app/client.py"


def build(root: Path) -> None:
    (root / "services/cart/app").mkdir(parents=True)
    (root / "services/cart/pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (root / GOOD_PATH).write_text("import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n")
    (root / "coverage.xml").write_text("<coverage><packages")  # exercises the coverage readers too
    (root / ".coverage").write_bytes(b"SQLite format 3\x00" + bytes(200))  # and their temporary copy


def found(result: object) -> set[tuple[str, str, int]]:
    return {(f.rule, f.file, f.line) for f in result.findings}  # type: ignore[attr-defined]


def forge(cache: Path) -> int:
    """Rewrite the cached outcome of client.py to 'no hits', with a valid key and checksum (the
    checksum is a CRC anyone can recompute), and every stored report to an empty one."""
    forge_entry(cache, GOOD_PATH, hits=[])
    for stored in (cache / "results").glob("*.json"):
        header = json.loads(stored.read_bytes().partition(b"\n")[0])
        body = b'{"findings": []}\n'
        header["check"] = hashlib.sha256(body).hexdigest()
        stored.write_bytes(json.dumps(header).encode() + b"\n" + body)
    return 1


def git(cwd: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@e.x", GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@e.x")
    subprocess.run(["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_forged_entries_would_hide_a_finding_from_an_untracked_cache(tmp_path: Path) -> None:
    """The premise: the checksum is integrity against corruption, not authenticity."""
    build(tmp_path)
    assert ("QS101", GOOD_PATH, 5) in found(scan_path(tmp_path, Config(jobs=1)))
    assert forge(tmp_path / ".qualscan_cache") == 1
    assert ("QS101", GOOD_PATH, 5) not in found(scan_path(tmp_path, Config(jobs=1)))


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_cache_committed_to_the_repository_is_never_read(tmp_path: Path) -> None:
    build(tmp_path)
    git(tmp_path, "init", "-q")
    scan_path(tmp_path, Config(jobs=1))
    assert forge(tmp_path / ".qualscan_cache") == 1
    git(tmp_path, "add", "-A")
    git(tmp_path, "add", "-f", ".qualscan_cache")  # past the cache's own .gitignore, as an attacker would
    git(tmp_path, "commit", "-q", "-m", "planted cache")
    result = scan_path(tmp_path, Config(jobs=1))
    assert ("QS101", GOOD_PATH, 5) in found(result)
    assert [d.file for d in result.diagnostics if "tracked by git" in d.message] == [".qualscan_cache"]
    # the same through a symbolic link to a tracked directory inside the root
    os.rename(tmp_path / ".qualscan_cache", tmp_path / "docs-cache")
    git(tmp_path, "add", "-A")
    git(tmp_path, "add", "-f", "docs-cache")
    git(tmp_path, "commit", "-q", "-m", "moved")
    os.symlink("docs-cache", tmp_path / ".qualscan_cache")
    result = scan_path(tmp_path, Config(jobs=1))
    assert ("QS101", GOOD_PATH, 5) in found(result)
    assert [d.file for d in result.diagnostics if "tracked by git" in d.message] == ["docs-cache"]


def test_a_scan_writes_only_under_the_root(tmp_path: Path) -> None:
    """HOME, TMPDIR and the working directory stay empty; the only new files are the cache's."""
    root, home, tmp, cwd = (tmp_path / d for d in ("repo", "home", "tmp", "cwd"))
    build(root)
    for d in (home, tmp, cwd):
        d.mkdir()
    before = {p for p in root.rglob("*")}
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp), XDG_CACHE_HOME=str(home / ".cache"))
    proc = subprocess.run([sys.executable, "-m", "qualscan", "scan", str(root), "-f", "json"],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [list(d.iterdir()) for d in (home, tmp, cwd)] == [[], [], []]
    new = {p.relative_to(root).parts[0] for p in set(root.rglob("*")) - before}
    assert new == {".qualscan_cache"}
