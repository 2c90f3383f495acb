"""Weak-point scoring: impact x likelihood, ranked, grouped and explained.

Pure functions over a ``ScanResult``; imports only ``qualscan.model`` and ``qualscan.config``.

Targets
    Every finding belongs to exactly one *target* (one weak point, many findings):

    * ``Finding.target`` when set: ``"src->dst"`` is an **edge**, any other value a graph **node**
      (service, datastore, broker, gateway, external -- its kind comes from ``result.services``);
    * otherwise function-level code rules (QS301, QS302, QS309, QS313) group on the **function**
      ``"<file>::<name>"`` (``details["function"]``/``qualname``/``name``, else ``line N``);
    * other QS3xx file rules (QS303, QS304, QS305, QS306, QS307, QS310, QS311, QS312) group on the **file**;
    * QS308 and everything else group on ``Finding.service``, falling back to the file.

    Services with no finding still become weak points when their deployment attributes
    (``replicas == 1``; for Kubernetes application workloads also ``has_pdb is False`` and
    ``has_hpa is False``; datastores and brokers only count ``replicas``) say they are fragile (each
    such fact counts as a medium deployment finding, unless the matching QS201/QS202/QS203
    finding is already there), or when the quality matrix grades them D or E in a dimension
    (``metrics["services"][name][dim]["grade"]``; a code contribution of
    ``w_code * 0.25`` for D and ``w_code * 0.5`` for E).

Impact (0.1 .. 1)
    ``impact = 0.1 + 0.9 * sum(w_k * f_k) / sum(w_k)`` over the factors ``f_k`` in 0..1:

    ============  ===========================================================================
    journeys      sum of the weights of the journeys the target sits on / total journey weight
    blast_radius  weight of the journeys broken if it fails (``attrs["blast_radius"]``, journey
                  names; ``degraded_journeys`` count half) / total journey weight; a number is
                  read as a count of journeys
    centrality    ``attrs["centrality"]`` / the highest centrality in the scan
    fan_in        ``attrs["fan_in"]`` / the highest fan-in in the scan
    tier          traffic-sandwich tier: edge 0.5, gateway 1.0, application 0.6, middleware 0.8,
                  data 0.9, unknown 0.5
    critical      1 when the service is marked critical
    spof          1 when it is an articulation point of the sync graph (or a bridge edge)
    ============  ===========================================================================

    An edge ``a->b`` takes the factors of its callee ``b`` (a failure propagates to the caller),
    except ``journeys`` (journeys whose path holds both ``a`` and ``b``), ``critical`` (either end)
    and ``spof`` (``b`` is an articulation point or the edge is a bridge). A file or function takes
    the factors of its owning service; with no known service every factor is 0 (impact 0.1).
    The floor of 0.1 keeps a weak point that sits on no journey ranked by its likelihood.

Likelihood (0 .. 1)
    Each finding contributes ``p = min(0.99, w_category * severity_factor * confidence_factor)``
    where the category is ``resilience`` (QS1xx), ``deployment`` (QS2xx) or ``code`` (QS3xx and
    anything else); severity factors are info 0.1, low 0.25, medium 0.5, high 0.75, critical 0.95;
    confidence factors high 1.0, medium 0.8, low 0.6. Within a category contributions combine as a
    noisy-OR ``L_cat = 1 - prod(1 - p)``, and so do the categories:
    ``likelihood = 1 - prod(1 - L_cat)``. Adding a finding never lowers a score; many findings
    saturate towards 1 instead of growing without bound.

Score
    ``score = 100 * impact * likelihood``, ranked by descending score, then kind
    (service, datastore, broker, gateway, external, edge, file, function), then target name --
    deterministic for equal input. ``breakdown`` holds every factor (``impact.<factor>``,
    ``likelihood.<category>``) so a reader can recompute the score.

Weights
    ``config.scoring["weights"]`` overrides any of ``WEIGHT_NAMES`` (non-negative numbers);
    unknown names raise ``ScoringError`` listing every problem (see ``weight_problems``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from qualscan.config import Config
from qualscan.model import Confidence, Edge, Finding, Journey, ScanResult, Service, Severity, WeakPoint

IMPACT_WEIGHTS: dict[str, float] = {
    "journeys": 3.0,
    "blast_radius": 2.0,
    "centrality": 1.0,
    "fan_in": 1.0,
    "tier": 1.0,
    "critical": 1.0,
    "spof": 2.0,
}
LIKELIHOOD_WEIGHTS: dict[str, float] = {"resilience": 1.0, "deployment": 0.8, "code": 0.5}
DEFAULT_WEIGHTS: dict[str, float] = {**IMPACT_WEIGHTS, **LIKELIHOOD_WEIGHTS}
WEIGHT_NAMES: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)

IMPACT_FLOOR = 0.1
SEVERITY_FACTOR: dict[Severity, float] = {
    Severity.INFO: 0.1,
    Severity.LOW: 0.25,
    Severity.MEDIUM: 0.5,
    Severity.HIGH: 0.75,
    Severity.CRITICAL: 0.95,
}
CONFIDENCE_FACTOR: dict[Confidence, float] = {
    Confidence.HIGH: 1.0,
    Confidence.MEDIUM: 0.8,
    Confidence.LOW: 0.6,
}
TIER_FACTOR: dict[str, float] = {
    "edge": 0.5,
    "gateway": 1.0,
    "application": 0.6,
    "middleware": 0.8,
    "data": 0.9,
}
TIER_UNKNOWN = 0.5
TIER_ORDER: tuple[str, ...] = ("edge", "gateway", "application", "middleware", "data")
KIND_ORDER: tuple[str, ...] = ("service", "datastore", "broker", "gateway", "external", "edge", "file", "function")

FUNCTION_CODES = frozenset({"QS301", "QS302", "QS309", "QS313"})
FILE_CODES = frozenset({"QS303", "QS304", "QS305", "QS306", "QS307", "QS310", "QS311", "QS312"})

# A concrete fix per rule code; a weak point's ``fix`` joins the hints of its strongest findings.
FIX_HINTS: dict[str, str] = {
    "QS101": "set an explicit timeout on every call (connect and read) below the journey budget",
    "QS102": "lower the timeout below the journey's end-to-end budget",
    "QS103": "retry idempotent calls with a bounded, jittered backoff",
    "QS104": "add exponential backoff with jitter to the retry",
    "QS105": "bound the retry (stop after N attempts or a deadline)",
    "QS106": "send an idempotency key with retried payment/order writes, or stop retrying them",
    "QS107": "wrap the call in a circuit breaker with a fallback so the critical path degrades",
    "QS108": "move the remote call out of the database transaction",
    "QS109": "batch the remote calls instead of one call per item",
    "QS110": "replace Redis KEYS with SCAN or a maintained index set",
    "QS111": "use an async client or run the blocking call in a thread pool",
    "QS112": "log, count and surface the remote error instead of swallowing it",
    "QS113": "publish through a transactional outbox",
    "QS114": "give every cache entry a TTL",
    "QS115": "bound the in-process cache (maxsize, TTL)",
    "QS116": "publish in batches instead of one message per item",
    "QS201": "run at least 2 replicas (3 for critical services) spread over zones",
    "QS202": "add a PodDisruptionBudget (e.g. maxUnavailable: 1)",
    "QS203": "add a HorizontalPodAutoscaler sized for the peak factor",
    "QS204": "raise HPA maxReplicas to cover the expected peak",
    "QS205": "let the PodDisruptionBudget allow at least one eviction",
    "QS206": "fix the selector / scaleTargetRef so it matches the workload",
    "QS207": "add readiness and liveness probes",
    "QS208": "set CPU/memory requests and limits",
    "QS209": "add pod anti-affinity or topology spread constraints",
    "QS210": "put the datastore on a persistent volume",
    "QS211": "give each service its own datastore or schema owner",
    "QS212": "remove the single point of failure: replicate it or add a fallback path",
    "QS213": "add a redundant path or a fallback for this dependency",
    "QS214": "break the synchronous call cycle (async event or merged responsibility)",
    "QS215": "shorten the synchronous chain (cache, async, or aggregate)",
    "QS216": "split the fan-out hub or make its calls asynchronous",
    "QS217": "pin the image to a digest or immutable tag",
    "QS218": "drop fixed container_name so the service can scale",
    "QS219": "declare the real dependencies in depends_on with health conditions",
    "QS301": "split the function into smaller ones before the code freeze",
    "QS302": "flatten the nested logic (early returns, extracted helpers)",
    "QS303": "refactor the module: smaller functions, fewer branches",
    "QS304": "break the import cycle (move the shared part to its own module)",
    "QS305": "call the other service through its API instead of importing its code",
    "QS306": "extract the cloned code into a shared library",
    "QS307": "freeze or add tests around this churn hotspot before the event",
    "QS308": "raise test coverage of the critical service's least covered files",
    "QS309": "split the oversized function",
    "QS310": "split the oversized class by responsibility",
    "QS311": "split the oversized file into modules",
    "QS312": "add tests for this module",
    "QS313": "cover the complex function with tests",
    # poor quality-matrix grades of a service
    "grade:modularity": "cut the service into cohesive modules (break import cycles)",
    "grade:coupling": "reduce coupling: call other services through their APIs, not their code",
    "grade:complexity": "simplify the most complex functions before the code freeze",
    "grade:reuse": "extract duplicated code into a shared library",
    "grade:coverage": "raise test coverage on the critical paths",
    "grade:changeability": "stabilise the churn hotspots (tests, smaller files) before the freeze",
}
ATTR_FACTS: tuple[tuple[str, Any, str, str], ...] = (
    # (attribute, fragile value, equivalent rule code, reason)
    ("replicas", 1, "QS201", "single replica"),
    ("has_pdb", False, "QS202", "no PodDisruptionBudget"),
    ("has_hpa", False, "QS203", "no autoscaler"),
)
ATTR_FACT_SEVERITY = Severity.MEDIUM
# quality-matrix grades (result.metrics["services"][name][dimension]["grade"]) that raise likelihood
GRADE_FACTOR: dict[str, float] = {"D": 0.25, "E": 0.5}
GRADE_DIMENSIONS: tuple[str, ...] = ("modularity", "coupling", "complexity", "reuse", "coverage", "changeability")


def _poor_grades(result: ScanResult, service: str) -> list[tuple[str, str, float | None]]:
    """(dimension, grade, value) for the service's D/E grades in the quality matrix."""
    per_service = result.metrics.get("services") if result.metrics else None
    data = per_service.get(service) if isinstance(per_service, Mapping) else None
    if not isinstance(data, Mapping):
        return []
    out = []
    for dim in GRADE_DIMENSIONS:
        cell = data.get(dim)
        if isinstance(cell, Mapping) and cell.get("grade") in GRADE_FACTOR:
            v = cell.get("value")
            value = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
            out.append((dim, str(cell["grade"]), value))
    return out


