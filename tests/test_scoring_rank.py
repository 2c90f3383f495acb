"""Weak-point scoring: the documented formula, grouping, weights and determinism."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scoring_data import RULES, finding, shop_findings, shop_result, svc

from qualscan.config import SCHEMA, Config, ConfigError, parse_config
from qualscan.model import Confidence, Journey, NodeKind, ScanResult, Severity, WeakPoint
from qualscan.scoring import (
    WEIGHT_NAMES,
    ScoringError,
    finding_probability,
    noisy_or,
    rank,
    target_of,
    weakest_link,
    weight_problems,
)

CFG = Config()


def by_target(result: ScanResult, config: Config = CFG) -> dict[str, WeakPoint]:
    return {wp.target: wp for wp in rank(result, config)}


def test_shop_ranking_order_and_groups() -> None:
    wps = rank(shop_result(), CFG)
    assert [(wp.rank, wp.target, wp.kind) for wp in wps] == [
        (1, "postgres", "datastore"),
        (2, "checkout->payment", "edge"),
        (3, "payment", "service"),
        (4, "checkout", "service"),
        (5, "cart", "service"),
        (6, "recommendation", "service"),
        (7, "catalog", "service"),
        (8, "checkout->recommendation", "edge"),
        (9, "services/catalog/app/search.py::search", "function"),
        (10, "services/cart/app/pricing.py", "file"),
    ]
    fs = {f.rule + ":" + str(f.line): f.fingerprint for f in shop_findings()}
    edge = wps[1]
    # one weak point, many findings: both QS101 calls to payment are grouped on the edge
    assert edge.findings == (fs["QS101:14"], fs["QS101:22"])
    assert edge.journeys == ("checkout",)
    assert "bridge edge: no alternative path" in edge.reasons
    assert edge.fix.startswith("set an explicit timeout")
    assert wps[0].findings == (fs["QS212:2"],)
    assert wps[0].journeys == ("browse", "checkout")


# (severity, confidence, category weight) -> p, straight from the docstring table
@pytest.mark.parametrize(
    ("rule", "sev", "conf", "expected"),
    [
        ("QS101", Severity.HIGH, Confidence.HIGH, 0.75),
        ("QS101", Severity.CRITICAL, Confidence.MEDIUM, 0.95 * 0.8),
        ("QS201", Severity.HIGH, Confidence.HIGH, 0.8 * 0.75),
        ("QS301", Severity.MEDIUM, Confidence.LOW, 0.5 * 0.5 * 0.6),
        ("QS307", Severity.INFO, Confidence.HIGH, 0.5 * 0.1),
    ],
)
def test_finding_probability_table(rule: str, sev: Severity, conf: Confidence, expected: float) -> None:
    f = finding(rule, "x", sev, "a.py", 1, "m", conf=conf)
    assert finding_probability(f, {"resilience": 1.0, "deployment": 0.8, "code": 0.5}) == pytest.approx(expected)


def test_score_recomputes_from_breakdown() -> None:
    weights = {"journeys": 3.0, "blast_radius": 2.0, "centrality": 1.0, "fan_in": 1.0, "tier": 1.0,
               "critical": 1.0, "spof": 2.0}
    for wp in rank(shop_result(), CFG):
        b = wp.breakdown
        impact = 0.1 + 0.9 * sum(w * b[f"impact.{k}"] for k, w in weights.items()) / sum(weights.values())
        likelihood = noisy_or(b[f"likelihood.{c}"] for c in ("resilience", "deployment", "code"))
        assert wp.impact == pytest.approx(impact)
        assert wp.likelihood == pytest.approx(likelihood)
        assert wp.score == pytest.approx(100 * impact * likelihood)


def test_edge_payment_numbers() -> None:
    """checkout->payment by hand: two high QS101 (p=0.75 each); callee payment on checkout (3 of 4)."""
    wp = by_target(shop_result())["checkout->payment"]
    assert wp.breakdown["likelihood.resilience"] == pytest.approx(1 - 0.25 * 0.25)
    assert wp.likelihood == pytest.approx(0.9375)
    # journeys 3/4, blast 1/2, centrality 0/0.55, fan_in 1/3, tier 0.6, critical 1, spof 1 (bridge)
    s = 3 * 0.75 + 2 * 0.5 + 1 * 0 + 1 * (1 / 3) + 1 * 0.6 + 1 * 1 + 2 * 1
    assert wp.impact == pytest.approx(0.1 + 0.9 * s / 11)


def test_deployment_attributes_count_without_findings() -> None:
    wp = by_target(shop_result())["recommendation"]
    assert wp.findings == ()
    assert "single replica (deployment attribute)" in wp.reasons
    assert wp.breakdown["likelihood.deployment"] == pytest.approx(1 - (1 - 0.4) ** 3)
    # a QS201 finding replaces the replicas fact instead of adding to it
    payment = by_target(shop_result())["payment"]
    assert "single replica (deployment attribute)" not in payment.reasons
    assert payment.breakdown["likelihood.deployment"] == pytest.approx(1 - (1 - 0.6) * (1 - 0.4) * (1 - 0.4))


def test_targets_of_findings() -> None:
    H = Severity.HIGH
    assert target_of(finding("QS101", "n", H, "a.py", 3, "m", target="a -> b")) == ("edge", "a -> b")
    assert target_of(finding("QS201", "n", H, "k.yaml", 3, "m", target="pay")) == ("node", "pay")
    assert target_of(finding("QS302", "n", H, "s/x.py", 7, "m", service="s", qualname="C.f")) == (
        "function", "s/x.py::C.f")
    assert target_of(finding("QS309", "n", H, "s/x.py", 7, "m")) == ("function", "s/x.py::line 7")
    assert target_of(finding("QS307", "n", H, "s/x.py", 1, "m", service="s")) == ("file", "s/x.py")
    assert target_of(finding("QS308", "n", H, "s/x.py", 1, "m", service="s")) == ("node", "s")
    assert target_of(finding("QS110", "n", H, "lib/x.py", 4, "m")) == ("file", "lib/x.py")


def test_edge_target_spacing_is_normalised() -> None:
    f = finding("QS101", "no-timeout", Severity.HIGH, "services/checkout/app/c.py", 5, "m", target="checkout -> payment")
    r = dataclasses.replace(shop_result(), findings=shop_findings() + (f,))
    wp = by_target(r)["checkout->payment"]
    assert f.fingerprint in wp.findings and len(wp.findings) == 3


def test_file_in_unknown_service_gets_floor_impact() -> None:
    f = finding("QS311", "oversized-file", Severity.MEDIUM, "tools/big.py", 1, "big")
    r = ScanResult(root="r", tool_version="0", findings=(f,))
    (wp,) = rank(r, CFG)
    assert (wp.kind, wp.target, wp.rank) == ("file", "tools/big.py", 1)
    assert wp.impact == pytest.approx(0.1)
    assert wp.likelihood == pytest.approx(0.25)
    assert wp.score == pytest.approx(2.5)


def test_file_owner_by_longest_service_path() -> None:
    services = (svc("shop", path="services"), svc("cart", path="services/cart", critical=True))
    f = finding("QS311", "oversized-file", Severity.MEDIUM, "services/cart/x.py", 1, "big")
    (wp,) = [w for w in rank(ScanResult("r", "0", services=services, findings=(f,)), CFG) if w.kind == "file"]
    assert wp.reasons == ("QS311 oversized-file: 1 finding (worst medium)", "in service cart")
    assert wp.breakdown["impact.critical"] == 1.0


def test_weights_from_config_change_the_ranking() -> None:
    base = [wp.target for wp in rank(shop_result(), CFG)]
    cfg = parse_config(b"[scoring.weights]\ncode = 5.0\njourneys = 0\nspof = 0\nblast_radius = 0\n")
    ranked = rank(shop_result(), cfg)
    assert [wp.target for wp in ranked] != base
    hotspot = next(wp for wp in ranked if wp.kind == "file")
    assert hotspot.breakdown["likelihood.code"] == pytest.approx(min(0.99, 5.0 * 0.25 * 0.8))


def test_unknown_weight_names_are_config_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(b"[scoring.weights]\njurneys = 1.0\ncode = 'x'\ntier = 2\n")
    assert exc.value.problems == [
        "scoring.weights.jurneys: unknown key (known keys: blast_radius, centrality, code, critical, deployment, "
        "fan_in, journeys, resilience, spof, tier)",
        "scoring.weights.code: expected an integer or a number, got str",
    ]


def test_negative_weights_are_config_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(b"[scoring.weights]\ncode = -1\ntier = 2\n")
    assert exc.value.problems == ["scoring.weights.code: must be 0 or more, got -1"]


def test_config_schema_knows_every_weight() -> None:
    assert sorted(SCHEMA["scoring"]["weights"]) == sorted(WEIGHT_NAMES)


def test_unknown_weight_names_are_reported_all_at_once() -> None:
    cfg = Config(scoring={"weights": {"jurneys": 1.0, "code": -1, "tier": 2}})
    with pytest.raises(ScoringError) as exc:
        rank(shop_result(), cfg)
    assert exc.value.problems == [
        "scoring.weights.code: must be 0 or more, got -1",
        "scoring.weights.jurneys: unknown weight (known: blast_radius, centrality, code, critical, deployment, "
        "fan_in, journeys, resilience, spof, tier)",
    ]
    assert weight_problems({"tier": True}) == ["scoring.weights.tier: expected a number, got True"]


def test_all_zero_weights_do_not_divide_by_zero() -> None:
    zero = {k: 0 for k in ("journeys", "blast_radius", "centrality", "fan_in", "tier", "critical", "spof")}
    cfg = Config(scoring={"weights": zero})
    for wp in rank(shop_result(), cfg):
        assert wp.impact == pytest.approx(0.1)


def test_empty_result_has_no_weak_points() -> None:
    assert rank(ScanResult(root="r", tool_version="0"), CFG) == ()


def test_deterministic_under_input_order() -> None:
    r = shop_result(hostile=True)
    expected = rank(r, CFG)
    rnd = random.Random(7)
    for _ in range(5):
        fs = list(r.findings)
        ss = list(r.services)
        rnd.shuffle(fs)
        rnd.shuffle(ss)
        assert rank(dataclasses.replace(r, findings=tuple(fs), services=tuple(ss)), CFG) == expected


def test_ties_broken_by_kind_then_name() -> None:
    services = tuple(svc(n, replicas=1) for n in ("zeta", "alpha"))
    f = finding("QS311", "oversized-file", Severity.MEDIUM, "a.py", 1, "m")
    wps = rank(ScanResult("r", "0", services=services, findings=(f,)), CFG)
    assert [(wp.rank, wp.target) for wp in wps] == [(1, "alpha"), (2, "zeta"), (3, "a.py")]


def test_weakest_link_of_journeys() -> None:
    r = dataclasses.replace(shop_result(), weak_points=rank(shop_result(), CFG))
    browse, _checkout = r.journeys
    link = weakest_link(r, browse)
    assert link is not None and link.target == "postgres"
    link = weakest_link(r, Journey("pay", ("checkout", "payment")))
    assert link is not None and link.target == "checkout->payment"
    assert weakest_link(r, Journey("none", ("nowhere",))) is None


SEVERITIES = st.sampled_from(list(Severity))


@settings(max_examples=60, deadline=None)
@given(extra=st.lists(st.tuples(st.sampled_from(["QS101", "QS201", "QS301", "QS307"]), SEVERITIES), max_size=6))
def test_adding_a_finding_never_lowers_a_score(extra: list[tuple[str, Severity]]) -> None:
    base = by_target(shop_result())
    added = tuple(
        finding(code, "n", sev, "k8s/payment.yaml", 100 + i, f"extra {i}", target="payment")
        for i, (code, sev) in enumerate(extra)
    )
    after = by_target(dataclasses.replace(shop_result(), findings=shop_findings() + added))
    assert after["payment"].score >= base["payment"].score - 1e-9
    assert 0 < after["payment"].likelihood <= 1
    for wp in after.values():
        assert 0 <= wp.score <= 100 and math.isfinite(wp.score)


def test_node_kind_from_services_and_unknown_node() -> None:
    services = (svc("kafka", NodeKind.BROKER, tier="middleware"),)
    f1 = finding("QS211", "shared-datastore", Severity.HIGH, "k.yaml", 2, "m", target="kafka")
    f2 = finding("QS212", "single-point-of-failure", Severity.HIGH, "k.yaml", 9, "m", target="ghost")
    wps = by_target(ScanResult("r", "0", services=services, findings=(f1, f2), rules=RULES))
    assert wps["kafka"].kind == "broker"
    assert wps["ghost"].kind == "service"


def test_blast_radius_as_journey_names_is_weighted() -> None:
    """Graph layer form: journey names; degraded journeys count half of their weight."""
    journeys = (Journey("browse", ("a",), weight=1.0), Journey("checkout", ("b",), weight=3.0))
    services = (
        svc("redis", NodeKind.DATASTORE, tier="middleware", blast_radius=["checkout"], degraded_journeys=["browse"]),
        svc("cache", NodeKind.DATASTORE, tier="middleware", blast_radius=["browse"]),
    )
    fs = tuple(finding("QS210", "ephemeral-datastore", Severity.HIGH, f"k8s/{n}.yaml", 3, "m", target=n)
               for n in ("redis", "cache"))
    wps = by_target(ScanResult("r", "0", services=services, findings=fs, journeys=journeys))
    assert wps["redis"].breakdown["impact.blast_radius"] == pytest.approx((3.0 + 0.5) / 4.0)
    assert wps["cache"].breakdown["impact.blast_radius"] == pytest.approx(1.0 / 4.0)
    assert "blast radius: breaks 1 of 2 journeys" in wps["redis"].reasons
    assert wps["redis"].rank == 1


def test_quality_grades_raise_code_likelihood() -> None:
    """catalog (test data): complexity D (14) and reuse E (0.9) -> 1 - (1 - 0.125) * (1 - 0.25)."""
    wp = by_target(shop_result())["catalog"]
    assert wp.findings == ()
    assert wp.breakdown["likelihood.code"] == pytest.approx(1 - (1 - 0.5 * 0.25) * (1 - 0.5 * 0.5))
    assert wp.reasons[:2] == ("quality grade D in complexity (14)", "quality grade E in reuse (0.9)")
    assert wp.fix == ("extract duplicated code into a shared library; "
                      "simplify the most complex functions before the code freeze")
    no_metrics = by_target(dataclasses.replace(shop_result(), metrics={}))
    assert "catalog" not in no_metrics


def test_deployment_facts_by_kind() -> None:
    services = (
        svc("db", NodeKind.DATASTORE, replicas=1, has_pdb=False, has_hpa=False),
        svc("mq", NodeKind.BROKER, replicas=3, has_pdb=False, has_hpa=False),
        svc("dev", replicas=2, has_pdb=False, has_hpa=False, workload_kind="compose"),
        svc("web", replicas=2, has_pdb=False, has_hpa=True, workload_kind="Deployment"),
    )
    wps = by_target(ScanResult("r", "0", services=services))
    assert sorted(wps) == ["db", "web"]
    assert [r for r in wps["db"].reasons if "attribute" in r] == ["single replica (deployment attribute)"]
    assert [r for r in wps["web"].reasons if "attribute" in r] == ["no PodDisruptionBudget (deployment attribute)"]
