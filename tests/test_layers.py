"""The import direction is one-way (DESIGN.md): checked with import-linter's contracts from
pyproject.toml, on the package laid out as it is installed (rules/ and templates/ inside)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _assemble(tmp: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "qualscan", tmp / "qualscan", ignore=ignore)
    shutil.copytree(REPO / "rules", tmp / "qualscan" / "rules", ignore=ignore)
    shutil.copytree(REPO / "templates", tmp / "qualscan" / "templates", ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_layer_contracts_hold(tmp_path: Path) -> None:
    root = _assemble(tmp_path)
    proc = _lint_imports(root)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken" in proc.stdout


def test_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """The check can fail: a model module importing the CLI breaks the layers contract."""
    root = _assemble(tmp_path)
    model = root / "qualscan" / "model.py"
    model.write_text(model.read_text() + "\nimport qualscan.cli  # noqa\n")
    proc = _lint_imports(root)
    assert proc.returncode != 0
    assert "qualscan.model -> qualscan.cli" in proc.stdout


@pytest.mark.parametrize("layer", ["qualscan.reporters", "qualscan.scoring"])
def test_pure_layers_do_not_read_the_disk_or_import_engine(layer: str) -> None:
    """Reporters and scoring are pure: they never import the engine, discovery or the CLI."""
    base = REPO / Path(*layer.split("."))
    files = list(base.glob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
    for f in files:
        text = f.read_text()
        for banned in ("qualscan.engine", "qualscan.discovery", "qualscan.cli"):
            assert f"import {banned}" not in text and f"from {banned}" not in text, (f, banned)