class ScoringError(ValueError):
    """Invalid scoring configuration; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid scoring configuration: " + "; ".join(problems))


def weight_problems(weights: Mapping[str, Any]) -> list[str]:
    """Every problem with a ``[scoring.weights]`` table (unknown names, non-numbers, negatives)."""
    problems: list[str] = []
    for name, value in sorted(weights.items()):
        if name not in DEFAULT_WEIGHTS:
            problems.append(f"scoring.weights.{name}: unknown weight (known: {', '.join(sorted(WEIGHT_NAMES))})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(f"scoring.weights.{name}: expected a number, got {value!r}")
        elif value < 0:
            problems.append(f"scoring.weights.{name}: must be 0 or more, got {value!r}")
    return problems


def resolve_weights(config: Config) -> dict[str, float]:
    """Default weights overridden by ``config.scoring["weights"]``; raises ``ScoringError``."""
    raw = config.scoring.get("weights", {}) or {}
    if not isinstance(raw, Mapping):
        raise ScoringError([f"scoring.weights: expected a table, got {type(raw).__name__}"])
    problems = weight_problems(raw)
    if problems:
        raise ScoringError(problems)
    weights = dict(DEFAULT_WEIGHTS)
    weights.update({k: float(v) for k, v in raw.items()})
    return weights


def category_of(code: str) -> str:
    if code.startswith("QS1"):
        return "resilience"
    if code.startswith("QS2"):
        return "deployment"
    return "code"


def finding_probability(finding: Finding, weights: Mapping[str, float]) -> float:
    """The contribution of one finding to its target's likelihood (see module docstring)."""
    w = weights.get(category_of(finding.rule), 0.0)
    return min(0.99, w * SEVERITY_FACTOR[finding.severity] * CONFIDENCE_FACTOR[finding.confidence])


