"""Issue #2 acceptance: bad files become diagnostics and the good file beside them is still analysed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bad_files_are_diagnostics_and_the_good_file_is_analysed(tmp_path: Path) -> None:
    svc = tmp_path / "services" / "checkout"
    svc.mkdir(parents=True)
    (svc / "requirements.txt").write_text("requests\n")
    (svc / "broken.py").write_text("def total(items:\n    return sum(items)\n")
    (svc / "legacy.py").write_bytes(b"# legacy module\nNAME = '\xe9l\xe8ve'\n")  # latin-1, no coding line
    (svc / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: checkout\nspec: [\n")
    (svc / "client.py").write_text(
        "import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(tmp_path), "--format", "json", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    diag_files = {d["file"] for d in data["diagnostics"] if d["level"] in ("error", "warning")}
    assert {"services/checkout/broken.py", "services/checkout/legacy.py", "services/checkout/deploy.yaml"} <= diag_files
    by_file = {d["file"]: d for d in data["diagnostics"]}
    assert by_file["services/checkout/broken.py"]["line"] == 1
    assert "syntax error" in by_file["services/checkout/broken.py"]["message"]
    assert "UTF-8" in by_file["services/checkout/legacy.py"]["message"]
    # the good file is still analysed: its missing timeout is reported at the call
    assert [(f["rule"], f["file"], f["line"]) for f in data["findings"] if f["file"].endswith("client.py")] == [
        ("QS101", "services/checkout/client.py", 5)
    ]
