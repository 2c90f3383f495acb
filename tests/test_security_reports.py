"""Issue #9, no injection through reports: strings from the scanned repository (file and directory
names, service names, YAML values, messages built from code) are carried as inert text by every
output format. The HTML report in a real browser is covered by tests/test_browser_html.py; here:
JSON, SARIF, Markdown (rendered to HTML by a CommonMark renderer), JUnit XML, GitHub workflow
commands, the terminal text, and the HTML source.

Two sources of hostile strings: a real repository built in a temp dir and scanned through the real
pipeline, and a ``ScanResult`` whose every free-text field holds the payload.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
from markdown_it import MarkdownIt

from qualscan.config import Config
from qualscan.engine.pipeline import scan_path
from qualscan.model import (
    Confidence,
    Diagnostic,
    Edge,
    Evidence,
    Finding,
    Journey,
    Level,
    RuleInfo,
    ScanResult,
    Service,
    Severity,
    WeakPoint,
)
from qualscan.reporters import github, html, json_report, junit, markdown, sarif, text

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())

PAYLOAD = (
    '<script>alert(1)</script>" onerror="alert(1) <img src=x onerror=alert(1)> '
    "<svg/onload=alert(1)> [x](javascript:alert(1)) | `tick` **bold** _em_ "
    "%0A::warning::pct-injected\n::error file=x::newline-injected\r::set-output name=a::b "
    "\x1b[31mRED\x1b[0m \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ [bold red]rich[/bold red] "
    "]]><!-- --> &amp; &lt;x&gt; \x0b\x01\x7f \u202e\u2066 ${{ github.token }}"
)
FILE = "services/x<svg onload=alert(1)>/app/a<script>alert(1)<!--.py"
SERVICE = 'cart<img src=x onerror=alert(1)>"'
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def hostile_result() -> ScanResult:
    finding = Finding(
        rule="QS101", name="no-timeout", severity=Severity.HIGH, message=PAYLOAD, file=FILE, line=5, column=4,
        end_line=5, service=SERVICE, confidence=Confidence.HIGH, target=f"{SERVICE}->{PAYLOAD}",
        fingerprint="f" * 16, details={"upstream": PAYLOAD, "note": PAYLOAD},
    )
    return ScanResult(
        root=PAYLOAD,
        tool_version="0.1.0",
        services=(Service(name=SERVICE, path="services/x", languages=("python",), attrs={"tier": "application", "note": PAYLOAD}),),
        edges=(Edge(source=SERVICE, target=PAYLOAD, evidence=(Evidence(FILE, 5, "code", PAYLOAD),)),),
        findings=(finding,),
        weak_points=(
            WeakPoint(rank=1, target=SERVICE, kind="service", score=50.0, impact=0.5, likelihood=0.5,
                      reasons=(PAYLOAD,), findings=(finding.fingerprint,), journeys=(PAYLOAD,), fix=PAYLOAD),
        ),
        diagnostics=(Diagnostic(FILE, 2, Level.WARNING, PAYLOAD), Diagnostic(".", 0, Level.INFO, PAYLOAD)),
        journeys=(Journey(name=PAYLOAD, path=(SERVICE, PAYLOAD)),),
        rules=(RuleInfo("QS101", "no-timeout", Severity.HIGH, Confidence.HIGH, "remote call with no timeout", "python"),),
        event={"name": PAYLOAD, "date": "2026-11-27", "peak_factor": 3.0},
    )


def scanned_result(tmp: Path) -> ScanResult:
    """A real repository whose names and values carry markup, scanned through the pipeline."""
    svc = tmp / "services" / "cart<svg onload=alert(1)>"
    (svc / "app").mkdir(parents=True)
    (svc / "pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (svc / "app" / 'a<script>alert(1)<!--" onerror=x.py').write_text(
        "import requests\n\n\ndef fetch():\n    return requests.get("
        + repr("http://pay-<script>:8080/" + PAYLOAD) + ")\n"
    )
    (tmp / "k8s").mkdir()
    (tmp / "k8s" / "x<img src=x onerror=alert(1)>.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + json.dumps("web<script>alert(1)</script>")
        + "\n  annotations:\n    x: " + json.dumps(PAYLOAD) + "\nspec:\n  replicas: 1\n  template:\n    spec:\n"
        "      containers:\n        - name: " + json.dumps("c<svg onload=alert(1)>") + "\n          image: "
        + json.dumps("img<script>:1.0") + "\n"
    )
    (tmp / "k8s" / "broken<script>.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: <script>\n")
    result = scan_path(tmp, Config(use_cache=False, jobs=1))
    assert any("<" in f.file for f in result.findings), "the payload must reach the findings"
    return result


@pytest.fixture(params=["synthetic", "scanned"])
def result(request: pytest.FixtureRequest, tmp_path: Path) -> ScanResult:
    return hostile_result() if request.param == "synthetic" else scanned_result(tmp_path)


# --- JSON and SARIF: data formats, exact round trip -------------------------------------------------


def test_json_is_schema_valid_and_carries_the_strings_exactly(result: ScanResult) -> None:
    data = json.loads(json_report.render(result))
    jsonschema.validate(data, SCHEMA)
    assert [f["message"] for f in data["findings"]] == [f.message for f in result.findings]
    assert [f["file"] for f in data["findings"]] == [f.file for f in result.findings]
    assert [d["message"] for d in data["diagnostics"]] == [d.message for d in result.diagnostics]


def test_sarif_is_schema_valid_and_carries_the_strings_exactly(result: ScanResult) -> None:
    data = json.loads(sarif.render(result))
    jsonschema.validate(data, SARIF_SCHEMA)
    results = data["runs"][0]["results"]
    texts = {r["message"]["text"] for r in results}
    assert {f.message for f in result.findings} <= texts
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in results for loc in r.get("locations", [])}
    # URIs are percent-encoded relative references: markup never appears raw, and decodes back
    from urllib.parse import unquote

    assert {f.file for f in result.findings} <= {unquote(u) for u in uris}
    assert not any("<" in u or " " in u for u in uris)


# --- Markdown: render it like GitHub does (CommonMark + raw HTML allowed) and inspect the HTML ------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


SAFE_TAGS = {"h1", "h2", "h3", "h4", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
             "details", "summary", "ul", "ol", "li", "br", "hr", "blockquote", "sub", "sup"}


def _inert_html(source: str) -> None:
    parser = _Tags()
    parser.feed(source)
    for tag, attrs in parser.tags:
        assert tag in SAFE_TAGS, (tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)


def test_markdown_renders_to_inert_html(result: ScanResult) -> None:
    source = markdown.render(result)
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(source)
    _inert_html(rendered)
    assert "<script" not in rendered and "<img" not in rendered and "<svg" not in rendered
    assert "\x1b" not in source
    for line in source.splitlines():  # the PR comment is a document of its own: no injected commands
        assert not line.startswith("::")


# --- JUnit XML ---------------------------------------------------------------------------------


def test_junit_is_well_formed_and_round_trips(result: ScanResult) -> None:
    root = ET.fromstring(junit.render(result).encode("utf-8"))
    failures = root.findall(".//failure")
    assert len(failures) == len(result.findings)
    expected = sorted(_INVALID_XML.sub("\ufffd", f.message) for f in result.findings)
    assert sorted(f.get("message") or "" for f in failures) == expected
    files = sorted(c.get("file") or "" for c in root.iter("testcase") if c.find("failure") is not None)
    assert files == sorted(_INVALID_XML.sub("\ufffd", f.file) for f in result.findings)
    assert not root.findall(".//x")  # the "]]><x/>" in the payload did not become an element


# --- GitHub workflow commands ------------------------------------------------------------------------


def _unescape(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_commands_cannot_be_injected(result: ScanResult) -> None:
    out = github.render(result)
    lines = out.rstrip("\n").split("\n")  # the runner splits on \n (and \r\n) only; \x0b or U+2028 do not end a command
    assert len(lines) == len(result.findings) + len(result.diagnostics)
    for line in lines:
        m = re.match(r"^::(error|warning|notice) ([^:]*)::(.*)$", line)
        assert m, line
        props = dict(p.split("=", 1) for p in m.group(2).split(","))
        assert set(props) <= {"file", "line", "col", "endLine", "title"}
        assert "\n" not in m.group(3) and "\r" not in m.group(3)
    parsed = [re.match(r"^::\w+ ([^:]*)::(.*)$", ln) for ln in lines]
    assert all(parsed)
    messages = sorted(_unescape(m.group(2)) for m in parsed if m)
    assert messages == sorted([f.message for f in result.findings] + [d.message for d in result.diagnostics])
    files = sorted(_unescape(dict(p.split("=", 1) for p in m.group(1).split(","))["file"]) for m in parsed if m)
    assert files == sorted([f.file for f in result.findings] + [d.file for d in result.diagnostics])


# --- terminal text -----------------------------------------------------------------------------


def test_text_report_has_no_escape_sequences_and_no_rich_markup(result: ScanResult) -> None:
    out = text.render(result, color=False, width=200, max_findings=0)
    assert "\x1b" not in out and "\r" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)
    if result.findings and "[bold red]" in result.findings[0].message:
        assert "[bold red]rich[/bold red]" in out  # shown literally, not interpreted
    colored = text.render(result, color=True, width=200)
    assert "\x1b[31mRED" not in colored  # the repository's own escape sequences are neutralised
    assert "\x1b]8;;http://evil" not in colored


# --- HTML source (the browser test renders it for real) ------------------------------------------------


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_script = False
        self.script_text: list[str] = []
        self.handlers: list[tuple[str, str, str | None]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").lower():
                self.handlers.append((tag, name, value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text.append(data)


def test_html_source_has_no_markup_from_the_repository(result: ScanResult) -> None:
    out = html.render(result)
    parser = _Scripts()
    parser.feed(out)
    assert parser.handlers == []
    for raw in ("<script>alert(1)", "<img src=x onerror", "<svg onload", "<svg/onload", '" onerror="alert(1)'):
        assert raw not in out, raw  # escaped as &lt;...&gt; in markup, \u003c... inside embedded JSON


# --- paths in reports ------------------------------------------------------------------------------


def test_every_path_in_a_scanned_report_is_relative_and_inside_the_root(tmp_path: Path) -> None:
    import os

    root = tmp_path / "repo"
    root.mkdir()
    result = scanned_result(root)
    outside = tmp_path / "outside.py"
    outside.write_text("import requests\nrequests.get('http://x')\n")
    os.symlink(outside, root / "linked.py")
    os.symlink("../../..", root / "up")
    result = scan_path(root, Config(use_cache=False, jobs=1))
    data = json.loads(json_report.render(result))
    paths = [f["file"] for f in data["findings"]] + [d["file"] for d in data["diagnostics"]]
    paths += [e["file"] for edge in data["edges"] for e in edge["evidence"]]
    paths += [f["path"] for f in data["metrics"]["files"]]
    assert paths
    for p in paths:
        pp = PurePosixPath(p)
        assert not pp.is_absolute() and ".." not in pp.parts and "\\" not in p, p
        assert str(tmp_path) not in p
    assert str(tmp_path) not in json_report.render(result)


def test_graph_exports_carry_hostile_names_inertly(tmp_path: Path) -> None:
    from qualscan import graph
    from qualscan.engine.pipeline import scan_path_detailed

    names = ['a"];evil[label="x', "b\nclick b href 'javascript:alert(1)'", "c-->d", "e<script>alert(1)</script>", "g]]><x/>"]
    docs = []
    for i, name in enumerate(names):
        docs.append(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + json.dumps(name) + "\nspec:\n  replicas: 1\n"
            "  template:\n    spec:\n      containers:\n        - name: c\n          image: x:1\n"
        )
        svc = tmp_path / "services" / f"svc{i}"
        (svc / "app").mkdir(parents=True)
        (svc / "pyproject.toml").write_text(f"[project]\nname = {json.dumps(name)}\n")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "all.yaml").write_text("---\n".join(docs))
    (tmp_path / "services" / 'x"];y[label="z').mkdir()
    (tmp_path / "services" / 'x"];y[label="z' / "Dockerfile").write_text("FROM python:3.12\n")
    _, model, _ = scan_path_detailed(tmp_path, Config(use_cache=False, jobs=1))
    assert model is not None and any('"' in s.name or "<" in s.name for s in model.services)
    mermaid = graph.export(model, "mermaid")
    for line in mermaid.splitlines()[1:]:
        assert re.fullmatch(r'  n_\w+(\[|\[\(|\{\{|\[/|\(\()"[^"<>\n]*"(\]|\)\]|\}\}|/\]|\)\))|  n_\w+ -\.?->\|\w+\| n_\w+', line), line
    dot = graph.export(model, "dot")
    for line in dot.splitlines()[3:-1]:  # every statement is one quoted node or edge
        assert re.fullmatch(r'  "(?:[^"\\]|\\.)*"( -> "(?:[^"\\]|\\.)*")? \[.*\];', line), line
    ET.fromstring(graph.export(model, "graphml").encode("utf-8"))
    json.loads(graph.export(model, "json"))
