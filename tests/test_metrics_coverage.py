"""Coverage metrics from real coverage.py data (SQLite, Cobertura XML, LCOV) produced in a tmp dir."""

from __future__ import annotations

import ast
import importlib.util
import sys

import coverage
import pytest

from qualscan.config import Config
from qualscan.engine.pipeline import scan_sources
from qualscan.metrics import analyze_file, analyze_project
from qualscan.metrics.coverage_data import map_to_files, read_cobertura, read_coverage, read_lcov
from qualscan.model import FileKind, SourceFile

PAY = '''"""Payment module."""


def charge(amount, currency="EUR"):
    if amount <= 0:
        raise ValueError(amount)
    if currency not in ("EUR", "USD"):
        return None
    return {"amount": amount, "currency": currency}


def refund(amount):
    if amount > 100:
        return "manual"
    return "auto"
'''
CART = "def add(x):\n    return x + 1\n"


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Run coverage.py on services/payment/app.py (charge(5) only) and write all three formats."""
    root = tmp_path_factory.mktemp("covrepo")
    pay = root / "services" / "payment" / "app.py"
    pay.parent.mkdir(parents=True)
    pay.write_text(PAY)
    cart = root / "services" / "cart" / "app.py"
    cart.parent.mkdir(parents=True)
    cart.write_text(CART)
    cov = coverage.Coverage(data_file=str(root / ".coverage"), branch=True, source=[str(root / "services")])
    cov.start()
    try:
        spec = importlib.util.spec_from_file_location("qs_cov_payment_app", pay)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.charge(5)
    finally:
        cov.stop()
        sys.modules.pop("qs_cov_payment_app", None)
    cov.save()
    cov.xml_report(outfile=str(root / "coverage.xml"))
    cov.lcov_report(outfile=str(root / "lcov.info"))
    return {
        ".coverage": (root / ".coverage").read_bytes(),
        "coverage.xml": (root / "coverage.xml").read_bytes(),
        "lcov.info": (root / "lcov.info").read_bytes(),
    }


# Executed by charge(5): lines 4 (def), 12 (def refund) at import, 5, 7, 9 in the call.
# Statements: 4, 5, 6, 7, 8, 9, 12, 13, 14, 15 (the docstring on line 1 is not one).
EXECUTED = {4, 5, 7, 9, 12}
STATEMENTS = {4, 5, 6, 7, 8, 9, 12, 13, 14, 15}


def _project(coverage_files: list[tuple[str, bytes]]):
    texts = {"services/payment/app.py": PAY, "services/cart/app.py": CART}
    files = [SourceFile(path=p, kind=FileKind.PYTHON, service=p.split("/")[1]) for p in sorted(texts)]
    facts = {p: analyze_file(p, t, ast.parse(t), Config()) for p, t in texts.items()}
    return analyze_project(
        config=Config(),
        files=files,
        services=(),
        file_facts=facts,
        git_log=None,
        git_problem=None,
        coverage=coverage_files,
        journeys=(),
        critical_services=frozenset({"payment"}),
    )


@pytest.mark.parametrize("name", [".coverage", "coverage.xml", "lcov.info"])
def test_each_format_maps_lines_to_the_scanned_file(measured: dict[str, bytes], name: str) -> None:
    data = read_coverage(name, measured[name])
    mapping = map_to_files(data, ["services/payment/app.py", "services/cart/app.py"])
    # measured paths are absolute (tmp dir); mapped by their path suffix
    assert set(mapping.values()) == {"services/payment/app.py"}
    (measured_path,) = [m for m, f in mapping.items() if f == "services/payment/app.py"][:1]
    if name == ".coverage":
        # raw data: executed lines, the module docstring (line 1) too; reports keep statements only
        assert data[measured_path].covered == EXECUTED | {1}
        assert data[measured_path].executable is None
    else:
        assert data[measured_path].covered == EXECUTED
        assert data[measured_path].executable == STATEMENTS


@pytest.mark.parametrize("name", [".coverage", "coverage.xml", "lcov.info"])
def test_file_function_and_service_rates(measured: dict[str, bytes], name: str) -> None:
    pm = _project([(name, measured[name])])
    assert pm.coverage is not None
    f = pm.coverage["files"]["services/payment/app.py"]
    assert (f["lines"], f["covered"], f["line_rate"]) == (10, 5, 50.0)
    funcs = {fn["qualname"]: fn for fn in pm.functions}
    # charge: lines 4-9, statements 4,5,6,7,8,9 -> 4 covered of 6; refund: 12-15 -> 1 of 4
    assert funcs["charge"]["line_rate"] == round(100 * 4 / 6, 2)
    assert funcs["refund"]["line_rate"] == 25.0
    svc = pm.coverage["services"]["payment"]
    assert (svc["line_rate"], svc["least_covered_file"]) == (50.0, "services/payment/app.py")
    assert pm.services["payment"]["coverage"] == {"value": 50.0, "grade": "D"}
    # cart was never measured: absent, not zero
    assert "cart" not in pm.coverage["services"]
    assert pm.services["cart"]["coverage"] == {"value": None, "grade": None}
    # complexity x uncovered share: refund cc 2 x 0.75 = 1.5, charge cc 3 x 1/3 = 1.0
    ranked = [(r["qualname"], r["score"]) for r in pm.coverage["complex_uncovered"]]
    assert ranked == [("refund", 1.5), ("charge", 1.0)]
    if name != ".coverage":
        # coverage.py measured branches: charge has 4 arcs (2 taken), refund 2 (0 taken)
        assert (f["branches"], f["branches_covered"]) == (6, 2)
        assert svc["branch_rate"] == round(100 * 2 / 6, 2)


def test_no_coverage_data_means_absent() -> None:
    pm = _project([])
    assert pm.coverage is None
    assert "coverage" not in pm.to_json()
    assert all(row["coverage"] == {"value": None, "grade": None} for row in pm.services.values())


def test_broken_coverage_file_is_a_diagnostic() -> None:
    pm = _project([("coverage.xml", b"<coverage><unclosed>")])
    assert pm.coverage is None
    assert [(d.file, d.line) for d in pm.diagnostics] == [("coverage.xml", 1)]
    assert "malformed Cobertura XML" in pm.diagnostics[0].message


def test_cobertura_source_roots_and_relative_names() -> None:
    xml = b"""<?xml version="1.0" ?>
