"""Issue #8: importing the rules does not import libcst; only a file that needs the call-site
analysis (``rules/_calls.needs_analysis``) does. A one-file gate on a change that uses no HTTP/DB
client never pays libcst's import (~0.2 s).

Each case runs ``qualscan.cli.main`` in a fresh interpreter (``sys.executable``) on a small real
repository written to a temporary directory, then reports whether ``libcst`` is in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qualscan.engine.lazy import lazy_module

# a module whose imports trigger QS1xx rules (django: QS114; urllib: QS101...) without any call
# the analysis looks at, as most of Django's own files do
PLAIN = {
    "services/catalog/pyproject.toml": "[project]\nname = 'catalog'\n",
    "services/catalog/catalog/__init__.py": "",
    "services/catalog/catalog/pages.py": (
        "from math import ceil\n"
        "from urllib.parse import urljoin\n\n"
        "from django.db import models\n\n\n"
        "class Page(models.Model):\n"
        "    title = models.CharField(max_length=40)\n\n\n"
        "def page_count(total, size):\n"
        "    if size <= 0:\n"
        "        return 0\n"
        "    return ceil(total / size)\n\n\n"
        "def link(base, n):\n"
        "    return urljoin(base, f'?page={n}')\n"
    ),
    "services/catalog/catalog/sizes.py": "SIZES = (10, 20, 50)\n\n\ndef largest():\n    return max(SIZES)\n",
}
CLIENT = "import requests\n\n\ndef price(url):\n    return requests.get(url)\n"

SCRIPT = """
import json, sys
from qualscan import cli
rc = cli.main(sys.argv[1:])
print(json.dumps({"rc": rc, "libcst": "libcst" in sys.modules}))
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _main(cwd: Path, *argv: str) -> tuple[dict[str, Any], str]:
    """``cli.main(argv)`` in a fresh interpreter: its exit code, whether libcst got imported, stdout."""
    proc = subprocess.run(
        [sys.executable, "-P", "-c", SCRIPT, *argv], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[-1]), "\n".join(lines[:-1])


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=n", *args], cwd=root, check=True,
                   capture_output=True, timeout=60)


def _qs101(report: Path) -> list[tuple[str, int]]:
    data = json.loads(report.read_text())
    return sorted((f["file"], f["line"]) for f in data["findings"] if f["rule"] == "QS101")


def test_scan_without_client_code_never_imports_libcst(tmp_path: Path) -> None:
    _write(tmp_path, PLAIN)
    out = tmp_path / "report.json"
    status, _ = _main(tmp_path, "scan", ".", "--no-cache", "-f", "json", "-o", str(out))
    assert status == {"rc": 0, "libcst": False}
    data = json.loads(out.read_text())
    assert {f["path"] for f in data["metrics"]["files"]} >= {"services/catalog/catalog/pages.py"}
    assert _qs101(out) == []


def test_a_remote_call_loads_libcst_and_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, {**PLAIN, "services/catalog/catalog/prices.py": CLIENT})
    out = tmp_path / "report.json"
    status, _ = _main(tmp_path, "scan", ".", "--no-cache", "-f", "json", "-o", str(out))
    assert status["libcst"] is True
    assert _qs101(out) == [("services/catalog/catalog/prices.py", 5)]


def test_one_file_gate_without_client_code_never_imports_libcst(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _write(repo, {**PLAIN, "services/catalog/catalog/prices.py": CLIENT})
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    warm, _ = _main(repo, "scan", ".", "-f", "json", "-o", str(tmp_path / "warm.json"))
    assert warm["libcst"] is True  # the first scan analyses prices.py, and caches every file
    pages = repo / "services/catalog/catalog/pages.py"
    pages.write_text(pages.read_text() + "\n\ndef first(n):\n    if n:\n        return 1\n    return 0\n")
    out = tmp_path / "gate.json"
    status, _ = _main(repo, "check", ".", "--diff-base", "HEAD", "-f", "json", "-o", str(out))
    assert status == {"rc": 0, "libcst": False}
    gate = json.loads(out.read_text())["gate"]
    assert gate["passed"] is True and gate["diff"]["files"] == 1


def test_rule_listing_and_fix_still_work(tmp_path: Path) -> None:
    status, listing = _main(tmp_path, "rules")
    assert status == {"rc": 0, "libcst": False}
    codes = [line.split()[0] for line in listing.splitlines()]
    assert {"QS101", "QS109", "QS110", "QS113", "QS114"} <= set(codes)

    _write(tmp_path, {"services/catalog/catalog/prices.py": CLIENT})
    status, _ = _main(tmp_path, "fix", ".", "--rule", "QS101")
    assert status == {"rc": 0, "libcst": True}
    assert (tmp_path / "services/catalog/catalog/prices.py").read_text() == CLIENT.replace(
        "requests.get(url)", "requests.get(url, timeout=5)"
    )


def test_lazy_module_rebinds_its_name_to_the_module_on_first_use() -> None:
    import json.decoder

    namespace: dict[str, Any] = {}
    namespace["dec"] = lazy_module("json.decoder", namespace, "dec")
    stand_in = namespace["dec"]
    with pytest.raises(AttributeError):
        stand_in.__wrapped__  # noqa: B018 - introspection does not import
    assert namespace["dec"] is stand_in
    assert stand_in.JSONDecoder is json.decoder.JSONDecoder
    assert namespace["dec"] is json.decoder  # later reads are plain module attribute reads
    assert stand_in.JSONDecodeError is json.decoder.JSONDecodeError  # the stand-in still answers
