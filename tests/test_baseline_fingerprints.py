"""Baseline: fingerprints survive unrelated edits and change when the finding changes; `qualscan
baseline` + `check --baseline` fail only on new findings and say which entries are fixed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _gate_support import CHECKOUT_V1, gate_json, make_repo, run_cli, write

from qualscan.config import parse_config
from qualscan.engine.pipeline import scan_sources
from qualscan.gate import GateError, load_baseline, make_baseline

CONFIG = parse_config(b'[journeys]\nbuy = ["gateway", "checkout", "payment"]\n')
PATH = "services/checkout/app.py"
BASE_FILES = {"services/checkout/Dockerfile": "FROM python:3.12\n"}


def qs101(source: str, path: str = PATH) -> dict[int, str]:
    """line -> fingerprint of every QS101 finding in one file."""
    result = scan_sources({**BASE_FILES, path: source}, CONFIG)
    return {f.line: f.fingerprint for f in result.findings if f.rule == "QS101" and f.file == path}


def the_fingerprint(source: str, path: str = PATH) -> str:
    found = qs101(source, path)
    assert len(found) == 1, found
    return next(iter(found.values()))


ORIGINAL = CHECKOUT_V1  # QS101 on line 5 (requests.get with no timeout in get_cart)

LINES_MOVED = """\
import requests


def pay(order):
    return requests.post("http://payment/pay", json=order, timeout=2)


def get_cart(user):
    return requests.get(f"http://cart/carts/{user}")
"""

CODE_INSERTED_ABOVE = """\
\"\"\"Checkout client helpers.\"\"\"
import logging

import requests

log = logging.getLogger(__name__)
RETRIES = 3


def helper(x):
    if x:
        return x * 2
    return 0


def get_cart(user):
    return requests.get(f"http://cart/carts/{user}")


def pay(order):
    return requests.post("http://payment/pay", json=order, timeout=2)
"""

REFORMATTED = """\
import requests

def get_cart( user ):
    return requests.get(
        f"http://cart/carts/{user}"  # the cart service
    )

def pay(order):
    return requests.post("http://payment/pay",
                         json=order, timeout=2)
