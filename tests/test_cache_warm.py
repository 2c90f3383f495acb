"""Issue #8, warm runs: the stat index (unchanged files are neither read nor hashed), the reused
whole-run report, and the one-file pack of per-file outcomes. Every warm report must be byte for
byte the report of a scan without the cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import _cache_support
import pytest
from _gate_support import commit, git, make_repo, run_cli, write

from qualscan.config import Config
from qualscan.engine import cache as cache_mod
from qualscan.engine.pipeline import prepare_inputs, run

N_FILES = 12
CALL = _cache_support.CALL


def build_tree(root: Path) -> Config:
    return _cache_support.build_tree(root, N_FILES)


def scan(root: Path, config: Config) -> tuple[set[tuple[str, int, str]], cache_mod.Cache]:
    inputs = prepare_inputs(root, config, history=False)
    result = run(inputs, config)
    assert inputs.cache is not None
    return {(f.file, f.line, f.rule) for f in result.findings}, inputs.cache


def test_unchanged_files_are_not_read_and_a_same_size_same_mtime_edit_is_still_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_NS", 0)  # the files were written a moment ago
    config = build_tree(tmp_path)
    cold, cache = scan(tmp_path, config)
    assert cache.stat_hits == 0
    warm, cache = scan(tmp_path, config)
    assert warm == cold
    assert (cache.stat_hits, cache.hits, cache.misses) == (N_FILES, N_FILES, 0)
    # rewrite a file with content of the same size and put its mtime back, as `rsync -t` or a
    # restored backup would: the ctime still moves, so the stat index does not vouch for it
    target = tmp_path / "services/checkout/mod005.py"
    before = target.stat()
    edited = CALL.format(i=5).replace("cart", "cort")
    assert len(edited) == before.st_size
    target.write_text(edited, encoding="utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_mtime_ns == before.st_mtime_ns and target.stat().st_size == before.st_size
    after, cache = scan(tmp_path, config)
    assert (cache.stat_hits, cache.hits, cache.misses) == (N_FILES - 1, N_FILES - 1, 1)
    # recomputed from the new content: "cort" is not the journey's cart service, so no QS103 there
    assert ("services/checkout/mod005.py", 5, "QS103") in cold
    assert after == cold - {("services/checkout/mod005.py", 5, "QS103")}


def test_files_written_within_the_timestamp_granularity_are_hashed_again(tmp_path: Path) -> None:
    """Git's racy-clean rule: a file whose mtime or ctime is less than ``RACY_NS`` older than the
    read could change again without its timestamps moving; it is not recorded in the stat index."""
    config = build_tree(tmp_path)
    scan(tmp_path, config)
    warm, cache = scan(tmp_path, config)
    assert (cache.stat_hits, cache.hits) == (0, N_FILES)


def test_old_contents_stay_cached_across_a_few_runs(tmp_path: Path) -> None:
    """Switching a branch back and forth re-analyses nothing: the pack keeps entries used by the
    last KEEP_GENERATIONS runs that wrote it."""
    config = build_tree(tmp_path)
    original, _ = scan(tmp_path, config)
    target = tmp_path / "services/checkout/mod001.py"
    text = target.read_text()
    target.write_text("# other branch\n" + text)
    other, cache = scan(tmp_path, config)
    assert cache.misses == 1 and other != original
    target.write_text(text)
    back, cache = scan(tmp_path, config)
    assert (cache.hits, cache.misses) == (N_FILES, 0)
    assert back == original
    for i in range(cache_mod.KEEP_GENERATIONS + 1):  # runs that each analyse something else
        (tmp_path / f"services/checkout/new{i}.py").write_text(f"X = {i}\n")
        scan(tmp_path, config)
    target.write_text("# other branch\n" + text)
    _, cache = scan(tmp_path, config)
    assert cache.misses == 1  # that old content was dropped


def cli_json(repo: Path, out: Path, *args: str) -> bytes:
    code, _, err = run_cli("scan", str(repo), "-f", "json", "-o", str(out), "--jobs", "1", *args)
    assert code == 0, err
    return out.read_bytes()


def stored_reports(repo: Path) -> list[Path]:
    return sorted((repo / ".qualscan_cache" / cache_mod.RESULTS_DIR).glob("*.json"))


def test_a_warm_report_is_the_cold_report_whatever_changed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    out = tmp_path / "out"
    out.mkdir()

    def check(step: str) -> bytes:
        warm = cli_json(repo, out / f"{step}-warm.json")
        again = cli_json(repo, out / f"{step}-again.json")
        cold = cli_json(repo, out / f"{step}-cold.json", "--no-cache")
        assert warm == cold, step
        assert again == cold, step
        return cold

    first = check("first")
    assert len(stored_reports(repo)) == 1
    # the stored report is what a warm run writes, as is: shown by editing it (valid checksum)
    stored = stored_reports(repo)[0]
    head, _, body = stored.read_bytes().partition(b"\n")
    header = json.loads(head)
    fake = body.replace(b'"QS101"', b'"QS999"')
    header["check"] = hashlib.sha256(fake).hexdigest()
    stored.write_bytes(json.dumps(header).encode() + b"\n" + fake)
    assert cli_json(repo, out / "served.json") == fake
    stored.write_bytes(json.dumps({**header, "check": "0" * 64}).encode() + b"\n" + fake)  # a bad checksum
    assert cli_json(repo, out / "rebuilt.json") == first

    app = repo / "services/checkout/app.py"
    text = app.read_text()
    app.write_text(text.replace("timeout=2", "verify=22"))  # same size: pay() loses its timeout
    assert check("edited") != first
    write(repo, {"services/catalog/extra.py": "import requests\n\n\ndef f():\n    return requests.get('http://x')\n"})
    check("added")
    (repo / "services/catalog/extra.py").unlink()
    check("removed")
    write(repo, {"services/checkout/k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\n"})
    check("manifest")
    git(repo, "add", "-A")
    commit(repo, "history changes the hotspot metrics")
    check("committed")
    (repo / "qualscan.toml").write_text((repo / "qualscan.toml").read_text() + '\n[rules.QS101]\nseverity = "low"\n')
    check("configured")
    text_warm = cli_json(repo, out / "text-warm.txt", "-f", "text")  # another format, another stored report
    assert cli_json(repo, out / "text-again.txt", "-f", "text") == text_warm
    assert cli_json(repo, out / "text-cold.txt", "-f", "text", "--no-cache") == text_warm
    assert len(stored_reports(repo)) <= cache_mod.MAX_RESULTS


def test_the_pipeline_runs_the_git_log_the_metrics_layer_parses() -> None:
    from qualscan import metrics
    from qualscan.engine import pipeline

    assert list(pipeline.GIT_LOG_ARGS) == list(metrics.GIT_LOG_ARGS)


def test_a_bad_rule_option_fails_even_after_a_stored_report(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    cli_json(repo, tmp_path / "a.json")
    (repo / "qualscan.toml").write_text((repo / "qualscan.toml").read_text() + "\n[rules.QS101]\nnope = 1\n")
    code, out, err = run_cli("scan", str(repo), "-f", "json", "--jobs", "1")
    assert code == 2 and out == ""
    assert "QS101" in err and "nope" in err


def test_a_file_edited_during_the_run_is_noticed_and_its_report_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report key is computed from content hashes taken before the analysis; a manifest the
    stat index vouched for, edited before the graph layer reads it, must not get the report of its
    new content stored under the key of its old one."""
    from qualscan.engine.pipeline import run_key, scan_path_report

    monkeypatch.setattr(cache_mod, "RACY_NS", 0)
    config = build_tree(tmp_path)
    write(tmp_path, {"services/checkout/k8s.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\n"})
    scan_path_report(tmp_path, config, lambda r: str(len(r.findings)), "id")  # fills the stat index
    inputs = prepare_inputs(tmp_path, config, validate=False)
    assert run_key(inputs, config, "id") is not None
    assert "services/checkout/k8s.yaml" in inputs.shas
    (tmp_path / "services/checkout/k8s.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other\n")
    run(inputs, config)
    assert inputs.changed_during_run == ["services/checkout/k8s.yaml"]


def test_the_pack_stays_bounded_when_one_file_keeps_changing(tmp_path: Path) -> None:
    """Each gate run on an edited file appends an entry; entries older than KEEP_GENERATIONS
    writes are dropped and the dead bytes compacted away, so the pack does not grow forever."""
    config = build_tree(tmp_path)
    _, cache = scan(tmp_path, config)
    first = (cache.directory / cache_mod.PACK_NAME).stat().st_size
    target = tmp_path / "services/checkout/mod002.py"
    text = target.read_text()
    sizes = []
    for i in range(4 * cache_mod.KEEP_GENERATIONS):
        target.write_text(f"# edit {i}\n" + text)
        found, cache = scan(tmp_path, config)
        assert (cache.hits, cache.misses) == (N_FILES - 1, 1)
        assert ("services/checkout/mod002.py", 6, "QS101") in found
        sizes.append((cache.directory / cache_mod.PACK_NAME).stat().st_size)
    assert max(sizes) < 3 * first, (first, sizes)
    target.write_text(text)
    back, cache = scan(tmp_path, config)
    assert cache.misses == 1  # the original content aged out long ago
    assert ("services/checkout/mod002.py", 5, "QS101") in back