<coverage version="7.6"><sources><source>/ci/work/shop/services</source></sources>
<packages><package name="p"><classes>
<class name="app.py" filename="payment/app.py"><lines>
<line number="4" hits="1"/><line number="5" hits="0" branch="true" condition-coverage="50% (1/2)"/>
</lines></class></classes></package></packages></coverage>"""
    data = read_cobertura(xml)
    assert "/ci/work/shop/services/payment/app.py" in data
    mapping = map_to_files(data, ["services/payment/app.py", "services/cart/app.py"])
    assert mapping["/ci/work/shop/services/payment/app.py"] == "services/payment/app.py"
    fc = data["/ci/work/shop/services/payment/app.py"]
    assert (fc.executable, fc.covered, fc.branches, fc.branches_covered) == ({4, 5}, {4}, 2, 1)


def test_lcov_records() -> None:
    text = "TN:\nSF:services/cart/app.py\nDA:1,1\nDA:2,0\nBRDA:2,0,0,1\nBRDA:2,0,1,-\nend_of_record\n"
    fc = read_lcov(text)["services/cart/app.py"]
    assert (fc.executable, fc.covered, fc.branches, fc.branches_covered) == ({1, 2}, {1}, 2, 1)


def test_coverage_rules_through_the_pipeline(measured: dict[str, bytes]) -> None:
    files: dict[str, str | bytes] = {
        "qualscan.toml": '[journeys]\ncheckout = ["cart", "payment"]\n[rules.QS313]\nmin_cyclomatic = 2\n',
        "services/payment/requirements.txt": "",
        "services/payment/app.py": PAY,
        "services/cart/requirements.txt": "",
        "services/cart/app.py": CART,
        "coverage.xml": measured["coverage.xml"],
    }
    from qualscan.config import parse_config

    config = parse_config(str(files["qualscan.toml"]).encode()).with_overrides(select=("QS308", "QS312", "QS313"))
    result = scan_sources(files, config)
    got = sorted((f.file, f.line, f.rule) for f in result.findings)
    assert got == [
        ("services/payment/app.py", 1, "QS308"),  # 50 % < 60 % on a journey-critical service
        ("services/payment/app.py", 12, "QS313"),  # refund: cc 2, 25 % covered (charge: 67 %, not reported)
    ]
