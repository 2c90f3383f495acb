"""The gate's verdict logic (qualscan/gate.py) on real ScanResult data, real config TOML and real
coverage data files (coverage.py's SQLite written by actually measuring code, Cobertura XML, LCOV,
coverage JSON)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import coverage
import pytest

from qualscan.config import Config, parse_config
from qualscan.gate import (
    Baseline,
    GateError,
    GateSettings,
    LineCoverage,
    apply_profile_rules,
    choose_profile,
    evaluate,
    gate_result,
    read_coverage,
    resolve_policy,
)
from qualscan.model import Edge, Evidence, Finding, Journey, ScanResult, Service, Severity

CK = "services/checkout/app.py"
CT = "services/catalog/app.py"


def cfg(toml: str) -> Config:
    return parse_config(toml.encode())


def finding(rule: str, sev: Severity, file: str, line: int, service: str, fp: str) -> Finding:
    return Finding(rule=rule, name=rule.lower(), severity=sev, message=f"{rule} at {line}", file=file, line=line,
                   service=service, fingerprint=fp)


def make_result(findings: tuple[Finding, ...] = (), functions: list[dict[str, Any]] | None = None,
                edges: tuple[Edge, ...] = ()) -> ScanResult:
    return ScanResult(
        root="shop",
        tool_version="test",
        services=(
            Service("checkout", "services/checkout", attrs={"critical": True}),
            Service("catalog", "services/catalog", attrs={"critical": False}),
            Service("payment", "services/payment", attrs={}),
        ),
        journeys=(Journey("buy", ("gateway", "checkout", "payment")),),
        findings=findings,
        edges=edges,
        metrics={"functions": functions or []},
    )


def cond(verdict: Any, cid: str) -> dict[str, Any]:
    return next(c for c in verdict.to_json()["conditions"] if c["id"] == cid)


# --- profiles -------------------------------------------------------------------------------------

EVENT = """
[event]
name = "Black Friday"
date = 2026-11-27
freeze_days = 5
"""


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 11, 21), None),  # 6 days before: outside the window
        (dt.date(2026, 11, 22), "freeze"),  # 5 days before
        (dt.date(2026, 11, 27), "freeze"),  # the day itself
        (dt.date(2026, 11, 28), None),  # after the event
    ],
)
def test_freeze_profile_is_chosen_automatically_inside_the_window(today: dt.date, expected: str | None) -> None:
    profile, reason = choose_profile(cfg(EVENT), None, today)
    assert profile == expected
    if expected:
        assert "Black Friday on 2026-11-27 (freeze_days = 5)" in reason


def test_explicit_profile_and_unknown_profile() -> None:
    config = cfg(EVENT + '\n[profiles.relaxed.gate]\nfail_on = "critical"\n')
    assert choose_profile(config, "relaxed", dt.date(2026, 11, 26)) == ("relaxed", "requested with --profile")
    assert choose_profile(config, "freeze", dt.date(2026, 1, 1))[0] == "freeze"  # built in
    with pytest.raises(GateError, match="unknown profile 'nope' \\(known profiles: freeze, relaxed\\)"):
        choose_profile(config, "nope", dt.date(2026, 1, 1))
    assert choose_profile(cfg(""), None, dt.date(2026, 11, 26)) == (None, "")  # no event configured


def test_policy_defaults_config_and_freeze_take_the_stricter_value() -> None:
    assert resolve_policy(Config()).base == GateSettings()
    config = cfg(
        """
[gate]
fail_on = "critical"
max_cyclomatic = 8
min_diff_coverage = 60

[gate.services.payment]
fail_on = "low"

[gate.services.catalog]
fail_on = "critical"
critical_services_only = true