"""

DIFFERENT_CALLEE = ORIGINAL.replace('requests.get(f"http://cart/carts/{user}")', 'requests.delete(f"http://cart/carts/{user}")')
DIFFERENT_FUNCTION = ORIGINAL.replace("def get_cart(user)", "def load_cart(user)")


def test_fingerprint_survives_lines_moved_code_inserted_and_reformatting() -> None:
    original = qs101(ORIGINAL)
    assert list(original) == [5]
    fp = original[5]
    assert qs101(LINES_MOVED) == {9: fp}
    assert qs101(CODE_INSERTED_ABOVE) == {17: fp}
    assert qs101(REFORMATTED) == {4: fp}


def test_fingerprint_changes_when_the_finding_changes() -> None:
    fp = the_fingerprint(ORIGINAL)
    assert the_fingerprint(DIFFERENT_CALLEE) != fp  # another call
    assert the_fingerprint(DIFFERENT_FUNCTION) != fp  # the call moved into another function
    assert the_fingerprint(ORIGINAL, "services/checkout/other.py") != fp  # another file


def test_identical_findings_in_one_file_get_distinct_stable_fingerprints() -> None:
    twice = ORIGINAL.replace(
        '    return requests.get(f"http://cart/carts/{user}")\n',
        '    requests.get(f"http://cart/carts/{user}")\n    return requests.get(f"http://cart/carts/{user}")\n',
    )
    found = qs101(twice)
    assert sorted(found) == [5, 6]
    assert len(set(found.values())) == 2
    assert found[5] == the_fingerprint(ORIGINAL)  # the first occurrence keeps the old identity
    shifted = qs101("# a comment above\n" + twice)
    assert shifted == {6: found[5], 7: found[6]}


def test_client_construction_fingerprint_survives_code_inserted_above() -> None:
    src = "import redis\n\nr = redis.Redis(host='redis')\n"
    path = "services/checkout/cache.py"
    before = qs101(src, path)
    after = qs101("import os\n\nDEBUG = os.environ.get('DEBUG')\n" + src, path)
    assert list(before) == [3] and list(after) == [6]
    assert after[6] == before[3]


def test_make_and_load_baseline_round_trip() -> None:
    result = scan_sources({**BASE_FILES, PATH: ORIGINAL}, CONFIG)
    doc = make_baseline(result)
    assert doc["qualscan_baseline"] == 1
    entries = {(e["file"], e["line"], e["rule"]): e["fingerprint"] for e in doc["findings"]}
    assert entries[(PATH, 5, "QS101")] == the_fingerprint(ORIGINAL)
    baseline = load_baseline(json.dumps(doc).encode(), "b.json")
    assert set(baseline.findings) == {f.fingerprint for f in result.findings}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "no findings list"),
        (b'{"findings": [{"rule": "QS101"}]}', "findings[0] has no fingerprint"),
        (b'{"qualscan_baseline": 99, "findings": []}', "format 99 is not supported"),
    ],
)
def test_bad_baseline_files_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(GateError, match=re.escape(message)):
        load_baseline(data, "b.json")


NEW_CALL = '\n\ndef get_stock(sku):\n    return requests.get(f"http://inventory/stock/{sku}")\n'


def test_baseline_then_check_fails_only_on_new_findings_and_lists_fixed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    base_file = tmp_path / "qualscan-baseline.json"
    code, _, err = run_cli("baseline", str(repo), "-o", str(base_file), "--no-cache", "--jobs", "1")
    assert code == 0, err
    recorded = json.loads(base_file.read_text())
    assert (PATH, 5, "QS101") in {(e["file"], e["line"], e["rule"]) for e in recorded["findings"]}

    # day one: nothing new
    code, report, err = gate_json(str(repo), "--baseline", str(base_file), "--no-cache")
    assert code == 0, err
    assert report["gate"]["verdict"] == "pass"
    assert report["findings"] == []
    assert report["gate"]["baseline"]["entries"] == len(recorded["findings"])

    # unrelated edit: code inserted above moves the legacy finding; still not new
    write(repo, {PATH: CODE_INSERTED_ABOVE})
    code, report, err = gate_json(str(repo), "--baseline", str(base_file), "--no-cache")
    assert code == 0, err
    assert report["gate"]["fixed"] == []

    # a new call with no timeout fails the gate, and only it is reported
    write(repo, {PATH: CODE_INSERTED_ABOVE + NEW_CALL})
    code, report, err = gate_json(str(repo), "--baseline", str(base_file), "--no-cache")
    assert code == 1
    new = {(f["file"], f["line"], f["rule"]) for f in report["findings"] if f["rule"] == "QS101"}
    assert new == {(PATH, 25, "QS101")}
    blocking = next(c for c in report["gate"]["conditions"] if c["id"] == "new_findings")["items"]
    assert {(i["file"], i["line"], i["rule"]) for i in blocking} == {(PATH, 25, "QS101")}

    # fixing the legacy finding (and dropping the new call) passes and names the fixed entry
    write(repo, {PATH: CODE_INSERTED_ABOVE.replace('carts/{user}")', 'carts/{user}", timeout=2)')})
    code, out, err = run_cli("check", str(repo), "--baseline", str(base_file), "--no-cache", "--jobs", "1")
    assert code == 0, err
    assert "Quality gate: PASSED" in out
    assert f"{PATH}:5 QS101" in out.split("fixed since the baseline")[1]
    code, report, _ = gate_json(str(repo), "--baseline", str(base_file), "--no-cache")
    assert (PATH, 5, "QS101") in {(e["file"], e["line"], e["rule"]) for e in report["gate"]["fixed"]}
    code, out, err = run_cli("check", str(repo), "--baseline", str(base_file), "--no-cache", "--format", "github")
    assert code == 0
    notice = next(ln for ln in out.splitlines() if ln.startswith("::notice title=qualscan baseline::"))
    assert f"{PATH}:5 QS101" in notice
    assert "baseline entr(ies) now fixed" in err


def test_a_json_report_works_as_a_baseline(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    report_file = tmp_path / "report.json"
    code, _, err = run_cli("scan", str(repo), "-f", "json", "-o", str(report_file), "--no-cache", "--jobs", "1")
    assert code == 0, err
    code, report, err = gate_json(str(repo), "--baseline", str(report_file), "--no-cache")
    assert code == 0, err
    assert report["gate"]["new"] == []


def test_unreadable_baseline_exits_2(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    code, out, err = run_cli("check", str(repo), "--baseline", str(bad), "--no-cache")
    assert (code, out) == (2, "")
    assert "is not a qualscan baseline" in err
    code, _, err = run_cli("check", str(repo), "--baseline", str(tmp_path / "missing.json"), "--no-cache")
    assert code == 2
    assert "cannot read baseline" in err


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
spec:
  replicas: 3
  selector:
    matchLabels: {app: cart}
  template:
    metadata:
      labels: {app: cart}
    spec:
      containers:
        - name: cart
          image: shop/cart:latest
"""


def manifest_fingerprints(text: str) -> dict[str, tuple[int, str]]:
    result = scan_sources({"services/cart/Dockerfile": "FROM python:3.12\n", "deploy/k8s/cart.yaml": text}, CONFIG)
    return {f.rule: (f.line, f.fingerprint) for f in result.findings if f.file == "deploy/k8s/cart.yaml"}


def test_manifest_fingerprints_survive_edits_above_and_reformatting() -> None:
    before = manifest_fingerprints(MANIFEST)
    assert before["QS217"][0] == 15  # unpinned image, on the image: line
    edited = "# cart service\n---\n" + MANIFEST.replace(
        "          image: shop/cart:latest", "          image:   shop/cart:latest   # pin me"
    )
    after = manifest_fingerprints(edited)
    assert set(after) == set(before)
    for rule, (line, fp) in before.items():
        assert after[rule] == (line + 2, fp), rule
    renamed = manifest_fingerprints(MANIFEST.replace("- name: cart", "- name: cart-api").replace("shop/cart:", "shop/cart-api:"))
    assert renamed["QS217"][1] != before["QS217"][1]  # another container, another finding
