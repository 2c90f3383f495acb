"""Issue #9, the scanner never executes the scanned repository, never reaches the network, and never
copies secrets into its reports.

* Modules whose import writes a marker file (``__init__.py``, ``conftest.py``, ``setup.py``,
  ``sitecustomize.py``, and modules shadowing the standard library and qualscan's own dependencies,
  picked up from the current directory by ``python -m``), YAML tags that only an unsafe loader would
  call: the scan runs from *inside* the hostile repository, and no marker ever appears.
* The only process qualscan starts is ``git`` (checked with a PEP 578 audit hook), and no socket is
  ever created; the scan also works in a network namespace with no network at all (``unshare -rn``).
* Kubernetes Secret values, ``.env`` values and passwords in connection strings stay out of every format.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
FORMATS = ["json", "text", "sarif", "md", "github", "junit", "html"]
SHADOWED = ["json", "yaml", "ast", "tokenize", "argparse", "typing", "re", "enum", "dataclasses", "pathlib",
            "libcst", "radon", "networkx", "pathspec", "rich", "jinja2", "coverage", "sqlite3", "hashlib",
            "multiprocessing", "concurrent", "tomllib", "xml", "subprocess", "shutil", "tempfile", "importlib"]


def marker_code(marker: Path, name: str) -> str:
    return f"open({str(marker) + '-' + name!r}, 'w').write('executed')\n"


def hostile_repo(root: Path, marker: Path) -> None:
    svc = root / "services" / "cart"
    (svc / "app").mkdir(parents=True)
    (svc / "pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (svc / "app" / "client.py").write_text("import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n")
    for rel in ["services/cart/app/__init__.py", "services/cart/conftest.py", "services/cart/setup.py",
                "sitecustomize.py", "usercustomize.py", "__main__.py", "services/cart/app/__main__.py",
                "services/cart/app/models.py"]:
        (root / rel).write_text(marker_code(marker, rel.replace("/", "_")) + "import requests\nrequests.get('http://x')\n")
    for name in SHADOWED:  # picked up first from the current directory by ``python -m qualscan``
        (root / f"{name}.py").write_text(marker_code(marker, f"shadow-{name}") + "raise SystemExit('shadowed')\n")
    (root / "evil.pth").write_text(f"import os; open({str(marker) + '-pth'!r}, 'w')\n")
    (root / "k8s").mkdir()
    (root / "k8s" / "tags.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tags\ndata:\n"
        f"  a: !!python/object/apply:os.system ['touch {marker}-yaml-apply']\n"
        f"  b: !!python/object/new:subprocess.Popen [['touch', '{marker}-yaml-new']]\n"
        "  c: !!python/name:os.system\n"
        f"  d: !!python/module:{marker.name}\n"
    )
    (root / "docker-compose.yml").write_text(
        f"services:\n  cart:\n    image: !!python/object/apply:os.system ['touch {marker}-compose']\n"
    )
    (root / "charts" / "cart" / "templates").mkdir(parents=True)
    (root / "charts" / "cart" / "Chart.yaml").write_text("apiVersion: v2\nname: cart\nversion: 1.0.0\n")
    (root / "charts" / "cart" / "values.yaml").write_text(
        f"replicas: !!python/object/apply:os.system ['touch {marker}-values']\n"
    )
    (root / "charts" / "cart" / "templates" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec:\n  replicas: {{ .Values.replicas }}\n"
    )


def leftovers(marker: Path) -> list[str]:
    return sorted(p.name for p in marker.parent.iterdir() if p.name.startswith(marker.name))


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_scan_from_inside_a_hostile_repository_executes_nothing(tmp_path: Path, fmt: str) -> None:
    root, marker = tmp_path / "repo", tmp_path / "pwned"
    hostile_repo(root, marker)
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", ".", "-f", fmt, "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "shadowed" not in proc.stderr
    assert leftovers(marker) == []
    if fmt == "json":
        data = json.loads(proc.stdout)
        jsonschema.validate(data, SCHEMA)
        found = {(f["rule"], f["file"], f["line"]) for f in data["findings"]}
        assert ("QS101", "services/cart/app/client.py", 5) in found
        assert ("QS101", "services/cart/app/models.py", 3) in found  # the side-effect module was read as text


def test_project_fixture_hostile_is_never_imported(tmp_path: Path) -> None:
    """fixtures/hostile: ``pwned.py`` writes /tmp/qualscan-pwned when imported, its YAML tag
    would touch /tmp/qualscan-pwned-yaml under an unsafe loader."""
    src = REPO / "fixtures" / "hostile"
    if not src.is_dir():
        pytest.skip("fixtures/hostile is not in this checkout")
    root = tmp_path / "hostile"
    shutil.copytree(src, root)
    markers = [Path("/tmp/qualscan-pwned"), Path("/tmp/qualscan-pwned-yaml")]
    for m in markers:
        m.unlink(missing_ok=True)
    for fmt in ("json", "html", "sarif"):
        proc = subprocess.run([sys.executable, "-m", "qualscan", "scan", ".", "-f", fmt, "--no-cache"],
                              cwd=root, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    assert [m for m in markers if m.exists()] == []


_AUDIT = r"""
import json, sys
events = []
def hook(event, args):
    if event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"):
        events.append([event, str(args[0] if args else "")])
    elif event.startswith("socket.") and event not in ("socket.gethostname",):
        events.append([event, repr(args)[:200]])
    elif event in ("urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"):
        events.append([event, repr(args)[:200]])
