"""`qualscan check` end to end: exit codes, the event-freeze profile, CI output formats (GitHub
annotations, SARIF, JUnit, Markdown summary), all through the real CLI on real repositories."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from _gate_support import CHECKOUT_V1, commit, gate_json, git, make_repo, run_cli

STORE = 'import redis\n\nr = redis.Redis(host="redis", socket_timeout=1, socket_connect_timeout=1)\n\n\ndef put(k, v):\n    r.set(k, v)\n'
EVENT = '\n[event]\nname = "Black Friday"\ndate = 2026-11-27\nfreeze_days = 5\n'
NEW_CALL = '\n\ndef get_stock(sku):\n    return requests.get(f"http://inventory/stock/{sku}")\n'
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def freeze_repo(tmp_path: Path) -> Path:
    """Only a medium finding (QS114 at services/checkout/store.py:7): passes the default gate (high)."""
    return make_repo(
        tmp_path / "repo",
        {
            "qualscan.toml": '[journeys]\nbuy = ["gateway", "checkout", "payment"]\n' + EVENT,
            "services/checkout/app.py": CHECKOUT_V1.replace('{user}")', '{user}", timeout=2)'),
            "services/checkout/store.py": STORE,
        },
    )


def test_freeze_profile_applies_automatically_inside_the_window(tmp_path: Path) -> None:
    repo = freeze_repo(tmp_path)
    code, report, err = gate_json(str(repo), "--no-cache", "--today", "2026-11-20")
    assert code == 0, err
    assert report["gate"]["profile"] is None
    code, report, err = gate_json(str(repo), "--no-cache", "--today", "2026-11-24")
    assert code == 1
    assert report["gate"]["profile"] == "freeze"
    assert report["gate"]["profile_reason"] == "3 day(s) before Black Friday on 2026-11-27 (freeze_days = 5)"
    assert report["gate"]["thresholds"]["fail_on"] == "medium"
    items = next(c for c in report["gate"]["conditions"] if c["id"] == "new_findings")["items"]
    assert [(i["file"], i["line"], i["rule"]) for i in items] == [("services/checkout/store.py", 7, "QS114")]
    # and on demand, any day
    code, report, _ = gate_json(str(repo), "--no-cache", "--today", "2026-01-10", "--profile", "freeze")
    assert code == 1
    assert report["gate"]["profile_reason"] == "requested with --profile"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    repo = freeze_repo(tmp_path)
    code, _, err = run_cli("check", str(repo), "--no-cache", "--profile", "nope")
    assert code == 2 and "unknown profile 'nope'" in err
    code, _, err = run_cli("check", str(repo), "--no-cache", "--today", "tomorrow")
    assert code == 2 and "--today" in err
    (repo / "qualscan.toml").write_text('[gate]\nfail_on = "severe"\n', encoding="utf-8")
    code, _, err = run_cli("check", str(repo), "--no-cache")
    assert code == 2 and "gate.fail_on" in err


def feature_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "new call", {"services/checkout/app.py": CHECKOUT_V1 + NEW_CALL})
    return repo


def test_github_annotations_for_new_findings_and_the_verdict(tmp_path: Path) -> None:
    repo = feature_repo(tmp_path)
    code, out, err = run_cli("check", str(repo), "--diff-base", "main", "--format", "github", "--no-cache", "--jobs", "1")
    assert code == 1
    lines = out.splitlines()
    findings = [ln for ln in lines if ln.startswith("::error file=")]
    assert len(findings) == 1
    assert findings[0].startswith("::error file=services/checkout/app.py,line=13,")
    assert "title=QS101 no-timeout [checkout]" in findings[0]
    assert lines[-1].startswith("::error title=qualscan gate::quality gate FAILED: 1 changed-line finding(s)")
    assert "quality gate FAILED" in err


def test_sarif_output_is_valid_and_holds_only_new_findings(tmp_path: Path) -> None:
    repo = feature_repo(tmp_path)
    code, out, _ = run_cli("check", str(repo), "--diff-base", "main", "--format", "sarif", "--no-cache", "--jobs", "1")
    assert code == 1
    sarif = json.loads(out)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    results = sarif["runs"][0]["results"]
    where = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}
    assert ("QS101", "services/checkout/app.py", 13) in where
    assert all(line != 5 for _, _, line in where)


def test_junit_and_markdown_summary(tmp_path: Path) -> None:
    repo = feature_repo(tmp_path)
    summary = tmp_path / "out" / "summary.md"
    report = tmp_path / "out" / "junit.xml"
    code, out, err = run_cli("check", str(repo), "--diff-base", "main", "--format", "junit", "-o", str(report),
                             "--summary", str(summary), "--no-cache", "--jobs", "1")
    assert code == 1, err
    assert out == ""
    tree = ET.parse(report)
    failed = {(c.get("file"), c.get("line")) for c in tree.iter("testcase") if c.find("failure") is not None}
    assert ("services/checkout/app.py", "13") in failed
    md = summary.read_text(encoding="utf-8")
    assert "Gate: **FAIL**" in md
    assert "**QS101** `services/checkout/app.py:13`" in md
    assert "- 1 changed-line finding(s) at or above the severity threshold (high)" in md


def test_text_output_and_passing_gate(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "docs only", {"README.md": "hello\n"})
    code, out, err = run_cli("check", str(repo), "--diff-base", "main", "--no-cache", "--jobs", "1")
    assert code == 0, err
    assert "Quality gate: PASSED" in out
    assert "diff: 1 file(s), 1 line(s) changed since main" in out
    assert "[ok  ] new_findings: no changed-line finding at or above high" in out


def test_json_report_with_the_gate_section_matches_the_report_schema(tmp_path: Path) -> None:
    repo = feature_repo(tmp_path)
    code, report, _ = gate_json(str(repo), "--diff-base", "main", "--no-cache")
    assert code == 1
    schema = json.loads((Path(__file__).parent.parent / "qualscan" / "schema" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    gate = report["gate"]
    assert set(gate) >= {"verdict", "passed", "profile", "reasons", "conditions", "new", "blocking", "fixed",
                         "baseline", "diff", "diff_coverage", "thresholds", "services"}
    assert sorted(gate["new"]) == sorted(f["fingerprint"] for f in report["findings"])


CALC_V1 = "def add(a, b):\n    return a + b\n"
CALC_V2 = CALC_V1 + "\n\ndef scale(x, k):\n    if k < 0:\n        raise ValueError(k)\n    return x * k\n"


def _measure(repo: Path, data_file: Path, xml: Path | None = None) -> None:
    """Run coverage.py for real over the test's own module (as a CI test job would)."""
    import importlib.util
    import sys

    import coverage

    cov = coverage.Coverage(data_file=str(data_file), include=[str(repo / "services" / "*")])
    spec = importlib.util.spec_from_file_location("calc_under_test", repo / "services/checkout/calc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    cov.start()
    try:
        spec.loader.exec_module(module)
        module.scale(2, 3)  # the `raise` line stays uncovered
    finally:
        cov.stop()
        sys.modules.pop("calc_under_test", None)
    cov.save()
    if xml is not None:
        cov.xml_report(outfile=str(xml))


def test_diff_coverage_gate_end_to_end(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {
        "services/checkout/calc.py": CALC_V1,
        "qualscan.toml": '[journeys]\nbuy = ["gateway", "checkout", "payment"]\n[gate]\nfail_on = "critical"\n'
                         "fail_on_new_sync_dependency_without_timeout = false\nmin_diff_coverage = 80\n",
        ".gitignore": ".qualscan_cache/\n.coverage\ncoverage.xml\n",
    })
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "scale", {"services/checkout/calc.py": CALC_V2})
    # no coverage data: the condition is skipped, not failed
    code, report, _ = gate_json(str(repo), "--diff-base", "main", "--no-cache")
    assert code == 0
    cond = next(c for c in report["gate"]["conditions"] if c["id"] == "diff_coverage")
    assert cond["status"] == "skipped"
    # the .coverage database found in the repository (executed lines + statements from the source)
    _measure(repo, repo / ".coverage")
    code, report, err = gate_json(str(repo), "--diff-base", "main", "--no-cache")
    assert code == 1, err
    cond = next(c for c in report["gate"]["conditions"] if c["id"] == "diff_coverage")
    assert cond["summary"] == "diff coverage 75.0% < 80% (3/4 lines; checkout)"
    assert [(i["file"], i["uncovered_lines"]) for i in cond["items"]] == [("services/checkout/calc.py", [7])]
    # Cobertura XML given on the command line gives the same answer
    (repo / ".coverage").unlink()
    _measure(repo, tmp_path / "elsewhere.coverage", tmp_path / "coverage.xml")
    code, out, _ = run_cli("check", str(repo), "--diff-base", "main", "--no-cache", "--jobs", "1",
                           "--coverage", str(tmp_path / "coverage.xml"), "--format", "github")
    assert code == 1
    assert "::error file=services/checkout/calc.py,line=7,title=qualscan gate%3A diff_coverage::1 changed line(s) not covered" in out