def noisy_or(values: Iterable[float]) -> float:
    prod = 1.0
    for v in values:
        prod *= 1.0 - max(0.0, min(1.0, v))
    return 1.0 - prod


def target_of(finding: Finding) -> tuple[str, str]:
    """(kind-hint, target) a finding is grouped on. kind-hint: node | edge | file | function."""
    if finding.target:
        return ("edge" if "->" in finding.target else "node", finding.target)
    if finding.rule in FUNCTION_CODES:
        d = finding.details or {}
        name = d.get("function") or d.get("qualname") or d.get("name") or f"line {finding.line}"
        return ("function", f"{finding.file}::{name}")
    if finding.rule in FILE_CODES:
        return ("file", finding.file)
    if finding.service:
        return ("node", finding.service)
    return ("file", finding.file)


def journeys_through(result: ScanResult, name: str) -> list[Journey]:
    return [j for j in result.journeys if name in j.path]


def journeys_on_edge(result: ScanResult, src: str, dst: str) -> list[Journey]:
    return [j for j in result.journeys if src in j.path and dst in j.path]


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return float(len(value))
    return default


@dataclass
class _Group:
    kind_hint: str
    target: str
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class _Scope:
    services: Mapping[str, Service]
    total_weight: float
    n_journeys: int
    max_centrality: float
    max_fan_in: float
    bridges: frozenset[tuple[str, str]]
    weights: Mapping[str, float]  # journey name -> weight


