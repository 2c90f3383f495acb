"""qualscan.parallel: fork-join with real forked children (issue #8). Every failure of the child
(an exception, a crash, a hang, an answer too large for the shared mapping or not picklable)
ends with the value computed in the parent: nothing is lost, nothing is different."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from qualscan import parallel
from qualscan.config import Config
from qualscan.discovery import discover
from qualscan.engine.pipeline import prepare_inputs
from qualscan.reporters import json_report

pytestmark = pytest.mark.skipif(not parallel.fork_available(), reason="no fork on this platform")

PARENT = os.getpid()


def _in_child() -> bool:
    return os.getpid() != PARENT


def _records(n: int) -> list[dict[str, Any]]:
    return [{"file": f"svc/mod_{i % 97}.py", "name": f"f{i}", "cyclomatic": i % 13, "notes": "é\u2028\"q\"", "x": i / 7}
            for i in range(n)]


def test_value_comes_from_the_child() -> None:
    data = _records(5000)
    job = parallel.spawn(lambda: (os.getpid(), data))  # the function itself is never pickled
    pid, value = job.result()
    assert job.forked
    assert pid != PARENT
    assert value == data


def test_child_exception_is_raised_by_the_parent() -> None:
    def boom() -> None:
        raise ValueError("bad input")

    job = parallel.spawn(boom)
    with pytest.raises(ValueError, match="bad input"):
        job.result()
    assert not job.forked


def test_child_crash_falls_back_to_the_parent() -> None:
    def crash_in_child() -> str:
        if _in_child():
            os._exit(7)
        return "computed here"

    job = parallel.spawn(crash_in_child)
    assert job.result() == "computed here"
    assert not job.forked


def test_hung_child_is_killed_and_the_parent_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "TIMEOUT", 0.5)

    def hang_in_child() -> int:
        if _in_child():
            time.sleep(60)
        return 42

    start = time.monotonic()
    job = parallel.spawn(hang_in_child)
    pid = job._pid
    assert job.result() == 42
    assert not job.forked
    assert time.monotonic() - start < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind


def test_answer_larger_than_the_mapping_goes_through_the_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SHARED_SIZE", 4096)
    text = "record\n" * 300_000  # 2.1 MB, well past the pipe's buffer too
    job = parallel.spawn(lambda: text)
    assert job.result() == text
    assert job.forked


def test_unpicklable_answer_is_computed_in_the_parent() -> None:
    job = parallel.spawn(lambda: (lambda: "inner"))
    value = job.result()
    assert value() == "inner"
    assert not job.forked


def test_descriptor_numbers_past_1024() -> None:
    # a scan of a deep tree holds many directories open: select() would refuse the pipe's number
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("cannot open 1,200 descriptors here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if hard == resource.RLIM_INFINITY else max(soft, min(hard, 4096)), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        job = parallel.spawn(lambda: os.getpid())
        assert job._fd > 1024
        assert job.result() != PARENT
        assert job.forked
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_switched_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALSCAN_NO_FORK", "1")
    job = parallel.spawn(os.getpid)
    assert job.result() == PARENT
    assert not job.forked


def test_cancel_reaps_the_child() -> None:
    job = parallel.spawn(time.sleep, 30)
    pid = job._pid
    assert pid
    job.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_json_report_split_renders_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {
        "findings": _records(300),
        "metrics": {"functions": _records(20_000), "files": _records(4_000), "services": {"a": {"b": [1, 2]}}},
        "summary": {"n": 1},
    }
    monkeypatch.setenv("QUALSCAN_NO_FORK", "1")
    alone = json_report.dumps(data)
    monkeypatch.setenv("QUALSCAN_NO_FORK", "0")
    monkeypatch.setattr(json_report, "PARALLEL_MIN_BYTES", 1 << 16)
    split = json_report._plan_split(data)
    assert split is not None and split.records is data["metrics"]["functions"]
    assert 0 < split.count < len(data["metrics"]["functions"])
    split.job.cancel()
    assert json_report.dumps(data) == alone
    parsed = json.loads(alone)
    assert parsed["metrics"]["functions"] == json.loads(json.dumps(data["metrics"]["functions"]))


def test_prepare_inputs_walks_in_a_child_with_the_same_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        svc = tmp_path / "services" / f"svc{i % 4}"
        (svc / "app").mkdir(parents=True, exist_ok=True)
        (svc / "app" / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
        (svc / "Dockerfile").write_text("FROM python:3.11\n")
    (tmp_path / ".gitignore").write_text("*.log\nservices/svc3/app/m3.py\n")
    (tmp_path / "services" / "svc0" / "debug.log").write_text("x")
    config = Config(use_cache=False)
    forked = prepare_inputs(tmp_path, config)
    monkeypatch.setenv("QUALSCAN_NO_FORK", "1")
    here = prepare_inputs(tmp_path, config)
    assert forked.inventory == here.inventory == discover(tmp_path.resolve(), config)
    assert "services/svc3/app/m3.py" not in {f.path for f in forked.inventory.files}
    assert len(forked.inventory.files) == 39 + 4 + 1  # + .gitignore


def test_clone_search_in_a_child_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qualscan.engine.pipeline import scan_path
    from qualscan.metrics import project

    body = "".join(f"    total = total + values[{i}] * {i}\n    if total > {i * 10}:\n        total -= {i}\n" for i in range(12))
    for svc in ("cart", "checkout", "search"):
        root = tmp_path / "services" / svc
        root.mkdir(parents=True)
        (root / "requirements.txt").write_text("")
        (root / "calc.py").write_text(f"def compute_{svc}(values):\n    total = 0\n{body}    return total\n")
    monkeypatch.setattr(project, "PARALLEL_CLONE_CHARS", 0)
    config = Config(use_cache=False)
    forked = json_report.render(scan_path(tmp_path, config))
    monkeypatch.setenv("QUALSCAN_NO_FORK", "1")
    here = json_report.render(scan_path(tmp_path, config))
    assert forked == here
    clones = json.loads(here)["metrics"]["clones"]
    assert len(clones) == 1 and len(clones[0]["occurrences"]) == 3 and clones[0]["cross_service"]