[profiles.freeze.gate]
min_diff_coverage = 90
"""
    )
    normal = resolve_policy(config)
    assert normal.base.fail_on is Severity.CRITICAL
    assert normal.for_service("payment").fail_on is Severity.LOW
    assert normal.for_service("unknown").fail_on is Severity.CRITICAL
    frozen = resolve_policy(config, "freeze", "why")
    assert frozen.base.fail_on is Severity.MEDIUM  # built-in freeze default is stricter than critical
    assert frozen.base.max_cyclomatic == 8  # the config's 8 is stricter than the freeze default 10
    assert frozen.base.max_cognitive == 10
    assert frozen.base.min_diff_coverage == 90.0  # user's freeze profile over the built-in 80
    assert frozen.for_service("payment").fail_on is Severity.LOW  # a stricter service override survives
    assert frozen.for_service("catalog").fail_on is Severity.MEDIUM  # a relaxed one does not
    assert frozen.for_service("catalog").critical_services_only is False
    assert frozen.to_json()["profile_reason"] == "why"


def test_profile_rules_are_merged_into_rule_options() -> None:
    config = cfg('[rules.QS101]\nseverity = "high"\n[profiles.freeze.rules.QS101]\nseverity = "critical"\n'
                 '[profiles.freeze.rules.QS109]\nenabled = false\n')
    frozen = apply_profile_rules(config, "freeze")
    assert frozen.rule_options["QS101"]["severity"] == "critical"
    assert frozen.rule_enabled("QS109") is False
    assert apply_profile_rules(config, None) is config


# --- findings -------------------------------------------------------------------------------------

F_HIGH_CK = finding("QS101", Severity.HIGH, CK, 5, "checkout", "fp-ck-high")
F_MED_CK = finding("QS114", Severity.MEDIUM, CK, 9, "checkout", "fp-ck-med")
F_HIGH_CT = finding("QS110", Severity.HIGH, CT, 3, "catalog", "fp-ct-high")
F_LOW_PAY = finding("QS103", Severity.LOW, "services/payment/pay.py", 7, "payment", "fp-pay-low")


def test_new_findings_at_or_above_threshold_with_service_overrides() -> None:
    result = make_result((F_HIGH_CK, F_MED_CK, F_HIGH_CT, F_LOW_PAY))
    config = cfg('[gate]\nfail_on = "high"\n[gate.services.catalog]\nfail_on = "critical"\n'
                 '[gate.services.payment]\nfail_on = "low"\n')
    verdict = evaluate(result, resolve_policy(config))
    assert not verdict.passed
    items = cond(verdict, "new_findings")["items"]
    assert [(i["file"], i["line"], i["rule"]) for i in items] == [(CK, 5, "QS101"), ("services/payment/pay.py", 7, "QS103")]
    assert set(verdict.blocking) == {"fp-ck-high", "fp-pay-low"}
    assert set(verdict.new) == {"fp-ck-high", "fp-ck-med", "fp-ct-high", "fp-pay-low"}


def test_baseline_hides_old_findings_and_lists_fixed_ones() -> None:
    baseline = Baseline(findings={
        "fp-ck-high": {"fingerprint": "fp-ck-high", "rule": "QS101", "file": CK, "line": 5},
        "fp-gone": {"fingerprint": "fp-gone", "rule": "QS108", "file": CK, "line": 40, "message": "old"},
    })
    result = make_result((F_HIGH_CK, F_MED_CK))
    verdict = evaluate(result, resolve_policy(Config()), baseline=baseline)
    assert verdict.passed
    assert verdict.new == ("fp-ck-med",)
    assert [(e["file"], e["line"], e["rule"]) for e in verdict.fixed] == [(CK, 40, "QS108")]
    assert verdict.to_json()["baseline"] == {"source": "", "entries": 2, "fixed": 1}
    # new_findings_only = false: the baselined high finding counts again
    strict = resolve_policy(cfg("[gate]\nnew_findings_only = false\n"))
    verdict = evaluate(result, strict, baseline=baseline)
    assert not verdict.passed
    assert [(i["file"], i["line"]) for i in cond(verdict, "new_findings")["items"]] == [(CK, 5)]


def test_diff_mode_keeps_findings_on_changed_lines_only() -> None:
    result = make_result((F_HIGH_CK, F_HIGH_CT))
    verdict = evaluate(result, resolve_policy(Config()), changed={CK: frozenset({9, 10}), CT: frozenset({3})})
    assert [(i["file"], i["line"]) for i in cond(verdict, "new_findings")["items"]] == [(CT, 3)]
    reported = gate_result(result, verdict)
    assert [(f.file, f.line, f.rule) for f in reported.findings] == [(CT, 3, "QS110")]
    assert reported.extra["gate"]["verdict"] == "fail"
    assert len(gate_result(result, verdict, all_findings=True).findings) == 2


# --- complexity -----------------------------------------------------------------------------------

FUNCS = [
    {"file": CK, "qualname": "checkout", "line": 10, "end_line": 60, "cyclomatic": 22, "cognitive": 30},
    {"file": CK, "qualname": "small", "line": 70, "end_line": 75, "cyclomatic": 2, "cognitive": 1},
    {"file": CK, "qualname": "legacy", "line": 80, "end_line": 140, "cyclomatic": 40, "cognitive": 50},
    {"file": CT, "qualname": "search", "line": 1, "end_line": 30, "cyclomatic": 25, "cognitive": 28},
    {"file": "services/checkout/tests/test_app.py", "qualname": "test_all", "line": 1, "end_line": 90,
     "cyclomatic": 30, "cognitive": 30, "is_test": True},
]


def test_changed_complex_function_in_critical_service_fails_in_diff_mode() -> None:
    result = make_result(functions=FUNCS)
    changed = {CK: frozenset({42, 72}), CT: frozenset({5}), "services/checkout/tests/test_app.py": frozenset({3})}
    verdict = evaluate(result, resolve_policy(Config()), changed=changed)
    items = cond(verdict, "complexity")["items"]
    # legacy (untouched) and catalog.search (not journey-critical) are not judged
    assert [(i["file"], i["line"], i["function"]) for i in items] == [(CK, 10, "checkout")]
    assert items[0]["message"] == "checkout: cyclomatic 22 > 15, cognitive 30 > 15"
    # the freeze profile judges every service
    frozen = evaluate(result, resolve_policy(Config(), "freeze"), changed=changed)
    assert {(i["file"], i["function"]) for i in cond(frozen, "complexity")["items"]} == {(CK, "checkout"), (CT, "search")}


def test_complexity_against_a_baseline_flags_new_or_grown_functions() -> None:
    result = make_result(functions=FUNCS)
    baseline = Baseline(findings={}, functions={(CK, "checkout"): (22, 30), (CK, "legacy"): (35, 50)}, has_functions=True)
    verdict = evaluate(result, resolve_policy(Config()), baseline=baseline)
    assert [i["function"] for i in cond(verdict, "complexity")["items"]] == ["legacy"]  # grew from 35 to 40
    assert cond(evaluate(make_result(), resolve_policy(Config())), "complexity")["status"] == "skipped"


def test_complexity_in_diff_mode_passes_when_no_changed_file_has_functions() -> None:
    # only the changed files' functions are judged; a diff touching none of them still passes the
    # condition (it is not "skipped": the scan has function metrics)
    policy = resolve_policy(Config())
    only_yaml = evaluate(make_result(functions=FUNCS), policy, changed={"deploy/checkout.yaml": frozenset({3})})
    assert cond(only_yaml, "complexity")["status"] == "pass"
    assert cond(only_yaml, "complexity")["items"] == []
    only_tests = evaluate(make_result(functions=FUNCS), policy, changed={"services/checkout/tests/test_app.py": frozenset({3})})
    assert cond(only_tests, "complexity")["status"] == "pass"
    no_metrics = evaluate(make_result(), policy, changed={CK: frozenset({42})})
    assert cond(no_metrics, "complexity")["status"] == "skipped"


# --- diff coverage --------------------------------------------------------------------------------

APP = """\
def covered(x):
    if x:
        return 1
    return 2