def _scope(result: ScanResult) -> _Scope:
    services = {s.name: s for s in result.services}
    cent = [_num(s.attrs.get("centrality")) for s in result.services]
    fan = [_num(s.attrs.get("fan_in")) for s in result.services]
    bridges = frozenset(
        (e.source, e.target) for e in result.edges if e.attrs.get("bridge") or e.attrs.get("is_bridge")
    )
    return _Scope(
        services=services,
        total_weight=sum(max(0.0, j.weight) for j in result.journeys),
        n_journeys=len(result.journeys),
        max_centrality=max(cent, default=0.0),
        max_fan_in=max(fan, default=0.0),
        bridges=bridges,
        weights={j.name: max(0.0, j.weight) for j in result.journeys},
    )


def service_tier(service: Service | None) -> str | None:
    if service is None:
        return None
    tier = service.attrs.get("tier")
    if isinstance(tier, str) and tier in TIER_FACTOR:
        return tier
    return {"gateway": "gateway", "datastore": "data", "broker": "middleware"}.get(service.kind.value)


def _node_factors(
    result: ScanResult, scope: _Scope, name: str
) -> tuple[dict[str, float], list[Journey], list[str]]:
    svc = scope.services.get(name)
    attrs: Mapping[str, Any] = svc.attrs if svc else {}
    journeys = journeys_through(result, name)
    jw = sum(max(0.0, j.weight) for j in journeys)
    f: dict[str, float] = {}
    f["journeys"] = jw / scope.total_weight if scope.total_weight > 0 else 0.0
    f["blast_radius"] = _blast(attrs, scope) if "blast_radius" in attrs else f["journeys"]
    f["centrality"] = _num(attrs.get("centrality")) / scope.max_centrality if scope.max_centrality > 0 else 0.0
    f["fan_in"] = _num(attrs.get("fan_in")) / scope.max_fan_in if scope.max_fan_in > 0 else 0.0
    tier = service_tier(svc)
    f["tier"] = TIER_FACTOR.get(tier, TIER_UNKNOWN) if tier else (TIER_UNKNOWN if svc else 0.0)
    f["critical"] = 1.0 if attrs.get("critical") else 0.0
    f["spof"] = 1.0 if attrs.get("articulation") else 0.0
    reasons: list[str] = []
    if journeys:
        reasons.append(
            "on journey" + ("s " if len(journeys) > 1 else " ")
            + ", ".join(f"{j.name} (weight {j.weight:g})" for j in sorted(journeys, key=lambda j: j.name))
        )
    if "blast_radius" in attrs and _num(attrs.get("blast_radius")) > 0 and scope.n_journeys:
        reasons.append(f"blast radius: breaks {int(_num(attrs.get('blast_radius')))} of {scope.n_journeys} journeys")
    if attrs.get("articulation"):
        reasons.append("single point of failure (articulation point of the sync graph)")
    if attrs.get("critical"):
        reasons.append("marked critical")
    if _num(attrs.get("fan_in")) >= 3:
        reasons.append(f"fan-in {int(_num(attrs.get('fan_in')))}")
    if tier and tier != "application":
        reasons.append(f"tier: {tier}")
    return f, journeys, reasons


