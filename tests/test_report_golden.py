"""Golden files: JSON, SARIF and Markdown reports of fixtures/shop through the real pipeline.

``pytest --regen-golden tests/test_report_golden.py`` rewrites tests/golden/shop.{json,sarif,md};
review the diff before committing it.
"""

from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from qualscan.config import load_config
from qualscan.model import ScanResult
from qualscan.reporters import json_report, markdown, sarif

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "shop"
GOLDEN = Path(__file__).parent / "golden"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

RENDERERS: dict[str, Callable[[ScanResult], str]] = {
    "json": json_report.render,
    "sarif": sarif.render,
    "md": markdown.render,
}


@pytest.fixture(scope="module")
def shop_scan(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """Scan a copy of fixtures/shop outside any git repository: the goldens must not depend on
    this repository's history (churn is read with ``git log --since``, which changes with every
    commit touching the fixture and with the date)."""
    from qualscan.engine.pipeline import scan_path

    root = tmp_path_factory.mktemp("golden") / "shop"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".qualscan_cache", "__pycache__"))
    return scan_path(root, load_config(root), use_cache=False)


@pytest.mark.parametrize("ext", sorted(RENDERERS))
def test_golden(ext: str, shop_scan: ScanResult, regen_golden: bool) -> None:
    out = RENDERERS[ext](shop_scan)
    path = GOLDEN / f"shop.{ext}"
    if regen_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(out, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing: run `pytest --regen-golden {Path(__file__).name}`")
    expected = path.read_text(encoding="utf-8")
    if out != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), out.splitlines(True), str(path), "now", n=2)
        )
        pytest.fail(f"{path.name} differs (run pytest --regen-golden if the change is intended):\n{diff[:6000]}")


def test_golden_sarif_is_valid_sarif() -> None:
    path = GOLDEN / "shop.sarif"
    if not path.exists():
        pytest.skip("golden SARIF not generated yet")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(json.loads(path.read_text(encoding="utf-8"))))
    assert not errors, [e.message for e in errors[:5]]


def test_golden_reports_carry_the_weak_points(shop_scan: ScanResult) -> None:
    """The weak points in the JSON golden are exactly what scoring ranks for the scan."""
    data = json.loads(json_report.render(shop_scan))
    assert data["weak_points"] == [wp.to_json() for wp in shop_scan.weak_points]
    assert [wp["rank"] for wp in data["weak_points"]] == list(range(1, len(data["weak_points"]) + 1))
    fps = {f["fingerprint"] for f in data["findings"]}
    for wp in data["weak_points"]:
        assert set(wp["findings"]) <= fps