def uncovered(y):
    z = y + 1
    return z
"""


def test_diff_coverage_from_real_coverage_py_data(tmp_path: Path) -> None:
    src = tmp_path / "ci" / "work" / "services" / "checkout"
    src.mkdir(parents=True)
    (src / "app.py").write_text(APP, encoding="utf-8")
    data_file = tmp_path / ".coverage"
    cov = coverage.Coverage(data_file=str(data_file), include=[str(src / "*")])
    sys.path.insert(0, str(src))
    try:
        cov.start()
        import app  # type: ignore[import-not-found]

        app.covered(True)
        cov.stop()
        cov.save()
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("app", None)
    mapped, diags = read_coverage([(".coverage", data_file.read_bytes())], [CK, CT])
    assert diags == []
    assert set(mapped) == {CK}
    assert mapped[CK].covered == frozenset({1, 2, 3, 7})
    assert mapped[CK].executable is None  # the SQLite data records executed lines only

    statements = {CK: frozenset({1, 2, 3, 4, 7, 8, 9})}  # what coverage.py calls statements
    changed = {CK: frozenset({3, 4, 8, 9}), "services/checkout/test_app.py": frozenset({1})}
    policy = resolve_policy(cfg("[gate]\nmin_diff_coverage = 50\n"))
    verdict = evaluate(make_result(), policy, changed=changed, coverage=mapped, statements=statements,
                       test_files=["services/checkout/test_app.py"])
    c = cond(verdict, "diff_coverage")
    assert c["status"] == "fail"
    assert c["summary"] == "diff coverage 25.0% < 50% (1/4 lines; checkout)"
    assert c["items"] == [{"file": CK, "line": 4, "uncovered_lines": [4, 8, 9], "message": "3 changed line(s) not covered"}]
    assert verdict.diff_coverage is not None and verdict.diff_coverage["percent"] == 25.0
    assert evaluate(make_result(), resolve_policy(cfg("[gate]\nmin_diff_coverage = 25\n")), changed=changed,
                    coverage=mapped, statements=statements).passed


COBERTURA = b"""<?xml version="1.0" ?>
<coverage version="7.4">
  <sources><source>/home/runner/work/shop/shop</source></sources>
  <packages><package name="x"><classes>
    <class name="app.py" filename="services/checkout/app.py">
      <lines><line number="1" hits="1"/><line number="2" hits="1"/><line number="3" hits="0"/><line number="5" hits="0"/></lines>
    </class>
  </classes></package></packages>
