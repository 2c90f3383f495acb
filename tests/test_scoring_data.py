"""A realistic hand-built ScanResult of a small shop, shared by the scoring and report tests.

It mirrors what the pipeline produces for a monorepo with a gateway, a storefront, the checkout
chain, a datastore and a broker (Service.attrs as the graph layer fills them, findings with
fingerprints and targets as the engine emits them).
"""

from __future__ import annotations

import hashlib
from typing import Any

from qualscan.model import (
    Confidence,
    Edge,
    Evidence,
    Finding,
    Journey,
    NodeKind,
    RuleInfo,
    ScanResult,
    Service,
    Severity,
)

HOSTILE_MESSAGE = 'timeout missing for "<script>window.__pwned=1</script>"'
HOSTILE_URL = "http://x/<img src=x onerror=\"window.__pwned=2\">"
# an external host named by a URL literal in the scanned code
HOSTILE_NODE = 'evil"><svg onload="window.__pwned=3">'


def _fp(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def svc(name: str, kind: NodeKind = NodeKind.SERVICE, path: str | None = None, **attrs: Any) -> Service:
    return Service(
        name=name,
        path=path if path is not None else (f"services/{name}" if kind == NodeKind.SERVICE else None),
        languages=("python",) if kind == NodeKind.SERVICE else (),
        kind=kind,
        markers=("k8s/" + name + ".yaml",),
        attrs=attrs,
    )


def finding(
    rule: str,
    name: str,
    sev: Severity,
    file: str,
    line: int,
    message: str,
    *,
    service: str | None = None,
    target: str | None = None,
    conf: Confidence = Confidence.HIGH,
    **details: Any,
) -> Finding:
    return Finding(
        rule=rule,
        name=name,
        severity=sev,
        message=message,
        file=file,
        line=line,
        service=service,
        confidence=conf,
        target=target,
        fingerprint=_fp(rule, file, line, message),
        details=details,
    )


RULES = (
    RuleInfo("QS101", "no-timeout", Severity.HIGH, Confidence.HIGH, "Remote call without a timeout", "python",
             "## What it does\nFinds remote calls with no timeout.\n\n## Why it matters during a sales peak\n"
             "A slow upstream holds every worker.\n\n## Example\n```python\nrequests.get(url)\n```\n\n"
             "## Use instead\n```python\nrequests.get(url, timeout=2)\n```", True),
    RuleInfo("QS107", "no-circuit-breaker", Severity.MEDIUM, Confidence.MEDIUM,
             "Critical service calls a non-critical one without a breaker", "python",
             "## What it does\nCritical -> non-critical call with no breaker.\n"),
    RuleInfo("QS201", "single-replica", Severity.HIGH, Confidence.HIGH, "Workload runs a single replica", "project",
             "## What it does\nOne replica.\n"),
    RuleInfo("QS212", "single-point-of-failure", Severity.CRITICAL, Confidence.HIGH,
             "Articulation point of the sync graph", "project", "## What it does\nSPOF.\n"),
    RuleInfo("QS301", "high-cyclomatic-complexity", Severity.MEDIUM, Confidence.HIGH, "Function too complex",
             "python", "## What it does\nComplexity.\n"),
    RuleInfo("QS307", "hotspot", Severity.LOW, Confidence.MEDIUM, "Complex file changed often", "project",
             "## What it does\nHotspot.\n"),
)


def shop_services() -> tuple[Service, ...]:
    return (
        svc("cdn", NodeKind.GATEWAY, path="", tier="edge", journeys=["browse", "checkout"], blast_radius=2,
            fan_in=0, fan_out=1, centrality=0.0, articulation=False, critical=False),
        svc("gateway", NodeKind.GATEWAY, path="deploy/gateway", tier="gateway", replicas=2, has_pdb=True,
            has_hpa=True, journeys=["browse", "checkout"], blast_radius=2, fan_in=1, fan_out=3, centrality=0.55,
            articulation=True, critical=True),
        svc("catalog", tier="application", replicas=3, has_pdb=True, has_hpa=True, journeys=["browse"],
            blast_radius=1, fan_in=1, fan_out=2, centrality=0.2, articulation=False, critical=True),
        svc("cart", tier="application", replicas=2, has_pdb=False, has_hpa=True, journeys=["checkout"],
            blast_radius=1, fan_in=1, fan_out=1, centrality=0.1, articulation=False, critical=True),
        svc("checkout", tier="application", replicas=2, has_pdb=True, has_hpa=False, journeys=["checkout"],
            blast_radius=1, fan_in=1, fan_out=3, centrality=0.35, articulation=True, critical=True),
        svc("payment", tier="application", replicas=1, has_pdb=False, has_hpa=False, journeys=["checkout"],
            blast_radius=1, fan_in=1, fan_out=1, centrality=0.0, articulation=False, critical=True),
        svc("recommendation", tier="application", replicas=1, has_pdb=False, has_hpa=False, journeys=[],
            blast_radius=0, fan_in=2, fan_out=0, centrality=0.0, articulation=False, critical=False),
        svc("postgres", NodeKind.DATASTORE, tier="data", replicas=1, journeys=["browse", "checkout"],
            blast_radius=2, fan_in=3, fan_out=0, centrality=0.0, articulation=True, critical=True),
        svc("kafka", NodeKind.BROKER, tier="middleware", replicas=3, journeys=[], blast_radius=0, fan_in=1,
            fan_out=0, centrality=0.0, articulation=False, critical=False),
    )


def shop_edges() -> tuple[Edge, ...]:
    def e(src: str, dst: str, proto: str = "http", sync: bool = True, file: str = "", line: int = 1,
          **attrs: Any) -> Edge:
        ev = (Evidence(file or f"services/{src}/app/clients.py", line, "code", f"{proto} call"),)
        return Edge(src, dst, proto, sync, ev, attrs)

    return (
        e("cdn", "gateway", file="deploy/cdn.conf", line=3),
        e("gateway", "catalog", file="deploy/gateway/nginx.conf", line=12),
        e("gateway", "cart", file="deploy/gateway/nginx.conf", line=18),
        e("gateway", "checkout", file="deploy/gateway/nginx.conf", line=24),
        e("catalog", "postgres", "sql", line=8),
        e("catalog", "recommendation", line=21, timeout=None),
        e("cart", "postgres", "sql", line=5),
        e("checkout", "payment", line=14, timeout=None, bridge=True),
        e("checkout", "recommendation", line=30),
        e("checkout", "postgres", "sql", line=9),
        e("checkout", "kafka", "kafka", sync=False, line=40),
    )


def shop_journeys() -> tuple[Journey, ...]:
    return (
        Journey("browse", ("cdn", "gateway", "catalog", "postgres"), weight=1.0, budget_s=2.0),
        Journey("checkout", ("cdn", "gateway", "cart", "checkout", "payment", "postgres"), weight=3.0, budget_s=5.0),
    )


def shop_findings(hostile: bool = False) -> tuple[Finding, ...]:
    H, M, L, C = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL
    out = [
        finding("QS101", "no-timeout", H, "services/checkout/app/clients.py", 14,
                "requests.post() to payment has no timeout", service="checkout", target="checkout->payment"),
        finding("QS101", "no-timeout", H, "services/checkout/app/clients.py", 22,
                "requests.get() to payment has no timeout", service="checkout", target="checkout->payment"),
        finding("QS107", "no-circuit-breaker", M, "services/checkout/app/clients.py", 30,
                "critical checkout calls recommendation with no breaker or fallback", service="checkout",
                target="checkout->recommendation", conf=Confidence.MEDIUM),
        finding("QS201", "single-replica", H, "k8s/payment.yaml", 7, "payment runs a single replica",
                service="payment", target="payment"),
        finding("QS212", "single-point-of-failure", C, "k8s/postgres.yaml", 2,
                "postgres is a single point of failure for browse, checkout", target="postgres"),
        finding("QS301", "high-cyclomatic-complexity", M, "services/catalog/app/search.py", 40,
                "search() has cyclomatic complexity 23 (max 15)", service="catalog", function="search"),
        finding("QS307", "hotspot", L, "services/cart/app/pricing.py", 1,
                "pricing.py changed 41 times in 90 days with complexity 38", service="cart",
                conf=Confidence.MEDIUM),
    ]
    if hostile:
        out.append(finding("QS101", "no-timeout", H, "services/catalog/app/<b>evil</b>.py", 3, HOSTILE_MESSAGE,
                           service="catalog", target="catalog->recommendation", url=HOSTILE_URL))
        out.append(finding("QS101", "no-timeout", H, "services/catalog/app/feeds.py", 9,
                           f"requests.get({HOSTILE_URL!r}) has no timeout", service="catalog",
                           target=f"catalog->{HOSTILE_NODE}"))
    return tuple(sorted(out, key=lambda f: f.sort_key))


def shop_metrics() -> dict[str, Any]:
    dims = ("modularity", "coupling", "complexity", "reuse", "coverage", "changeability")
    values = {
        "catalog": (0.8, 0.3, 14.0, 0.9, 0.72, 0.6),
        "cart": (0.6, 0.5, 22.0, 0.8, 0.41, 0.3),
        "checkout": (0.5, 0.7, 18.0, 0.7, 0.55, 0.4),
        "payment": (0.9, 0.2, 6.0, 1.0, 0.88, 0.9),
        "recommendation": (0.7, 0.4, 9.0, 0.95, None, 0.7),
    }
    grades = "ABCDE"
    services: dict[str, Any] = {}
    for i, (name, vals) in enumerate(sorted(values.items())):
        services[name] = {
            d: ({"value": v, "grade": grades[(i + j) % 5]} if v is not None else None)
            for j, (d, v) in enumerate(zip(dims, vals))
        }
    return {"services": services, "files": [], "functions": [], "hotspots": []}


def shop_result(hostile: bool = False, **overrides: Any) -> ScanResult:
    services = shop_services()
    edges = shop_edges()
    if hostile:
        services += (svc(HOSTILE_NODE, NodeKind.EXTERNAL, fan_in=1),)
        edges += (Edge("catalog", HOSTILE_NODE, "http", True,
                       (Evidence("services/catalog/app/feeds.py", 9, "code", HOSTILE_URL),)),)
    kwargs: dict[str, Any] = dict(
        root="shop",
        tool_version="0.1.0",
        services=services,
        edges=edges,
        findings=shop_findings(hostile),
        journeys=shop_journeys(),
        rules=RULES,
        metrics=shop_metrics(),
        event={"name": "Black Friday", "date": "2026-11-27", "peak_factor": 4.0},
    )
    kwargs.update(overrides)
    return ScanResult(**kwargs)


def test_shop_result_is_consistent() -> None:
    result = shop_result(hostile=True)
    names = {s.name for s in result.services}
    for e in result.edges:
        assert e.source in names and e.target in names
    for j in result.journeys:
        assert set(j.path) <= names
    assert len({f.fingerprint for f in result.findings}) == len(result.findings)
