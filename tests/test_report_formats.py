"""SARIF, GitHub annotations, JUnit, Markdown, terminal text and HTML on hand-built results."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_scoring_data import HOSTILE_MESSAGE, HOSTILE_NODE, RULES, finding, shop_result

from qualscan.config import Config
from qualscan.model import Diagnostic, Level, ScanResult, Severity
from qualscan.reporters import github, html, junit, markdown, sarif, text
from qualscan.scoring import rank

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def ranked(result: ScanResult) -> ScanResult:
    return dataclasses.replace(result, weak_points=rank(result, Config()))


def with_diag(result: ScanResult) -> ScanResult:
    return dataclasses.replace(
        result, diagnostics=(Diagnostic("k8s/broken.yaml", 4, Level.WARNING, "malformed YAML: mapping values"),)
    )


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(doc: dict[str, Any], validator: jsonschema.Draft4Validator) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


# --- SARIF -------------------------------------------------------------------------------------------


def test_sarif_valid_against_official_schema(sarif_validator: jsonschema.Draft4Validator) -> None:
    doc = json.loads(sarif.render(ranked(with_diag(shop_result(hostile=True)))))
    assert_valid_sarif(doc, sarif_validator)


def test_sarif_empty_result_is_valid(sarif_validator: jsonschema.Draft4Validator) -> None:
    doc = json.loads(sarif.render(ScanResult(root="r", tool_version="0.1.0")))
    assert_valid_sarif(doc, sarif_validator)
    assert doc["runs"][0]["results"] == []


def test_sarif_schema_catches_a_broken_log(sarif_validator: jsonschema.Draft4Validator) -> None:
    doc = json.loads(sarif.render(shop_result()))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(sarif_validator.iter_errors(doc))


def test_sarif_results_rules_and_locations() -> None:
    r = shop_result()
    doc = json.loads(sarif.render(r))
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [x["id"] for x in rules] == ["QS101", "QS107", "QS201", "QS212", "QS301", "QS307"]
    qs101 = rules[0]
    assert qs101["help"]["markdown"].startswith("## What it does")
    assert "requests.get(url, timeout=2)" in qs101["help"]["markdown"]
    assert "##" not in qs101["help"]["text"] and "```" not in qs101["help"]["text"]
    assert qs101["defaultConfiguration"]["level"] == "error"
    got = [
        (x["ruleId"], x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         x["locations"][0]["physicalLocation"]["region"]["startLine"], x["level"])
        for x in run["results"]
    ]
    assert got == [
        ("QS201", "k8s/payment.yaml", 7, "error"),
        ("QS212", "k8s/postgres.yaml", 2, "error"),
        ("QS307", "services/cart/app/pricing.py", 1, "note"),
        ("QS301", "services/catalog/app/search.py", 40, "warning"),
        ("QS101", "services/checkout/app/clients.py", 14, "error"),
        ("QS101", "services/checkout/app/clients.py", 22, "error"),
        ("QS107", "services/checkout/app/clients.py", 30, "warning"),
    ]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["partialFingerprints"]["qualscan/v1"]
        assert res["locations"][0]["physicalLocation"]["region"]["startColumn"] == 1


def test_sarif_rule_missing_from_metadata_is_synthesised(sarif_validator: jsonschema.Draft4Validator) -> None:
    f = finding("QS999", "mystery", Severity.LOW, "x.py", 0, "m")
    doc = json.loads(sarif.render(ScanResult("r", "0", findings=(f,))))
    assert_valid_sarif(doc, sarif_validator)
    assert doc["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "QS999"
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_sarif_diagnostics_are_notifications() -> None:
    doc = json.loads(sarif.render(with_diag(shop_result())))
    (n,) = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert n["level"] == "warning"
    assert n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "k8s/broken.yaml"
    assert n["locations"][0]["physicalLocation"]["region"]["startLine"] == 4


# --- GitHub annotations ----------------------------------------------------------------------------


def test_github_escaping_per_actions_toolkit() -> None:
    assert github.escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert github.command("error", "x,y: 1", file="a,b.py", line=3, title="T: t") == (
        "::error file=a%2Cb.py,line=3,title=T%3A t::x,y: 1"
    )


def test_github_lines_for_findings_and_diagnostics() -> None:
    f = finding("QS101", "no-timeout", Severity.HIGH, "svc/a,b.py", 7, "100% broken\nreally", service="svc")
    out = github.render(with_diag(ScanResult("r", "0", findings=(f,)))).splitlines()
    assert out == [
        "::error file=svc/a%2Cb.py,line=7,title=QS101 no-timeout [svc]::100%25 broken%0Areally",
        "::warning file=k8s/broken.yaml,line=4,title=qualscan::malformed YAML%3A mapping values".replace("%3A", ":"),
    ]


def test_github_severity_mapping_and_floor() -> None:
    lines = github.render(shop_result()).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [
        "::error", "::error", "::error", "::error", "::warning", "::warning", "::notice"]
    assert lines[0].startswith("::error file=k8s/postgres.yaml,line=2,title=QS212 single-point-of-failure::")
    assert len(github.render(shop_result(), min_severity="high").splitlines()) == 4


# --- JUnit -------------------------------------------------------------------------------------------


def test_junit_per_rule() -> None:
    r = shop_result(hostile=True)
    root = ET.fromstring(junit.render(r).encode())
    assert root.tag == "testsuites"
    assert root.get("failures") == str(len(r.findings))
    suites = {s.get("name", ""): s for s in root.findall("testsuite")}
    assert sorted(suites) == [f"{x.code} {x.name}" for x in RULES]
    qs101 = suites["QS101 no-timeout"]
    assert qs101.get("tests") == "4" and qs101.get("failures") == "4"
    cases = [(c.get("file"), c.get("line")) for c in qs101.findall("testcase")]
    assert ("services/checkout/app/clients.py", "14") in cases
    msgs = [c.find("failure").get("message") for c in qs101.findall("testcase")]  # type: ignore[union-attr]
    assert HOSTILE_MESSAGE in msgs


def test_junit_per_service_and_clean_rule_passes() -> None:
    r = dataclasses.replace(shop_result(), findings=())
    root = ET.fromstring(junit.render(r, group="service").encode())
    assert root.get("failures") == "0"
    assert all(s.find("testcase/failure") is None for s in root.findall("testsuite"))
    assert len(root.findall("testsuite")) == len(r.services)
    with pytest.raises(ValueError):
        junit.render(r, group="team")


def test_junit_strips_characters_xml_cannot_carry() -> None:
    f = finding("QS101", "no-timeout", Severity.HIGH, "a.py", 1, "bell\x07 nul\x00 esc\x1b ok")
    doc = junit.render(ScanResult("r", "0", findings=(f,)))
    root = ET.fromstring(doc.encode())
    assert root.find("testsuite/testcase/failure").get("message") == "bell\ufffd nul\ufffd esc\ufffd ok"  # type: ignore[union-attr]


# --- Markdown -------------------------------------------------------------------------------------------


def test_markdown_summary() -> None:
    md = markdown.render(ranked(shop_result()), top=3)
    assert md.startswith("## qualscan: peak-readiness summary\nReadiness for Black Friday on 2026-11-27 (peak ×4.0)\n")
    assert "**7 findings**: 🟥 1 critical · 🟧 3 high · 🟨 2 medium · 🟦 1 low" in md
    rows = [line for line in md.splitlines() if re.match(r"^\| \d", line)]
    assert [row.split("|")[2].strip() for row in rows] == ["`postgres`", "`checkout->payment`", "`payment`"]
    assert "- … and 4 more" in md


def test_markdown_escapes_repository_text() -> None:
    md = markdown.render(ranked(shop_result(hostile=True)))
    assert "<script>" not in md and "<img" not in md and "<svg" not in md
    assert "&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;" in md
    assert markdown.escape("a|b\nc*d") == "a\\|b c\\*d"
    assert markdown.code("x`y") == "``x`y``"


def test_markdown_gate_section() -> None:
    r = ranked(shop_result())
    fp = r.findings[0].fingerprint
    gate = {"verdict": "fail", "passed": False, "reasons": ["1 new high finding"], "new": [fp], "blocking": [fp],
            "fixed": [{"rule": "QS101", "file": "old.py", "line": 3}]}
    md = markdown.render(dataclasses.replace(r, extra={"gate": gate}))
    section = md.split("### Against the baseline", 1)[1]
    assert "Gate: **FAIL**" in section
    assert "1 new, 1 fixed since the baseline." in section
    assert f"`{r.findings[0].file}:{r.findings[0].line}`" in section
    assert "1 of the new findings block the merge (marked ⛔)." in section
    assert section.count("⛔") == 2
    assert "### Against the baseline" not in markdown.render(r)


# --- terminal text -----------------------------------------------------------------------------------


def test_text_plain_when_not_a_tty() -> None:
    out = text.render(ranked(with_diag(shop_result(hostile=True))), width=160)
    assert "\x1b" not in out
    assert out.splitlines()[0] == "qualscan - Black Friday (2026-11-27)"
    assert "9 findings: 1 critical, 5 high, 2 medium, 1 low, 0 info" in out
    assert re.search(r"^\s+1\s+postgres\s+datastore\s+\d+\.\d", out, re.M)
    assert "k8s/broken.yaml:4" in out
    assert "<script>window.__pwned=1</script>" in out  # markup is not interpreted


def test_text_neutralises_terminal_escapes() -> None:
    f = finding("QS101", "no-timeout", Severity.HIGH, "a.py", 1, "clear\x1b[2J screen \u202egnp.exe")
    out = text.render(ScanResult("r", "0", findings=(f,)))
    assert "\x1b" not in out and "\u202e" not in out
    assert "clear\\x1b[2J screen \\u202egnp.exe" in out


def test_text_colour_on_request() -> None:
    assert "\x1b[" in text.render(shop_result(), color=True)
    assert "\x1b[" not in text.render(shop_result())  # pytest captures stdout: not a terminal


# --- HTML (static checks; the browser test renders it) ------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_self_contained_and_escaped() -> None:
    page = html.render(ranked(shop_result(hostile=True)))
    p = _Collector()
    p.feed(page)
    tags = [t for t, _ in p.tags]
    assert tags.count("script") == 1
    assert "img" not in tags and "iframe" not in tags
    for tag, attrs in p.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for k in ("src", "href", "xlink:href"):
            v = attrs.get(k)
            assert v is None or v.startswith(("#", "data:", "url(#")), (tag, k, v)
    # the only URLs are the SVG namespace and the (escaped) hostile URL literal from the scanned code
    assert sorted(set(re.findall(r"https?://[^\s\"'<>&]*", page))) == ["http://www.w3.org/2000/svg", "http://x/"]
    body = "".join(p.text)
    assert HOSTILE_MESSAGE in body and HOSTILE_NODE in body
    csp = next(a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp and "unsafe-eval" not in csp


def test_html_sections_and_compare_from_json() -> None:
    old = ranked(shop_result())
    old_json = {
        "tool": {"version": "0.0.9"},
        "findings": [f.to_json() for f in old.findings[1:]],
        "weak_points": [wp.to_json() for wp in old.weak_points],
    }
    page = html.render(ranked(shop_result(hostile=True)), compare=old_json, top=5)
    for anchor in ('id="weak-points"', 'id="journeys"', 'id="dependency-graph"', 'id="matrix"', 'id="services"',
                   'id="findings-table"', 'id="changes"'):
        assert anchor in page
    assert page.count('<tr id="wp-') == 5
    new_block = page.split('id="new-findings"', 1)[1].split("</ul>", 1)[0]
    assert "services/catalog/app/&lt;b&gt;evil&lt;/b&gt;.py:3" in new_block
    assert "services/catalog/app/feeds.py:9" in new_block
    assert old.findings[0].file + ":" + str(old.findings[0].line) in new_block
    assert "qualscan 0.0.9" in page


def test_html_heatmap_grades() -> None:
    rows = html.quality_matrix(shop_result())
    assert [r["service"] for r in rows] == ["cart", "catalog", "checkout", "payment", "recommendation"]
    assert rows[0]["cells"][0] == {"value": 0.6, "grade": "A"}
    assert rows[4]["cells"][4] == {"value": None, "grade": None}
    assert html.quality_matrix(ScanResult("r", "0", metrics={"services": {"a": {"grades": {"coupling": "D"},
                                                                               "coupling": 0.8}}}))[0][
        "cells"][1] == {"value": 0.8, "grade": "D"}


def test_html_layout_is_deterministic_and_tiered() -> None:
    r = ranked(shop_result())
    a = html.layout_graph(r, {})
    b = html.layout_graph(dataclasses.replace(r, services=tuple(reversed(r.services)),
                                              edges=tuple(reversed(r.edges))), {})
    assert [(n.name, n.x, n.y) for n in a.nodes] == [(n.name, n.x, n.y) for n in b.nodes]
    x = {n.name: n.x for n in a.nodes}
    assert x["cdn"] < x["gateway"] < x["checkout"] < x["kafka"] < x["postgres"]
    assert [band["label"] for band in a.bands] == ["edge", "gateway", "application", "middleware", "data"]


def test_html_empty_result_renders() -> None:
    page = html.render(ScanResult("r", "0"))
    assert "No weak points" in page and "No findings." in page and "No services or dependencies found." in page


# --- any repository text, every format ----------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NASTY = st.text(
    alphabet=st.sampled_from(list("<>&\"'`|*_[]()%:,\r\n\t\x00\x07\x1b\\/=; aZ0é☃\u2028\ud7ff\ufffe")), max_size=40
) | st.sampled_from(["<script>alert(1)</script>", '" onerror="alert(1)', "]]></failure><x>", "%0A::error::x"])


_VALIDATOR: list[jsonschema.Draft4Validator] = []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=NASTY, path=NASTY, service=NASTY)
def test_every_format_survives_any_repository_text(message: str, path: str, service: str) -> None:
    if not _VALIDATOR:
        _VALIDATOR.append(jsonschema.Draft4Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))))
    sarif_validator = _VALIDATOR[0]
    f = finding("QS101", "no-timeout", Severity.HIGH, path or "a.py", 3, message, service=service or None,
                target=f"{service}->x" if service else None)
    r = ranked(ScanResult("r", "0", findings=(f,), rules=RULES))
    page = html.render(r)
    parsed = _Collector()
    parsed.feed(page)
    tags = [t for t, _ in parsed.tags]
    assert tags.count("script") == 1 and "x" not in tags and "img" not in tags
    assert not [a for _, attrs in parsed.tags for a in attrs if a.startswith("on")]
    ET.fromstring(junit.render(r).encode())
    assert_valid_sarif(json.loads(sarif.render(r)), sarif_validator)
    lines = github.render(r).split("\n")  # the runner reads commands line by line (LF)
    assert len(lines) == 2 and lines[0].startswith("::error file=") and lines[1] == ""
    md = markdown.render(r)
    outside_code = re.sub(r"(`+).*?\1", "", md)  # GitHub renders code spans literally
    assert "<script" not in outside_code and "<x>" not in outside_code and "\r" not in md
    assert "\x1b" not in text.render(r)


@pytest.mark.parametrize("module", [html, sarif, markdown, text, github, junit], ids=lambda m: m.__name__)
def test_output_is_deterministic(module: Any) -> None:
    r = ranked(with_diag(shop_result(hostile=True)))
    shuffled = dataclasses.replace(r, findings=tuple(reversed(r.findings)), services=tuple(reversed(r.services)),
                                   edges=tuple(reversed(r.edges)))
    assert module.render(r) == module.render(r) == module.render(shuffled)
