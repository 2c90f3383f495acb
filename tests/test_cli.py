"""The command line as a user runs it: a real subprocess, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())


def qs(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualscan", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def test_version() -> None:
    from qualscan import __version__

    proc = qs("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"qualscan {__version__}"


def test_no_command_is_a_usage_error() -> None:
    proc = qs()
    assert proc.returncode == 2 and "usage:" in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scan", "/definitely/not/here"], "path does not exist"),
        (["scan", ".", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["explain", "QS999"], "no rule 'QS999'"),
        (["scan", ".", "--jobs", "-3"], "--jobs must be 0 or more"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    proc = qs(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rules_and_explain_list_every_rule() -> None:
    from qualscan.engine.registry import all_rules

    proc = qs("rules")
    assert proc.returncode == 0
    for rule in all_rules():
        assert f"{rule.code}  {rule.name}" in proc.stdout
        exp = qs("explain", rule.code)
        assert exp.returncode == 0 and "## What it does" in exp.stdout and rule.summary in exp.stdout


def test_scan_writes_schema_valid_deterministic_json(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "svc" / "cart").mkdir(parents=True)
    (repo / "svc" / "cart" / "requirements.txt").write_text("requests\n")
    (repo / "svc" / "cart" / "app.py").write_text("import requests\n\ndef get(u):\n    return requests.get(u)\n")
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    assert qs("scan", str(repo), "--format", "json", "-o", str(out1)).returncode == 0
    assert qs("scan", str(repo), "--format", "json", "-o", str(out2), "--no-cache").returncode == 0
    assert out1.read_bytes() == out2.read_bytes()  # cache or not, byte-identical
    data = json.loads(out1.read_text())
    jsonschema.validate(data, SCHEMA)
    assert [s["name"] for s in data["services"]] == ["cart"]
    assert data["root"] == "repo" and "generated_at" not in data
    assert (repo / ".qualscan_cache" / ".gitignore").is_file()


def test_text_is_the_default_format(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    proc = qs("scan", str(tmp_path), "--no-cache")
    assert proc.returncode == 0
    assert not proc.stdout.lstrip().startswith("{")


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"m{i}.py").write_text(f"x = {i}\n")
    proc = qs("scan", str(tmp_path), "--no-cache", "--format", "json")
    assert proc.returncode == 0 and proc.stderr == ""