</coverage>
"""
LCOV = b"TN:\nSF:/builds/shop/services/checkout/app.py\nDA:1,1\nDA:2,1\nDA:3,0\nDA:5,0\nend_of_record\n"


@pytest.mark.parametrize(("name", "data"), [("coverage.xml", COBERTURA), ("lcov.info", LCOV)])
def test_line_coverage_formats(name: str, data: bytes) -> None:
    merged, diags = read_coverage([(name, data)], [CK, CT])
    assert diags == []
    assert merged == {CK: LineCoverage(frozenset({1, 2}), frozenset({1, 2, 3, 5}))}
    verdict = evaluate(make_result(), resolve_policy(cfg("[gate]\nmin_diff_coverage = 80\n")),
                       changed={CK: frozenset({2, 3, 4})}, coverage=merged)
    c = cond(verdict, "diff_coverage")
    assert (c["status"], c["summary"]) == ("fail", "diff coverage 50.0% < 80% (1/2 lines; checkout)")


def test_bad_coverage_data_is_a_diagnostic() -> None:
    files = [("coverage.xml", b"<coverage><class"), (".coverage", b"SQLite format 3\x00garbage"), ("x.dat", b"??")]
    merged, diags = read_coverage(files, [CK])
    assert merged == {}
    assert [(d.file, d.level.value) for d in diags] == [("coverage.xml", "warning"), (".coverage", "warning"), ("x.dat", "warning")]
    assert all(d.message.startswith("coverage data not used by the diff coverage gate") for d in diags)


def test_diff_coverage_skipped_without_diff_or_data_and_missing_files_count_as_uncovered() -> None:
    policy = resolve_policy(cfg("[gate]\nmin_diff_coverage = 80\n"))
    assert cond(evaluate(make_result(), policy), "diff_coverage")["summary"] == "diff coverage needs --diff-base"
    assert cond(evaluate(make_result(), policy, changed={CK: frozenset({1})}), "diff_coverage")["status"] == "skipped"
    other = {"services/checkout/other.py": LineCoverage(frozenset({1}), frozenset({1}))}
    verdict = evaluate(make_result(), policy, changed={CK: frozenset({1, 2, 3})}, coverage=other,
                       statements={CK: frozenset({1, 3})})
    c = cond(verdict, "diff_coverage")
    assert c["status"] == "fail"
    assert c["items"][0]["uncovered_lines"] == [1, 3]


# --- new synchronous dependency without timeout ---------------------------------------------------


def edge(src: str, dst: str, timeout: Any, line: int) -> Edge:
    return Edge(src, dst, "http", True, (Evidence(f"services/{src}/app.py", line),), {"timeout": timeout})


def test_new_sync_edge_without_timeout_from_a_journey_service() -> None:
    edges = (edge("checkout", "payment", None, 12), edge("checkout", "catalog", 2.0, 14), edge("catalog", "search", None, 3))
    result = make_result(edges=edges)
    changed = {CK: frozenset({12, 14}), CT: frozenset({3})}
    verdict = evaluate(result, resolve_policy(Config()), changed=changed)
    items = cond(verdict, "sync_dependency_timeout")["items"]
    assert [(i["file"], i["line"], i["target"]) for i in items] == [(CK, 12, "checkout->payment")]
    # the same edge already recorded in the baseline is not new
    baseline = Baseline(findings={}, edges=frozenset({"checkout->payment:http"}), has_edges=True)
    assert cond(evaluate(result, resolve_policy(Config()), baseline=baseline), "sync_dependency_timeout")["status"] == "pass"
    off = resolve_policy(cfg("[gate]\nfail_on_new_sync_dependency_without_timeout = false\n"))
    assert "sync_dependency_timeout" not in {c["id"] for c in evaluate(result, off).to_json()["conditions"]}


def test_new_qs101_in_a_critical_service_fails_the_sync_condition() -> None:
    result = make_result((F_HIGH_CK, finding("QS101", Severity.HIGH, CT, 8, "catalog", "fp-ct-101")))
    policy = resolve_policy(cfg('[gate]\nfail_on = "critical"\n'))
    verdict = evaluate(result, policy)
    assert cond(verdict, "new_findings")["status"] == "pass"
    items = cond(verdict, "sync_dependency_timeout")["items"]
    assert [(i["file"], i["line"], i["rule"]) for i in items] == [(CK, 5, "QS101")]
    assert not verdict.passed
    assert verdict.reasons == ["1 new synchronous call(s) from a journey-critical service with no timeout"]


def test_file_level_findings_count_when_their_file_changed_at_all() -> None:
    oversized = finding("QS311", Severity.HIGH, CK, 1, "checkout", "fp-oversized")
    on_line_1 = finding("QS101", Severity.HIGH, CT, 1, "catalog", "fp-ct-line1")
    result = make_result((oversized, on_line_1))
    verdict = evaluate(result, resolve_policy(Config()), changed={CK: frozenset({400}), CT: frozenset({2})})
    assert [(i["file"], i["line"], i["rule"]) for i in cond(verdict, "new_findings")["items"]] == [(CK, 1, "QS311")]


def test_baseline_records_only_functions_above_the_lowest_limit() -> None:
    from qualscan.gate import complexity_floor, load_baseline, make_baseline

    config = cfg("[gate]\nmax_cyclomatic = 20\n[gate.services.payment]\nmax_cognitive = 12\n")
    floor = complexity_floor([resolve_policy(config), resolve_policy(config, "freeze")])
    assert floor == 10  # the freeze profile's limits are the lowest
    assert complexity_floor([resolve_policy(cfg('[gate]\nmax_cyclomatic = 7\n'))]) == 7
    doc = make_baseline(make_result(functions=FUNCS), complexity_floor=floor)
    assert [(f["file"], f["qualname"]) for f in doc["functions"]] == [(CT, "search"), (CK, "checkout"), (CK, "legacy")]
    # a function absent from the baseline (it was simple) that is now over a limit is judged
    grown = [*FUNCS, {"file": CK, "qualname": "was_simple", "line": 150, "end_line": 190, "cyclomatic": 16, "cognitive": 3}]
    verdict = evaluate(make_result(functions=grown), resolve_policy(Config()),
                       baseline=load_baseline(json.dumps(doc).encode()))
    assert [i["function"] for i in cond(verdict, "complexity")["items"]] == ["was_simple"]
