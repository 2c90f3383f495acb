"""Sharded scans (``scan --shard i/n``) merged with ``qualscan merge`` equal one full scan.

Everything runs for real: the fixture monorepo is copied into a temporary git repository with real
commits (so churn is computed from real history), the command line is called as a user calls it,
and the reports are compared as JSON documents.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from qualscan.cli import main
from qualscan.config import Config
from qualscan.discovery import build_inventory
from qualscan.engine.registry import all_rules
from qualscan.engine.shard import ShardError, ShardSpec, parse_shard, partition, unit_of
from qualscan.model import FileKind

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "fixtures" / "shop"


def _git(root: Path, *args: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_AUTHOR_DATE": "2026-11-01T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-11-01T10:00:00+00:00",
    }
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=root, check=True, capture_output=True, env=env)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/shop in a git repository with two commits (the second touches two services)."""
    root = tmp_path_factory.mktemp("shard") / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".qualscan_cache", "__pycache__"))
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "initial")
    for rel in ("services/checkout/app/pricing.py", "services/payment/app/provider.py"):
        f = root / rel
        if f.exists():
            f.write_text(f.read_text() + "\n\ndef added_later(x):\n    return x + 1\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "second")
    return root


def run(*args: str) -> int:
    return main([*args])


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def python_files(root: Path) -> set[str]:
    from qualscan.discovery import discover

    return {f.path for f in discover(root, Config()).files if f.kind is FileKind.PYTHON}


def shard_reports(root: Path, out: Path, n: int, *extra: str) -> list[Path]:
    paths = []
    for i in range(1, n + 1):
        p = out / f"shard-{i}-of-{n}.json"
        assert run("scan", str(root), "--shard", f"{i}/{n}", "-f", "json", "-o", str(p), *extra) == 0
        paths.append(p)
    return paths


# --- the whole equals the merged parts ------------------------------------------------------------


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def full(shop: Path, out: Path) -> Path:
    """One full scan of the shop (no cache): the reference every merge is compared with."""
    path = out / "full.json"
    assert run("scan", str(shop), "--no-cache", "-f", "json", "-o", str(path)) == 0
    return path


@pytest.fixture(scope="module")
def shards(shop: Path, out: Path) -> Callable[[int], list[Path]]:
    """Shard reports of the shop split n ways, computed once per n."""
    made: dict[int, list[Path]] = {}

    def get(n: int) -> list[Path]:
        if n not in made:
            d = out / f"n{n}"
            d.mkdir()
            made[n] = shard_reports(shop, d, n, "--no-cache")
        return made[n]

    return get


@pytest.mark.parametrize("n", [1, 3, 20])
def test_merged_shards_equal_a_full_scan(
    shop: Path, full: Path, shards: Callable[[int], list[Path]], tmp_path: Path, n: int
) -> None:
    reports = shards(n)
    merged = tmp_path / "merged.json"
    assert run("merge", *map(str, reports), "--root", str(shop), "-o", str(merged)) == 0

    whole, joined = load(full), load(merged)
    assert "shard" not in joined and "shard" not in whole
    assert joined == whole
    # byte-identical too: the JSON report is deterministic
    assert merged.read_text() == full.read_text()
    # findings with file, line, code and fingerprint; metrics (churn from the real git history); ranking
    key = lambda d: sorted((f["file"], f["line"], f["rule"], f["fingerprint"]) for f in d["findings"])  # noqa: E731
    assert key(joined) == key(whole)
    assert joined["metrics"] == whole["metrics"] and joined["weak_points"] == whole["weak_points"]

    # the shards split the Python files: disjoint, and together every file exactly once
    sections = [load(p)["shard"] for p in reports]
    assert [s["index"] for s in sections] == list(range(1, n + 1))
    assert all(s["count"] == n for s in sections)
    covered = [f for s in sections for f in s["files"]]
    assert len(covered) == len(set(covered))
    assert set(covered) == python_files(shop)
    assert {o["path"] for s in sections for o in s["outcomes"].values()} == set(covered)
    units = [u for s in sections for u in s["units"]]
    assert len(units) == len(set(units))
    assert {"checkout", "payment", "gateway", "lib:shopcommon"} <= set(units)
    if n == 20:  # more shards than units: some shards are empty, and that is fine
        assert any(not s["files"] for s in sections)
    # a shard report is still a valid JSON report (contract v1: the shard section is an extra key)
    schema = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
    for p in reports[:2]:
        jsonschema.validate(load(p), schema)


def test_shards_with_the_disk_cache_record_cached_outcomes_too(shop: Path, full: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = shard_reports(shop, tmp_path / "a", 2, "--cache-dir", str(cache))
    assert (cache / "outcomes-v3.pack").is_file()  # engine/cache.py's one-file store
    second = shard_reports(shop, tmp_path / "b", 2, "--cache-dir", str(cache))
    for a, b in zip(first, second):
        assert load(a)["shard"] == load(b)["shard"]  # warm shard: same outcomes, served by the cache
    merged = tmp_path / "merged.json"
    assert run("merge", *map(str, second), "--root", str(shop), "-o", str(merged)) == 0
    assert merged.read_text() == full.read_text()


def test_a_file_changed_after_the_shards_is_analysed_by_the_merge(
    shop: Path, shards: Callable[[int], list[Path]], tmp_path: Path
) -> None:
    root = tmp_path / "shop"  # same root name as the scanned one
    shutil.copytree(shop, root)
    changed = "services/order/app/main.py"
    (root / changed).write_text((root / changed).read_text() + "\n\ndef extra():\n    return 1\n")
    merged, whole_path = tmp_path / "merged.json", tmp_path / "full.json"
    assert run("merge", *map(str, shards(3)), "--root", str(root), "-o", str(merged)) == 0
    assert run("scan", str(root), "--no-cache", "-f", "json", "-o", str(whole_path)) == 0
    joined, whole = load(merged), load(whole_path)
    warn = [d for d in joined["diagnostics"] if d["level"] == "warning" and "analysed during the merge" in d["message"]]
    assert len(warn) == 1 and warn[0]["file"] == "." and warn[0]["line"] == 0
    assert warn[0]["message"].startswith("1 Python file(s)") and changed in warn[0]["message"]
    joined["diagnostics"].remove(warn[0])
    joined["summary"]["diagnostics"] -= 1
    assert joined == whole


# --- refusals: exit 2 with one clear line ------------------------------------------------------------


def test_merge_refuses_incomplete_duplicated_mixed_or_foreign_reports(
    shop: Path, full: Path, shards: Callable[[int], list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    three, two = shards(3), shards(1) + shards(3)[1:2]
    cases: list[tuple[list[Path], str]] = [
        ([three[0], three[2]], "missing shard(s) 2/3"),
        ([three[0], three[1], three[1], three[2]], "shard 2/3 given twice"),
        (two, "different splits"),
        ([full], "is not a shard report"),
    ]
    codes = [r.code for r in all_rules()]
    if codes:  # a shard run with another rule selection cannot be merged with this configuration
        other = shard_reports(shop, tmp_path, 1, "--no-cache", "--ignore", codes[0])
        cases.append((other, "other settings"))
    capsys.readouterr()
    for reports, needle in cases:
        assert run("merge", *map(str, reports), "--root", str(shop), "-o", str(tmp_path / "x.json")) == 2
        err = capsys.readouterr().err
        assert needle in err, (needle, err)
        assert "Traceback" not in err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--shard", "0/3", "-f", "json"], "--shard must be i/n"),
        (["--shard", "4/3", "-f", "json"], "--shard must be i/n"),
        (["--shard", "two", "-f", "json"], "--shard must be i/n"),
        (["--shard", "1/3"], "use --format json"),
        (["--shard", "1/3", "-f", "sarif"], "use --format json"),
    ],
)
def test_bad_shard_arguments_are_usage_errors(
    shop: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("scan", str(shop), "--no-cache", *args) == 2
    assert needle in capsys.readouterr().err


# --- the partition (pure) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [("1/1", ShardSpec(1, 1)), ("2/5", ShardSpec(2, 5)), (" 3 / 3 ", ShardSpec(3, 3))],
)
def test_parse_shard(text: str, spec: ShardSpec) -> None:
    assert parse_shard(text) == spec
    assert str(spec) == f"{spec.index}/{spec.count}"


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "1/0", "-1/2", "a/b", "1/2/3"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(ShardError):
        parse_shard(text)


def test_partition_is_balanced_longest_first_and_keeps_units_whole() -> None:
    entries = [
        ("services/big/pyproject.toml", 10),
        ("services/big/app/a.py", 9000),
        ("services/big/app/b.py", 1000),
        ("services/mid/pyproject.toml", 10),
        ("services/mid/app/a.py", 6000),
        ("services/small/pyproject.toml", 10),
        ("services/small/app/a.py", 3000),
        ("services/tiny/pyproject.toml", 10),
        ("services/tiny/app/a.py", 2500),
        ("libs/common/pyproject.toml", 10),
        ("libs/common/common/x.py", 500),
        ("tools/gen.py", 400),
        ("setup.py", 100),
        ("k8s/big.yaml", 99999),  # not Python: no weight
    ]
    inv = build_inventory(entries, Config(), root_name="mono")
    by_path = inv.by_path()
    assert unit_of(by_path["services/big/app/a.py"]) == "big"
    assert unit_of(by_path["libs/common/common/x.py"]) == "lib:common"
    assert unit_of(by_path["tools/gen.py"]) == "dir:tools"
    assert unit_of(by_path["setup.py"]) == "dir:"
    # longest first, each unit to the least loaded shard (ties: lower index)
    assign = partition(inv, 2)
    assert assign == {
        "big": 1,  # 10000
        "mid": 2,  # 6000
        "small": 2,  # 3000 -> shard 2 at 9000
        "tiny": 2,  # 2500 -> shard 2 at 11500 (9000 < 10000)
        "lib:common": 1,  # 500 -> shard 1 at 10500
        "dir:tools": 1,  # 400 -> shard 1 at 10900
        "dir:": 1,  # 100 -> shard 1 at 11000 (10900 < 11500)
    }
    assert partition(inv, 2) == assign  # deterministic
    assert set(partition(inv, 5).values()) == {1, 2, 3, 4, 5}
    assert set(partition(inv, 1).values()) == {1}
    with pytest.raises(ShardError):
        partition(inv, 0)
