"""The stored ``git log`` (discovery.git_log's memo, kept by engine/cache.py; issue #8): the whole
text is reused while HEAD and everything else it depends on stay; on a new HEAD only the commits
not seen before are logged. Whatever the path, the text is byte for byte what ``git log`` prints
now. Real repositories and real commits; git runs through a logging wrapper on PATH (the real git
does the work) so that the tests see which git commands ran."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from test_metrics_history import Repo

from qualscan.config import Config
from qualscan.discovery import git_log, history_since
from qualscan.engine.cache import HISTORY_DIR, Cache
from qualscan.engine.pipeline import scan_path
from qualscan.metrics import GIT_LOG_ARGS
from qualscan.reporters import json_report

REAL_GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(REAL_GIT is None, reason="git not installed")


class GitSpy:
    """Every git command line qualscan runs, and what it fed to ``--stdin``."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.log = folder / "calls.log"
        self.stdin = folder / "stdin.log"
        script = folder / "git"
        script.write_text(
            "#!/bin/sh\n"
            f'printf "%s\\n" "$*" >> "{self.log}"\n'
            'case " $* " in *" --stdin "*) '
            f'tee -a "{self.stdin}" | "{REAL_GIT}" "$@"; exit $? ;; esac\n'
            f'exec "{REAL_GIT}" "$@"\n'
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        self.folder = folder

    def reset(self) -> None:
        for f in (self.log, self.stdin):
            f.unlink(missing_ok=True)

    def calls(self, word: str) -> list[str]:
        text = self.log.read_text() if self.log.exists() else ""
        return [line for line in text.splitlines() if f" {word} " in f" {line} "]

    def fed(self) -> list[str]:
        return self.stdin.read_text().split() if self.stdin.exists() else []


@pytest.fixture
def spy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitSpy:
    s = GitSpy(tmp_path / "spy")
    monkeypatch.setenv("PATH", f"{s.folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return s


def _repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "shop")
    repo.commit({"services/cart/cart.py": "def add(x):\n    return x\n", "services/cart/requirements.txt": ""})
    repo.commit({"services/cart/cart.py": "def add(x):\n    return x + 1\n"}, author="Bob <bob@example.com>")
    repo.commit({"services/pay/pay.py": "def pay():\n    return 1\n", "services/pay/requirements.txt": ""})
    return repo


def _fresh(root: Path, **kw: object) -> str | None:
    return git_log(root, GIT_LOG_ARGS, 365, **kw)[0]  # type: ignore[arg-type]


def numstat_logs(spy: GitSpy) -> list[str]:
    return [c for c in spy.calls("log") if "--numstat" in c]


def test_same_head_reuses_the_whole_text(tmp_path: Path, spy: GitSpy) -> None:
    repo = _repo(tmp_path)
    memo = Cache(tmp_path / "cache", Config())
    first = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert len(numstat_logs(spy)) == 1
    (repo.root / "services/cart/cart.py").write_text("def add(x):\n    return x + 2\n")  # uncommitted edit
    spy.reset()
    second = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert numstat_logs(spy) == [] and spy.calls("rev-list") == []
    assert second == first == git_log(repo.root, GIT_LOG_ARGS, 365)
    assert first[0] is not None and first[0].count("\x1e") == 3


def test_a_new_commit_logs_only_that_commit(tmp_path: Path, spy: GitSpy) -> None:
    repo = _repo(tmp_path)
    memo = Cache(tmp_path / "cache", Config())
    before = _fresh(repo.root, memo=memo)
    repo.commit({"services/pay/pay.py": "def pay():\n    return 2\n"}, author="Cy <cy@example.com>")
    head = repo.git("rev-parse", "HEAD").strip()
    spy.reset()
    after = _fresh(repo.root, memo=memo)
    assert [("--no-walk=unsorted" in c and "--stdin" in c) for c in numstat_logs(spy)] == [True]
    assert spy.fed() == [head]
    assert after == _fresh(repo.root)
    assert after is not None and before is not None and after.count("\x1e") == before.count("\x1e") + 1
    assert "cy@example.com" in after


def test_merges_and_branches_in_date_order_equal_the_whole_log(tmp_path: Path, spy: GitSpy) -> None:
    """A pull request merged the way CI checks it out (a merge commit), with commits interleaved
    in time with main's, a rename, a binary file, a mode change and a commit outside the scanned
    directory: the assembled text equals git's at every step."""
    repo = _repo(tmp_path)
    memo = Cache(tmp_path / "cache", Config())
    sub = repo.root / "services"
    assert _fresh(repo.root, memo=memo) == _fresh(repo.root)
    assert _fresh(sub, memo=memo) == _fresh(sub)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"services/cart/discount.py": "RATE = 1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"services/pay/pay.py": "def pay():\n    return 3\n"}, author="Bob <bob@example.com>")
    repo.git("checkout", "-q", "feature")
    repo.commit({"services/cart/discount.py": "RATE = 2\n", "docs/notes.md": "outside services/\n"})
    (repo.root / "services/cart/logo.bin").write_bytes(bytes(range(256)) * 4)
    repo.commit({})
    repo.git("mv", "services/cart/discount.py", "services/cart/rates.py")
    repo.commit({})
    (repo.root / "services/pay/pay.py").chmod(0o755)
    repo.commit({})
    repo.git("checkout", "-q", "main")
    repo.commit({"services/pay/pay.py": "def pay():\n    return 4\n"})
    repo.n += 1
    repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    for root in (repo.root, sub):
        spy.reset()
        assembled = _fresh(root, memo=memo)
        assert assembled == _fresh(root)
        assert spy.calls("rev-list"), "the new HEAD went through the commit entries"
    text = _fresh(repo.root)
    assert text is not None and text.count("\x1e") == 3 + 7  # the merge commit itself is not listed


def test_the_window_the_directory_and_the_mailmap_are_part_of_the_key(tmp_path: Path, spy: GitSpy) -> None:
    repo = _repo(tmp_path)
    memo = Cache(tmp_path / "cache", Config())
    today = dt.date.today()
    _fresh(repo.root, memo=memo, today=today)
    # a window that starts after the last commit (Repo dates its commits ~100 days ago)
    assert _fresh(repo.root, memo=memo, today=today + dt.timedelta(days=400)) == ""
    later = git_log(repo.root, GIT_LOG_ARGS, 30, memo=memo, today=today + dt.timedelta(days=200))[0]
    assert later == ""
    sub = repo.root / "services" / "pay"
    text = _fresh(sub, memo=memo, today=today)
    assert text is not None and "cart.py" not in text and "pay.py" in text  # --relative: paths inside the directory
    assert text == _fresh(sub, today=today)
    plain = _fresh(repo.root, memo=memo)
    (repo.root / ".mailmap").write_text("Robert <robert@example.com> Bob <bob@example.com>\n")  # uncommitted
    mapped = _fresh(repo.root, memo=memo)
    assert plain is not None and "bob@example.com" in plain
    assert mapped is not None and "robert@example.com" in mapped and "bob@example.com" not in mapped
    assert mapped == _fresh(repo.root)


def test_a_tampered_stored_text_is_rejected(tmp_path: Path, spy: GitSpy) -> None:
    repo = _repo(tmp_path)
    memo = Cache(tmp_path / "cache", Config())
    truth = _fresh(repo.root, memo=memo)
    for stored in (tmp_path / "cache" / HISTORY_DIR).glob("*.json"):
        head, _, body = stored.read_bytes().partition(b"\n")
        stored.write_bytes(head + b"\n" + body.replace(b"ann@example.com", b"eve@example.com"))
        assert json.loads(head)["key"] == stored.stem
    spy.reset()
    assert _fresh(repo.root, memo=memo) == truth
    assert memo.rejected == 2 and len(numstat_logs(spy)) == 1


def test_unreadable_entries_fall_back_to_the_whole_log(tmp_path: Path, spy: GitSpy) -> None:
    repo = _repo(tmp_path)
    memo = Cache(tmp_path / "cache", Config())
    _fresh(repo.root, memo=memo)
    # entries that are not git's (validly stored, so only their content can give them away)
    for stored in (tmp_path / "cache" / HISTORY_DIR).glob("*.json"):
        key = stored.stem
        memo.put_history(key, "not a log\x1e\x1fgarbage")
    repo.commit({"services/pay/pay.py": "def pay():\n    return 9\n"})
    spy.reset()
    assert _fresh(repo.root, memo=memo) == _fresh(repo.root)


def test_window_starts_at_midnight_utc() -> None:
    assert history_since(365, dt.date(2026, 11, 26)) == "2025-11-26 00:00:00 +0000"
    assert history_since(0, dt.date(2026, 1, 1)) == "2026-01-01 00:00:00 +0000"


def test_scan_reports_equal_with_and_without_the_stored_history(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for _ in range(3):
        repo.commit({"services/cart/cart.py": f"def add(x):\n    return x + {repo.n}\n"})
    cached = Config(cache_dir=str(tmp_path / "c"))
    first = json_report.render(scan_path(repo.root, cached))
    assert list((tmp_path / "c" / HISTORY_DIR).glob("*.json"))
    second = json_report.render(scan_path(repo.root, cached))
    repo.commit({"services/pay/pay.py": "def pay():\n    return 5\n"})
    third = json_report.render(scan_path(repo.root, cached))
    assert first == second
    assert third == json_report.render(scan_path(repo.root, Config(use_cache=False)))
    assert json.loads(third)["metrics"]["history"]["commits"] == 7
