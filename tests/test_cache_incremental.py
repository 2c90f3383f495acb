"""The persistent per-file cache: a one-file change re-analyses only that file; corrupt, tampered
and stale entries are rejected and rebuilt; a cache directory tracked by git is never trusted."""

from __future__ import annotations

from pathlib import Path

import _cache_support
import pytest
from _cache_support import entry_bytes, entry_for, forge, pack_file, read_pack, replace_entry, write_pack
from _gate_support import commit, gate_json, git, make_repo, run_cli

from qualscan.config import Config
from qualscan.engine import cache as cache_mod
from qualscan.engine.pipeline import prepare_inputs, run

N_FILES = 40
CALL = _cache_support.CALL


def build_tree(root: Path) -> Config:
    return _cache_support.build_tree(root, N_FILES)


def scan(root: Path, config: Config) -> tuple[list[tuple[str, int, str, str]], cache_mod.Cache]:
    inputs = prepare_inputs(root, config, history=False)
    result = run(inputs, config)
    assert inputs.cache is not None
    return [(f.file, f.line, f.rule, f.fingerprint) for f in result.findings], inputs.cache


def counters(cache: cache_mod.Cache) -> tuple[int, int, int]:
    return cache.hits, cache.misses, cache.rejected


def test_one_file_change_reanalyses_only_that_file(tmp_path: Path) -> None:
    config = build_tree(tmp_path)
    cold, cache = scan(tmp_path, config)
    assert counters(cache) == (0, N_FILES, 0)
    assert ("services/checkout/mod007.py", 5, "QS101") in {(f, line, r) for f, line, r, _ in cold}
    warm, cache = scan(tmp_path, config)
    assert counters(cache) == (N_FILES, 0, 0)
    assert warm == cold
    # edit one file: only it is analysed again, and its new finding line is reported
    (tmp_path / "services/checkout/mod007.py").write_text("# edited\n" + CALL.format(i=7), encoding="utf-8")
    after, cache = scan(tmp_path, config)
    assert counters(cache) == (N_FILES - 1, 1, 0)
    assert ("services/checkout/mod007.py", 6, "QS101") in {(f, line, r) for f, line, r, _ in after}
    assert ("services/checkout/mod007.py", 5, "QS101") not in {(f, line, r) for f, line, r, _ in after}


@pytest.mark.parametrize("damage", ["truncated", "payload-edited", "other-key", "not-a-dict"])
def test_corrupt_or_tampered_entries_are_rejected_and_rebuilt(tmp_path: Path, damage: str) -> None:
    config = build_tree(tmp_path)
    cold, cache = scan(tmp_path, config)
    key, _ = entry_for(cache.directory, "services/checkout/mod003.py")
    raw = entry_bytes(cache.directory, key)
    assert b'"QS101"' in raw
    if damage == "truncated":
        replace_entry(cache.directory, key, raw[: len(raw) // 2], valid_crc=False)
    elif damage == "payload-edited":  # hide the finding without fixing the checksum
        replace_entry(cache.directory, key, raw.replace(b'"QS101"', b'"QS999"'), valid_crc=False)
    elif damage == "other-key":  # a valid entry of another file put in this one's place
        other, _ = entry_for(cache.directory, "services/checkout/mod004.py")
        header, body = read_pack(cache.directory)
        header["entries"][key] = header["entries"][other]
        write_pack(cache.directory, header, body)
    else:
        replace_entry(cache.directory, key, b"[1, 2, 3]", valid_crc=True)
    again, cache = scan(tmp_path, config)
    assert counters(cache) == (N_FILES - 1, 1, 1)
    assert again == cold
    rebuilt, cache = scan(tmp_path, config)
    assert counters(cache) == (N_FILES, 0, 0)
    assert rebuilt == cold


@pytest.mark.parametrize("damage", ["cut", "garbage", "empty", "header-only"])
def test_a_damaged_pack_file_costs_time_never_findings(tmp_path: Path, damage: str) -> None:
    config = build_tree(tmp_path)
    cold, cache = scan(tmp_path, config)
    pack = pack_file(cache.directory)
    raw = pack.read_bytes()
    pack.write_bytes({"cut": raw[: len(raw) * 2 // 3], "garbage": b"\x00\xff" * 1000, "empty": b"",
                      "header-only": raw.partition(b"\n")[0]}[damage])
    again, cache = scan(tmp_path, config)
    assert again == cold
    hits, misses, _ = counters(cache)
    assert hits + misses == N_FILES and misses >= 1
    rebuilt, cache = scan(tmp_path, config)
    assert counters(cache) == (N_FILES, 0, 0)
    assert rebuilt == cold


def test_stale_entries_are_not_used_after_a_config_or_version_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = build_tree(tmp_path)
    scan(tmp_path, config)
    # a severity override is applied after the per-file pass: the entries stay valid
    _, cache = scan(tmp_path, config.with_overrides(rule_options={"QS101": {"severity": "critical"}}))
    assert counters(cache) == (N_FILES, 0, 0)
    # a different rule set changes every per-file outcome
    _, cache = scan(tmp_path, config.with_overrides(ignore=("QS103",)))
    assert counters(cache) == (0, N_FILES, 0)
    monkeypatch.setattr(cache_mod, "__version__", "999.0")
    _, cache = scan(tmp_path, config)
    assert counters(cache) == (0, N_FILES, 0)


def test_no_cache_bypasses_reading_and_writing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    code, _, err = run_cli("check", str(repo), "--no-cache", "--jobs", "1")
    assert code == 1
    assert "qualscan: cache" not in err
    assert not (repo / ".qualscan_cache").exists()
    code, _, err = run_cli("check", str(repo), "--jobs", "1")
    assert "qualscan: cache 0 hit(s), 2 miss(es), 0 rejected" in err
    code, _, err = run_cli("check", str(repo), "--jobs", "1")
    assert "qualscan: cache 2 hit(s), 0 miss(es), 0 rejected" in err


def test_a_cache_directory_tracked_by_git_is_ignored(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    code, report, _ = gate_json(str(repo))
    assert code == 1
    assert ("services/checkout/app.py", 5, "QS101") in {(f["file"], f["line"], f["rule"]) for f in report["findings"]}
    # a pull request plants a well-formed entry (valid key and checksum) that hides the finding
    forge(repo / ".qualscan_cache", "services/checkout/app.py", hits=[])
    code, report, _ = gate_json(str(repo))
    assert code == 0  # an untracked local cache is trusted: this is what the planted entry would do
    git(repo, "add", "-f", ".qualscan_cache")
    commit(repo, "innocent looking change")
    assert git(repo, "ls-files", ".qualscan_cache")
    code, report, err = gate_json(str(repo))
    assert code == 1, err
    assert ("services/checkout/app.py", 5, "QS101") in {(f["file"], f["line"], f["rule"]) for f in report["findings"]}
    diags = [(d["file"], d["level"]) for d in report["diagnostics"] if "tracked by git" in d["message"]]
    assert diags == [(".qualscan_cache", "warning")]
    assert "qualscan: cache" not in err  # not read at all