def _blast(attrs: Mapping[str, Any], scope: _Scope) -> float:
    """Share of journey weight broken if the node fails; degraded journeys count half.

    ``blast_radius`` (and ``degraded_journeys``) are journey names (graph layer) or counts."""
    broken = attrs.get("blast_radius")
    degraded = attrs.get("degraded_journeys") or ()
    if isinstance(broken, (list, tuple, set, frozenset)) and scope.total_weight > 0:
        names = set(map(str, broken))
        half = set(map(str, degraded)) - names if isinstance(degraded, (list, tuple, set, frozenset)) else set()
        w = sum(scope.weights.get(n, 1.0) for n in names) + 0.5 * sum(scope.weights.get(n, 1.0) for n in half)
        return min(1.0, w / scope.total_weight)
    if scope.n_journeys:
        return min(1.0, _num(broken) / scope.n_journeys)
    return 0.0


def _impact(factors: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights[k] for k in IMPACT_WEIGHTS)
    if total <= 0:
        return IMPACT_FLOOR
    s = sum(weights[k] * factors.get(k, 0.0) for k in IMPACT_WEIGHTS)
    return IMPACT_FLOOR + (1.0 - IMPACT_FLOOR) * s / total


def _parse_edge(target: str) -> tuple[str, str]:
    src, _, dst = target.partition("->")
    return src.strip(), dst.strip()


def _service_of_path(result: ScanResult, path: str, findings: Sequence[Finding]) -> str | None:
    for f in findings:
        if f.service:
            return f.service
    best: tuple[int, str] | None = None
    for s in result.services:
        if s.path is None:
            continue
        prefix = s.path.rstrip("/")
        if prefix == "" or path == prefix or path.startswith(prefix + "/"):
            cand = (len(prefix), s.name)
            if best is None or cand > best:
                best = cand
    return best[1] if best else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _finding_reasons(findings: Sequence[Finding]) -> list[str]:
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_code[f.rule].append(f)
    out = []
    for code in sorted(by_code, key=lambda c: (-max(f.severity.rank for f in by_code[c]), c)):
        fs = by_code[code]
        worst = max(fs, key=lambda f: f.severity.rank)
        out.append(f"{code} {worst.name}: {_plural(len(fs), 'finding')} (worst {worst.severity.value})")
    return out


