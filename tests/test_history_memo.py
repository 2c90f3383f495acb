"""The stored ``git log`` text (discovery.git_log's memo, kept by engine/cache.py; issue #8): reused
only while everything the text depends on is unchanged -- HEAD, the window, the scanned directory,
the mailmap -- and always equal to what git prints now. Real repositories, real commits."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from qualscan.config import Config
from qualscan.discovery import git_log, history_since
from qualscan.engine.cache import HISTORY_DIR, Cache
from qualscan.engine.pipeline import scan_path
from qualscan.metrics import GIT_LOG_ARGS
from qualscan.reporters import json_report
from tests.test_metrics_history import Repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


class CountingMemo:
    """A real Cache, with the lookups counted."""

    def __init__(self, directory: Path) -> None:
        self.cache = Cache(directory, Config())
        self.hits = 0
        self.stores = 0

    def get_history(self, key: str) -> str | None:
        text = self.cache.get_history(key)
        self.hits += text is not None
        return text

    def put_history(self, key: str, text: str) -> None:
        self.stores += 1
        self.cache.put_history(key, text)


def _repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "shop")
    repo.commit({"services/cart/cart.py": "def add(x):\n    return x\n", "services/cart/requirements.txt": ""})
    repo.commit({"services/cart/cart.py": "def add(x):\n    return x + 1\n"}, author="Bob <bob@example.com>")
    repo.commit({"services/pay/pay.py": "def pay():\n    return 1\n", "services/pay/requirements.txt": ""})
    return repo


def test_same_head_reuses_the_text_and_it_equals_a_fresh_log(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    memo = CountingMemo(tmp_path / "cache")
    first = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert memo.stores == 1 and memo.hits == 0
    (repo.root / "services/cart/cart.py").write_text("def add(x):\n    return x + 2\n")  # uncommitted edit
    second = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert memo.hits == 1 and memo.stores == 1
    assert second == first == git_log(repo.root, GIT_LOG_ARGS, 365)
    assert first[0] is not None and first[0].count("\x1e") == 3


def test_a_new_commit_changes_the_key(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    memo = CountingMemo(tmp_path / "cache")
    before, _ = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    repo.commit({"services/pay/pay.py": "def pay():\n    return 2\n"}, author="Cy <cy@example.com>")
    after, _ = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert memo.hits == 0 and memo.stores == 2
    assert after == git_log(repo.root, GIT_LOG_ARGS, 365)[0]
    assert after is not None and before is not None and after.count("\x1e") == before.count("\x1e") + 1
    assert "cy@example.com" in after


def test_the_window_and_the_scanned_directory_change_the_key(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    memo = CountingMemo(tmp_path / "cache")
    today = dt.date.today()
    git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo, today=today)
    git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo, today=today + dt.timedelta(days=1))
    assert memo.hits == 0 and memo.stores == 2
    # a window that starts after the last commit (Repo dates its commits ~100 days ago)
    later, _ = git_log(repo.root, GIT_LOG_ARGS, 30, memo=memo, today=today + dt.timedelta(days=200))
    assert later == ""
    sub, _ = git_log(repo.root / "services" / "pay", GIT_LOG_ARGS, 365, memo=memo, today=today)
    assert memo.hits == 0
    assert sub is not None and "cart.py" not in sub and "pay.py" in sub  # --relative: paths inside the directory
    assert sub == git_log(repo.root / "services" / "pay", GIT_LOG_ARGS, 365, today=today)[0]


def test_an_uncommitted_mailmap_change_is_seen(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    memo = CountingMemo(tmp_path / "cache")
    plain, _ = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    (repo.root / ".mailmap").write_text("Robert <robert@example.com> Bob <bob@example.com>\n")
    mapped, _ = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert memo.hits == 0
    assert plain is not None and "bob@example.com" in plain
    assert mapped is not None and "robert@example.com" in mapped and "bob@example.com" not in mapped
    assert mapped == git_log(repo.root, GIT_LOG_ARGS, 365)[0]


def test_a_tampered_stored_text_is_rejected_and_logged_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    memo = CountingMemo(tmp_path / "cache")
    truth, _ = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    stored = next((tmp_path / "cache" / HISTORY_DIR).glob("*.json"))
    head, _, body = stored.read_bytes().partition(b"\n")
    stored.write_bytes(head + b"\n" + body.replace(b"ann@example.com", b"eve@example.com"))
    again, _ = git_log(repo.root, GIT_LOG_ARGS, 365, memo=memo)
    assert again == truth and memo.hits == 0 and memo.cache.rejected == 1
    assert json.loads(head)["key"] == stored.stem


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
    fresh = json_report.render(scan_path(repo.root, Config(use_cache=False)))
    assert first == second == fresh
    assert json.loads(fresh)["metrics"]["history"]["commits"] == 6
