"""rules/ and templates/ ship inside the wheel: build it, install it into a fresh venv, run qualscan
from another directory. Also: every package directory is listed in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed() -> None:
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    dirs = {"qualscan." + ".".join(p.parent.relative_to(REPO / "qualscan").parts) for p in (REPO / "qualscan").rglob("__init__.py")}
    dirs = {d.rstrip(".") for d in dirs}
    dirs |= {"qualscan.rules." + ".".join(p.parent.relative_to(REPO / "rules").parts) for p in (REPO / "rules").rglob("__init__.py")}
    dirs = {d.rstrip(".") for d in dirs} | {"qualscan.templates"}
    assert dirs <= listed, f"add to [tool.setuptools] packages: {sorted(dirs - listed)}"


@pytest.mark.slow
def test_wheel_ships_rules_templates_and_schema(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheel_dir), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next(wheel_dir.glob("qualscan-*.whl"))
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert "qualscan/rules/__init__.py" in names
    assert "qualscan/schema/report.schema.json" in names
    assert any(n.startswith("qualscan/templates/") and n.endswith(".j2") for n in names), sorted(names)
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=True).create(env_dir)
    py = env_dir / "bin" / "python"
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    if inst.returncode != 0 and "no such option: --python" in inst.stderr:  # pip < 22.3
        inst = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--prefix", str(env_dir), str(wheel)],
            capture_output=True, text=True, timeout=600,
        )
    assert inst.returncode == 0, inst.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "svc").mkdir()
    (elsewhere / "svc" / "requirements.txt").write_text("requests\n")
    (elsewhere / "svc" / "app.py").write_text("import requests\nrequests.get('http://x')\n")
    where = subprocess.run(
        [str(py), "-c", "import qualscan, qualscan.rules, qualscan.templates; print(qualscan.__file__)"],
        cwd=elsewhere, capture_output=True, text=True, timeout=120,
    )
    assert where.returncode == 0, where.stderr
    assert str(env_dir) in where.stdout  # the installed copy, not the checkout
    rules = subprocess.run([str(py), "-m", "qualscan", "rules"], cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert rules.returncode == 0 and "QS" in rules.stdout, rules.stderr
    scan = subprocess.run(
        [str(py), "-m", "qualscan", "scan", ".", "--format", "json", "--no-cache"],
        cwd=elsewhere, capture_output=True, text=True, timeout=300,
    )
    assert scan.returncode == 0, scan.stderr
    assert '"schema_version"' in scan.stdout