sys.addaudithook(hook)
from qualscan.cli import main
code = main(sys.argv[1:])
sys.stderr.write("\nAUDIT " + json.dumps(events) + "\n")
raise SystemExit(code)
"""


def test_only_git_is_started_and_no_socket_is_opened(tmp_path: Path) -> None:
    root, marker = tmp_path / "repo", tmp_path / "pwned"
    hostile_repo(root, marker)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    proc = subprocess.run(
        [sys.executable, "-c", _AUDIT, "scan", str(root), "-f", "json", "--no-cache", "-j", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    events = json.loads(proc.stderr.rsplit("AUDIT ", 1)[1])
    started = {Path(arg).name for event, arg in events if event == "subprocess.Popen"}
    assert started <= {"git"}, events
    assert [e for e in events if e[0].startswith(("socket.", "urllib.", "http.", "ftplib.", "smtplib."))] == []
    assert [e for e in events if e[0] in ("os.system", "os.exec", "os.posix_spawn", "os.spawn")] == []
    assert leftovers(marker) == []


def _unshare_net() -> list[str] | None:
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    return [unshare, "-rn"] if probe.returncode == 0 else None


def test_scan_works_with_no_network_at_all(tmp_path: Path) -> None:
    prefix = _unshare_net()
    if prefix is None:
        pytest.skip("unshare -rn (user + network namespace) is not permitted here")
    root, marker = tmp_path / "repo", tmp_path / "pwned"
    hostile_repo(root, marker)
    (root / "services/cart/app/remote.py").write_text(
        "import requests\n\nURL = 'https://pypi.org/simple/'\n\n\ndef f():\n    return requests.get(URL)\n"
    )
    check = subprocess.run([*prefix, sys.executable, "-c",
                            "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode != 0, "the namespace still has a network"
    proc = subprocess.run([*prefix, sys.executable, "-m", "qualscan", "scan", str(root), "-f", "json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    found = {(f["rule"], f["file"], f["line"]) for f in data["findings"]}
    assert ("QS101", "services/cart/app/remote.py", 7) in found
    assert leftovers(marker) == []


# --- secrets -------------------------------------------------------------------------------------


def secrets_repo(root: Path) -> None:
    svc = root / "services" / "cart"
    (svc / "app").mkdir(parents=True)
    (svc / "pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (svc / "app" / "main.py").write_text(
        "import os\nimport requests\n\n"
        "DB = os.environ.get('DATABASE_URL', 'postgres://admin:PYSECRET111@orders-db:5432/orders')\n"
        "API_KEY = 'sk_live_PYSECRET222'\n\n\ndef pay(u):\n"
        "    return requests.post('https://user:PYSECRET333@payments.example.com/charge?token=PYSECRET555',"
        " headers={'Authorization': 'Bearer PYSECRET444'})\n"
    )
    (svc / ".env").write_text("DB_PASSWORD=ENVSECRET111\nREDIS_URL=redis://:ENVSECRET222@redis:6379/0\n")
    (root / "k8s").mkdir()
    (root / "k8s" / "cart.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cart-secrets\ntype: Opaque\n"
        "data:\n  password: WUFNTFNFQ1JFVDU1NQ==\nstringData:\n  token: YAMLSECRET666\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec:\n  replicas: 1\n"
        "  template:\n    spec:\n      containers:\n        - name: cart\n          image: cart:1.0\n"
        "          env:\n            - name: DATABASE_URL\n              value: postgres://admin:YAMLSECRET777@orders-db:5432/orders\n"
        "            - name: PAYMENTS_URL\n              value: http://svc:YAMLSECRET888@payments:8080/?api_key=YAMLSECRET999\n"
    )
    (root / "docker-compose.yml").write_text(
        "services:\n  cart:\n    build: services/cart\n    environment:\n"
        "      DATABASE_URL: postgres://admin:COMPOSESECRET1@orders-db:5432/orders\n"
        "      POSTGRES_PASSWORD: COMPOSESECRET2\n  orders-db:\n    image: postgres:16\n"
        "    environment:\n      POSTGRES_PASSWORD: COMPOSESECRET3\n"
    )


SECRET_WORDS = ("PYSECRET111", "PYSECRET333", "PYSECRET444", "PYSECRET555", "ENVSECRET", "YAMLSECRET", "WUFNTFNFQ1JFVDU1NQ",
                "COMPOSESECRET")


def test_secret_values_never_reach_a_report(tmp_path: Path) -> None:
    from qualscan.cli import render
    from qualscan.config import Config
    from qualscan.engine.pipeline import scan_path

    secrets_repo(tmp_path)
    result = scan_path(tmp_path, Config(use_cache=False, jobs=1))
    for fmt in FORMATS:
        out = render(result, fmt)
        assert [w for w in SECRET_WORDS if w in out] == [], fmt
    data = json.loads(render(result, "json"))  # the dependency itself is still there, credentials redacted
    details = [e.get("detail", "") for edge in data["edges"] for e in edge["evidence"]]
    assert any("admin:***@orders-db" in d for d in details), details
    proc = subprocess.run([sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", "json", "--no-cache"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0 and [w for w in SECRET_WORDS if w in proc.stdout] == []


def test_secret_values_never_reach_the_graph_export(tmp_path: Path) -> None:
    from qualscan import graph
    from qualscan.config import Config
    from qualscan.engine.pipeline import scan_path_detailed

    secrets_repo(tmp_path)
    _, model, _ = scan_path_detailed(tmp_path, Config(use_cache=False, jobs=1))
    assert model is not None
    for fmt in ("json", "dot", "mermaid", "graphml"):
        out = graph.export(model, fmt)
        assert [w for w in SECRET_WORDS if w in out] == [], fmt
    what_if = json.dumps(graph.what_if(model, "orders-db"))
    assert [w for w in SECRET_WORDS if w in what_if] == []
