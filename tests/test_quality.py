"""qualscan holds itself to its own standards: ruff and mypy on the package, and qualscan on its own code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), cwd=REPO, capture_output=True, text=True, timeout=900)


def test_ruff_is_clean() -> None:
    exe = shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    proc = _run(exe, "check", "qualscan", "rules")
    assert proc.returncode == 0, proc.stdout[-5000:]


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    proc = _run(sys.executable, "-m", "mypy")
    assert proc.returncode == 0, proc.stdout[-5000:]


@pytest.mark.slow
def test_qualscan_scans_its_own_code(tmp_path: Path) -> None:
    from qualscan.config import load_config
    from qualscan.engine.pipeline import scan_path

    result = scan_path(REPO, load_config(REPO), use_cache=False)
    problems = [d for d in result.diagnostics if d.level.value == "error"]
    assert problems == []
    scanned = {f["path"] for f in result.metrics.get("files", [])}
    assert "qualscan/cli.py" in scanned and "rules/__init__.py" in scanned
    assert not any(p.startswith(("fixtures/", "tests/")) for p in scanned)


@pytest.mark.slow
def test_qualscan_check_passes_on_this_repository() -> None:
    """qualscan's own CI runs its gate on its own code (issue #7): exit 0, or the message says why."""
    proc = _run(sys.executable, "-m", "qualscan", "check", ".", "--no-cache", "--format", "github")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
