"""``qualscan fix --rule QS101 [--diff] PATH`` end to end, in a real directory: the diff is printed
without writing, the fix writes, the code then scans clean for QS101, and a second run changes
nothing. Test files are left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SERVICE = '''"""Checkout's client for the payment service."""
import requests

PAYMENT_URL = "http://payment:8080"


def charge(body):
    # idempotency key set by the caller
    return requests.post(
        f"{PAYMENT_URL}/charge",
        json=body,
    )
'''

TEST = "import requests\n\n\ndef test_live():\n    requests.get('http://localhost:8000')\n"


def _qualscan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualscan", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_fix_diff_then_write_then_idempotent(tmp_path: Path) -> None:
    svc = tmp_path / "services" / "checkout"
    (svc / "tests").mkdir(parents=True)
    (svc / "requirements.txt").write_text("requests\n")
    (svc / "payment.py").write_text(SERVICE)
    (svc / "tests" / "test_live.py").write_text(TEST)

    diff = _qualscan("fix", "--rule", "QS101", "--diff", "--timeout", "3", str(tmp_path), cwd=tmp_path)
    assert diff.returncode == 0, diff.stderr
    assert "+        timeout=3,\n" in diff.stdout
    assert "b/services/checkout/payment.py" in diff.stdout
    assert "test_live" not in diff.stdout
    assert (svc / "payment.py").read_text() == SERVICE  # --diff writes nothing

    done = _qualscan("fix", "--rule", "QS101", "--timeout", "3", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (svc / "payment.py").read_text() == SERVICE.replace("        json=body,\n", "        json=body,\n        timeout=3,\n")
    assert (svc / "tests" / "test_live.py").read_text() == TEST

    again = _qualscan("fix", "--rule", "QS101", "--diff", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == ""
    assert "0 call(s)" in again.stderr


def test_fix_accepts_a_rule_name_and_rejects_unfixable_rules(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("requests\n")
    (tmp_path / "svc" / "payment.py").write_text(SERVICE)
    by_name = _qualscan("fix", "--rule", "no-timeout", "--diff", str(tmp_path), cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    assert "+        timeout=5,\n" in by_name.stdout
    unfixable = _qualscan("fix", "--rule", "QS110", str(tmp_path), cwd=tmp_path)
    assert unfixable.returncode == 2
    assert "not fixable: QS110" in unfixable.stderr
