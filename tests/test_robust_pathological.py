"""Issue #9, inputs built to hit super-linear paths (regular expressions, recursive evaluators,
scanners): 50,000-character runs of the characters each parser cares about, in every file kind the
scanner reads. The scan finishes (run in a subprocess with a hard timeout, so a hang fails instead of
blocking CI), reports valid JSON, and still finds the planted call.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
N = 50_000

RUNS = {
    "plain": "a" * N,
    "url": "http://" + "a" * N,
    "url_colons": "'http://" + "a:" * N + "'",
    "dollar_braces": "${" * N,
    "colons": ":" * N,
    "env_default": "process.env." + "A" * N + " || '",
    "host_dots": "'" + "a." * N + ":80'",
    "conn_string": ";host=" + "a" * N,
    "quotes": '"' * N,
    "template_open": "{{" * N,
    "template_parens": "{{ " + "(" * N + " }}",
    "template_pipes": "{{ " + "| x " * (N // 4) + "}}",
    "suppression": "# qualscan: ignore[" + "QS101," * (N // 6),
    "spaces": " " * N + "x",
    "backslashes": "\\" * N,
    "escaped_quotes": "'" + "\\'" * (N // 2),
    "getenv": 'getenv("' + "A" * N + '") == null ? "',
}


def build(root: Path) -> None:
    svc = root / "services" / "cart"
    (svc / "app").mkdir(parents=True)
    (svc / "pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (svc / "app" / "client.py").write_text("import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n")
    (root / "charts/cart/templates").mkdir(parents=True)
    (root / "charts/cart/Chart.yaml").write_text("apiVersion: v2\nname: cart\nversion: 1.0.0\n")
    for name, run in RUNS.items():
        (svc / "app" / f"p_{name}.py").write_text(f"X = {run!r}\n# {run}\n")
        (root / "k8s").mkdir(exist_ok=True)
        (root / "k8s" / f"{name}.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: " + json.dumps(run) + f"\n  raw: {run[:2000]}\n"
        )
        (root / "charts/cart/templates" / f"{name}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\ndata:\n  k: {run}\n")
        (svc / f"{name}.env").write_text(f"URL={run}\n")
        (svc / f"{name}.go").write_text(f'package main\nvar u = "{run}"\n')
    # nesting that ast accepts but libcst parses super-linearly (and its metadata providers recurse)
    (svc / "app" / "p_chain.py").write_text("import requests\nx = requests" + ".a" * 2900 + "()\n")
    (svc / "app" / "p_calls.py").write_text("import requests\nq = requests.Session()" + ".get(u)" * 900 + "\n")
    (svc / "Dockerfile").write_text("FROM python:3.12\n" + "".join(f"ENV V_{i}={run}\n" for i, run in enumerate(RUNS.values())))
    (svc / "nginx.conf").write_text("".join(f"location / {{ proxy_pass {run}; }}\n" for run in RUNS.values()))
    (root / "docker-compose.yml").write_text(
        "services:\n" + "".join(f"  s{i}:\n    image: {json.dumps(run)}\n" for i, run in enumerate(RUNS.values()))
    )


def test_pathological_runs_in_every_file_kind(tmp_path: Path) -> None:
    build(tmp_path)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", "json", "--no-cache", "-j", "1"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    print(f"pathological corpus ({len(RUNS)} runs x 7 file kinds): {elapsed:.1f} s")
    assert ("QS101", "services/cart/app/client.py", 5) in {(f["rule"], f["file"], f["line"]) for f in data["findings"]}
    unexpected = [d for d in data["diagnostics"] if "internal error" in d["message"]
                  and not (d["file"].endswith(("p_chain.py", "p_calls.py")) and "nesting too deep" in d["message"])]
    assert unexpected == []
    skipped = {d["file"] for d in data["diagnostics"] if "libcst-based rules skipped" in d["message"]}
    assert skipped == {"services/cart/app/p_chain.py", "services/cart/app/p_calls.py"}