REPO_ROOT = Path(__file__).resolve().parents[1]


def test_pre_commit_hooks_and_ci_docs_use_real_options(tmp_path: Path) -> None:
    import re
    import shlex

    import yaml

    from qualscan.cli import build_parser

    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"qualscan", "qualscan-baseline"}
    for hook in hooks:
        argv = shlex.split(hook["entry"])
        assert argv[0] == "qualscan" and hook["pass_filenames"] is False
        build_parser().parse_args(argv[1:])  # exits 2 on an unknown option
    doc = (REPO_ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", doc, re.S):
        yaml.safe_load(block)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--help"])
    check_help = out.getvalue()
    assert "--diff-base" in check_help
    for option in set(re.findall(r"qualscan check [^\n`]*", doc)):
        for flag in re.findall(r"(--[a-z-]+)", option):
            assert flag in check_help, flag


def test_pre_commit_mode_judges_only_uncommitted_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")  # the committed legacy QS101 at line 5 is not judged
    code, _, err = run_cli("check", str(repo), "--diff-base", "HEAD", "--no-cache", "--jobs", "1")
    assert code == 0, err
    (repo / "services/checkout/app.py").write_text(CHECKOUT_V1 + NEW_CALL, encoding="utf-8")
    git(repo, "add", "services/checkout/app.py")
    code, report, _ = gate_json(str(repo), "--diff-base", "HEAD", "--no-cache")
    assert code == 1
    assert {(f["file"], f["line"], f["rule"]) for f in report["findings"] if f["rule"] == "QS101"} == {
        ("services/checkout/app.py", 13, "QS101")
    }


def _branchy(name: str, n: int) -> str:
    body = "".join(f"    {'if' if i == 0 else 'elif'} kind == {i}:\n        return {i}\n" for i in range(n))
    return f"\n\ndef {name}(kind):\n{body}    return -1\n"


def test_complexity_gate_on_changed_functions_with_real_metrics(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {
        # legacy complex code, on main already: not judged in diff mode
        "services/checkout/legacy.py": "LIMIT = 1\n" + _branchy("legacy_route", 20),
    })
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "complex code", {
        "services/checkout/app.py": CHECKOUT_V1.replace('{user}")', '{user}", timeout=2)') + _branchy("route", 18),
        "services/catalog/app.py": "def price(sku):\n    return 10\n" + _branchy("catalog_route", 18),
    })
    code, report, err = gate_json(str(repo), "--diff-base", "main", "--no-cache")
    assert code == 1, err
    cond = next(c for c in report["gate"]["conditions"] if c["id"] == "complexity")
    assert cond["status"] == "fail"
    # catalog is not on a journey (critical_services_only) and legacy.py did not change
    assert [(i["file"], i["line"], i["function"]) for i in cond["items"]] == [("services/checkout/app.py", 12, "route")]
    assert cond["items"][0]["cyclomatic"] == 19
    assert report["gate"]["reasons"] == ["1 changed function(s) over the complexity limits"]