def _fix(findings: Sequence[Finding], facts: Sequence[tuple[str, float]], weights: Mapping[str, float]) -> str:
    """Hints of the strongest contributions first (at most 3), ties by code."""
    scored: dict[str, float] = {}
    for f in findings:
        scored[f.rule] = max(scored.get(f.rule, 0.0), finding_probability(f, weights))
    for code, p in facts:
        scored[code] = max(scored.get(code, 0.0), p)
    hints: list[str] = []
    for code, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0])):
        hint = FIX_HINTS.get(code)
        if hint and hint not in hints:
            hints.append(hint)
        if len(hints) == 3:
            break
    return "; ".join(hints)


def rank(result: ScanResult, config: Config) -> tuple[WeakPoint, ...]:
    """Rank every weak point of ``result`` by ``100 * impact * likelihood`` (see module docstring).

    Returns one ``WeakPoint`` per target with a likelihood above 0, ranked 1..n. Raises
    ``ScoringError`` when ``config.scoring["weights"]`` names an unknown weight.
    """
    weights = resolve_weights(config)
    scope = _scope(result)

    groups: dict[tuple[str, str], _Group] = {}
    for finding in sorted(result.findings, key=lambda f: f.sort_key):
        hint, target = target_of(finding)
        if hint == "edge":
            src, dst = _parse_edge(target)
            target = f"{src}->{dst}"
        groups.setdefault((hint, target), _Group(hint, target)).findings.append(finding)
    for svc in result.services:
        groups.setdefault(("node", svc.name), _Group("node", svc.name))

    scored: list[tuple[float, int, str, WeakPoint]] = []
    for (hint, target), group in groups.items():
        findings = group.findings
        codes = {f.rule for f in findings}
        facts: list[tuple[str, float]] = []  # (rule code or grade:<dimension>, contribution)
        fact_reasons: list[str] = []
        grade_ps: list[float] = []
        if hint == "node":
            factors, journeys, ctx_reasons = _node_factors(result, scope, target)
            node_svc = scope.services.get(target)
            kind = node_svc.kind.value if node_svc else "service"
            if node_svc is not None and node_svc.kind.value in ("service", "datastore", "broker"):
                for attr, fragile, code, why in ATTR_FACTS:
                    if attr != "replicas" and (
                        node_svc.kind.value != "service" or node_svc.attrs.get("workload_kind") == "compose"
                    ):
                        continue  # PDB/HPA: Kubernetes application workloads only
                    value = node_svc.attrs.get(attr)
                    if isinstance(fragile, bool):
                        is_fragile = value is fragile
                    else:
                        is_fragile = not isinstance(value, bool) and value == fragile
                    if is_fragile and code not in codes:
                        facts.append((code, min(0.99, weights["deployment"] * SEVERITY_FACTOR[ATTR_FACT_SEVERITY])))
                        fact_reasons.append(f"{why} (deployment attribute)")
                for dim, grade, value in _poor_grades(result, target):
                    grade_ps.append(min(0.99, weights["code"] * GRADE_FACTOR[grade]))
                    facts.append((f"grade:{dim}", grade_ps[-1]))
                    fact_reasons.append(f"quality grade {grade} in {dim} ({value:g})" if value is not None
                                        else f"quality grade {grade} in {dim}")
        elif hint == "edge":
            src, dst = _parse_edge(target)
            factors, _, callee_reasons = _node_factors(result, scope, dst)
            journeys = journeys_on_edge(result, src, dst)
            jw = sum(max(0.0, j.weight) for j in journeys)
            factors["journeys"] = jw / scope.total_weight if scope.total_weight > 0 else 0.0
            s_src = scope.services.get(src)
            s_dst = scope.services.get(dst)
            crit = bool((s_src and s_src.attrs.get("critical")) or (s_dst and s_dst.attrs.get("critical")))
            factors["critical"] = 1.0 if crit else 0.0
            bridge = (src, dst) in scope.bridges
            factors["spof"] = 1.0 if (bridge or (s_dst and s_dst.attrs.get("articulation"))) else 0.0
            kind = "edge"
            ctx_reasons = []
            if journeys:
                ctx_reasons.append("on journey" + ("s " if len(journeys) > 1 else " ") + ", ".join(
                    f"{j.name} (weight {j.weight:g})" for j in sorted(journeys, key=lambda j: j.name)))
            if bridge:
                ctx_reasons.append("bridge edge: no alternative path")
            ctx_reasons += [f"callee {dst}: {r}" for r in callee_reasons if not r.startswith("on journey")]
            if crit:
                ctx_reasons.append("touches a critical service")
        else:
            owner = _service_of_path(result, target.split("::", 1)[0], findings)
            if owner is not None:
                factors, journeys, owner_reasons = _node_factors(result, scope, owner)
                ctx_reasons = [f"in service {owner}"] + [r for r in owner_reasons if r.startswith("on journey")]
            else:
                factors, journeys, ctx_reasons = {k: 0.0 for k in IMPACT_WEIGHTS}, [], []
            kind = hint

        per_cat: dict[str, list[float]] = defaultdict(list)
        for f in findings:
            per_cat[category_of(f.rule)].append(finding_probability(f, weights))
        per_cat["deployment"].extend(p for c, p in facts if not c.startswith("grade:"))
        per_cat["code"].extend(grade_ps)
        cat_l = {cat: noisy_or(per_cat.get(cat, ())) for cat in LIKELIHOOD_WEIGHTS}
        likelihood = noisy_or(cat_l.values())
        if likelihood <= 0.0:
            continue
        impact = _impact(factors, weights)
        score = 100.0 * impact * likelihood

        reasons = _finding_reasons(findings) + fact_reasons + ctx_reasons
        breakdown = {f"impact.{k}": float(factors.get(k, 0.0)) for k in IMPACT_WEIGHTS}
        breakdown.update({f"likelihood.{k}": v for k, v in cat_l.items()})
        wp = WeakPoint(
            rank=0,
            target=target,
            kind=kind,
            score=score,
            impact=impact,
            likelihood=likelihood,
            reasons=tuple(reasons),
            findings=tuple(f.fingerprint for f in findings if f.fingerprint),
            journeys=tuple(sorted({j.name for j in journeys})),
            fix=_fix(findings, facts, weights),
            breakdown=breakdown,
        )
        kind_pos = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        scored.append((round(score, 9), kind_pos, target, wp))

    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    return tuple(replace(wp, rank=i) for i, (_, _, _, wp) in enumerate(scored, start=1))


# --- helpers shared by the reporters (pure, model-only) -----------------------------------------


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts per severity value, every severity present (critical first)."""
    counts = Counter(f.severity for f in findings)
    return {s.value: counts.get(s, 0) for s in sorted(Severity, key=lambda s: -s.rank)}


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by file, line, code."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.sort_key))


def weakest_link(result: ScanResult, journey: Journey) -> WeakPoint | None:
    """The highest-ranked weak point on a journey (a node on its path or an edge between two)."""
    on_path = set(journey.path)
    for wp in result.weak_points:
        if wp.kind == "edge":
            src, dst = _parse_edge(wp.target)
            if src in on_path and dst in on_path:
                return wp
        elif wp.target in on_path:
            return wp
    return None


def edge_findings(result: ScanResult) -> dict[tuple[str, str], list[Finding]]:
    out: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.target and "->" in f.target:
            out[_parse_edge(f.target)].append(f)
    return dict(out)


def edge_key(edge: Edge) -> tuple[str, str]:
    return (edge.source, edge.target)
