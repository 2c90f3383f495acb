"""The sample monorepos, scanned for real: fixtures/shop reports exactly the planted weaknesses
(every `# qualscan: expect[CODE]` mark, nothing else), and fixtures/clean reports nothing above info."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from qualscan.config import load_config
from qualscan.engine.pipeline import scan_path
from qualscan.engine.suppress import parse_expectations
from qualscan.model import ScanResult, Severity
from qualscan.reporters.json_report import to_dict

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "fixtures" / "shop"
CLEAN = REPO / "fixtures" / "clean"
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())


def _scan(root: Path, tmp: Path) -> ScanResult:
    """Scan a copy outside this repository, so the result does not depend on qualscan's own git
    history (the history metrics are tested on scripted repositories of their own)."""
    copy = tmp / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".qualscan_cache", "__pycache__"))
    return scan_path(copy, load_config(copy), use_cache=False)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    return _scan(SHOP, tmp_path_factory.mktemp("shop"))


def _marks(root: Path) -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or ".qualscan_cache" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        rel = path.relative_to(root).as_posix()
        for line, codes in parse_expectations(text).items():
            out |= {(rel, line, code) for code in codes}
    return out


def test_shop_reports_exactly_the_planted_weaknesses(shop: ScanResult) -> None:
    expected = _marks(SHOP)
    reported = {(f.file, f.line, f.rule) for f in shop.findings}
    assert len(expected) >= 20
    assert reported == expected, {
        "missing (marked, not reported)": sorted(expected - reported),
        "unexpected (reported, not marked)": sorted(reported - expected),
    }


def test_shop_json_is_valid_and_lists_the_services(shop: ScanResult) -> None:
    data = to_dict(shop)
    jsonschema.validate(data, SCHEMA)
    services = {s["name"] for s in data["services"] if s["kind"] == "service" or s["path"]}
    assert len(services) >= 10
    for name in ("gateway", "auth", "search", "catalog", "cart", "checkout", "payment", "inventory", "order",
                 "notification", "recommendation"):
        assert name in services, name


def test_shop_has_no_internal_errors(shop: ScanResult) -> None:
    assert not [d for d in shop.diagnostics if "internal error" in d.message]


def test_clean_reports_nothing_above_info(tmp_path: Path) -> None:
    result = _scan(CLEAN, tmp_path)
    above = [(f.rule, f.file, f.line, f.message) for f in result.findings if f.severity > Severity.INFO]
    assert above == []
    assert not [d for d in result.diagnostics if d.level.value == "error"]
    assert len(result.services) >= 2
