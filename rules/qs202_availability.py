"""QS202 no-disruption-budget, QS203 no-autoscaler, QS204 autoscaler-below-peak,
QS205 pdb-blocks-eviction, QS206 selector-matches-nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity
from qualscan.parsers.helm import UNRESOLVED_TEXT

from ._deploy import (
    DATA_KINDS,
    LONG_RUNNING,
    deployment_of,
    effective_min,
    hit,
    node_kind,
    on_journeys,
    primary_workloads,
    severity_for,
)

_DEPLOY = """apiVersion: apps/v1
kind: Deployment{mark}
metadata:
  name: cart
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: cart
  template:
    metadata:
      labels:
        app: cart
    spec:
      containers:
        - name: cart
          image: shop/cart:1.4.2
"""


def deploy(replicas: int = 3, mark: str = "") -> str:
    return _DEPLOY.format(replicas=replicas, mark=mark)


def pdb(value: str = "minAvailable: 1", app: str = "cart", mark: str = "", sel_mark: str = "") -> str:
    return (
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: cart\nspec:\n"
        f"  {value}{mark}\n  selector:{sel_mark}\n    matchLabels:\n      app: {app}\n"
    )


def hpa(min_r: int = 3, max_r: int = 30, mark: str = "", name: str = "cart", name_mark: str = "") -> str:
    return (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: cart\nspec:\n"
        f"  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {name}{name_mark}\n"
        f"  minReplicas: {min_r}\n  maxReplicas: {max_r}{mark}\n"
    )


class NoDisruptionBudget(ProjectRule):
    """
    ## What it does
    Reports Kubernetes Deployments, StatefulSets and Rollouts that no PodDisruptionBudget selects.

    ## Why it matters during a sales peak
    Node upgrades, cluster-autoscaler scale-downs and spot reclaims evict pods voluntarily. Without
    a PDB nothing stops them from evicting every replica of a service at once -- and clusters
    scale and drain the most exactly when traffic peaks.

    ## Example
    ```yaml
    kind: Deployment
    metadata: {name: cart}
    # no PodDisruptionBudget selects app=cart
    ```

    ## Use instead
    ```yaml
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    spec:
      maxUnavailable: 1
      selector: {matchLabels: {app: cart}}
    ```
    """

    code = "QS202"
    name = "no-disruption-budget"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Workload has no PodDisruptionBudget"

    VALID = [{"k8s/app.yaml": deploy(), "k8s/pdb.yaml": pdb()}]
    INVALID = [deploy(mark="  # qualscan: expect[QS202]"), {"k8s/app.yaml": deploy(mark="  # qualscan: expect[QS202]"), "k8s/pdb.yaml": pdb(app="basket")}]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None:
            return
        for w, node in primary_workloads(ctx, compose=False):
            if w.source == "compose" or w.kind not in LONG_RUNNING or dm.pdbs_for(w):
                continue
            yield hit(
                f"no PodDisruptionBudget selects {w.kind} {w.name}{on_journeys(ctx, node)}: a node drain may evict "
                "all its pods at once",
                w.file,
                w.line,
                target=node,
                key=f"{w.kind}/{w.name}",
                service=node,
                severity=severity_for(ctx, node, Severity.MEDIUM, Severity.HIGH),
            )


class NoAutoscaler(ProjectRule):
    """
    ## What it does
    Reports Kubernetes Deployments, StatefulSets and Rollouts of services (not datastores or
    brokers) that no HorizontalPodAutoscaler targets.

    ## Why it matters during a sales peak
    A fixed replica count sized for a normal day cannot absorb a peak several times larger:
    latency climbs, timeouts cascade upstream, and someone scales by hand in the middle of the
    incident.

    ## Example
    ```yaml
    kind: Deployment
    metadata: {name: checkout}
    spec: {replicas: 2}
    ```

    ## Use instead
    ```yaml
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: checkout}
      minReplicas: 3
      maxReplicas: 30
    ```
    """

    code = "QS203"
    name = "no-autoscaler"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Service workload has no HorizontalPodAutoscaler"

    VALID = [
        {"k8s/app.yaml": deploy(), "k8s/hpa.yaml": hpa()},
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: postgres\nspec:\n  replicas: 1\n  serviceName: postgres\n"
        "  selector:\n    matchLabels:\n      app: postgres\n  template:\n    metadata:\n      labels:\n        app: postgres\n"
        "    spec:\n      containers:\n        - name: postgres\n          image: postgres:16.4\n",
    ]
    INVALID = [deploy(mark="  # qualscan: expect[QS203]")]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None:
            return
        for w, node in primary_workloads(ctx, compose=False):
            if w.source == "compose" or w.kind not in LONG_RUNNING or dm.hpa_for(w) is not None:
                continue
            if node_kind(ctx, node) in DATA_KINDS:
                continue
            yield hit(
                f"no HorizontalPodAutoscaler targets {w.kind} {w.name}{on_journeys(ctx, node)}: it stays at "
                f"{w.effective_replicas} replica(s) whatever the traffic",
                w.file,
                w.line,
                target=node,
                key=f"{w.kind}/{w.name}",
                service=node,
                severity=severity_for(ctx, node, Severity.MEDIUM, Severity.HIGH),
            )


class AutoscalerBelowPeak(ProjectRule):
    """
    ## What it does
    Reports HorizontalPodAutoscalers whose `maxReplicas` is below what the configured peak needs:
    `ceil(base × peak_factor)` where `base` is the larger of the workload's `replicas` and the
    HPA's `minReplicas`, and `peak_factor` comes from `[tool.qualscan.event]` (default 3).

    ## Why it matters during a sales peak
    The autoscaler stops at `maxReplicas`. If the event brings eight times the normal traffic and
    the ceiling is twice the normal replica count, the service saturates while the HPA reports
    that it is doing its job.

    ## Example
    ```yaml
    minReplicas: 3
    maxReplicas: 6     # peak_factor = 8 needs 24
    ```

    ## Use instead
    ```yaml
    minReplicas: 3
    maxReplicas: 24
    ```
    """

    code = "QS204"
    name = "autoscaler-below-peak"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "HPA maxReplicas cannot absorb the configured peak"

    VALID = [{"k8s/app.yaml": deploy(), "k8s/hpa.yaml": hpa(3, 30)}]
    INVALID = [
        {"k8s/app.yaml": deploy(), "k8s/hpa.yaml": hpa(3, 6, mark="  # qualscan: expect[QS204]")},
        {
            "pyproject.toml": "[tool.qualscan.event]\nname = 'Black Friday'\npeak_factor = 8\n",
            "k8s/app.yaml": deploy(),
            "k8s/hpa.yaml": hpa(3, 20, mark="  # qualscan: expect[QS204]"),
        },
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None:
            return
        factor = ctx.config.peak_factor
        for h in dm.hpas:
            if h.max_replicas is None or not h.max_line:
                continue
            target = next(
                (w for w in dm.k8s_workloads_named(h.target_name) if not h.target_kind or w.kind == h.target_kind),
                None,
            )
            base = max(h.min_replicas, target.effective_replicas if target and target.replicas is not None else 0, 1)
            needed = math.ceil(base * factor)
            if h.max_replicas >= needed:
                continue
            node = dm.node(target) if target else None
            yield hit(
                f"HPA {h.name} caps {h.target_name} at {h.max_replicas} replicas; the event's peak factor "
                f"{factor:g} on a base of {base} needs {needed}",
                h.file,
                h.max_line,
                target=node,
                key=f"hpa/{h.name}",
                service=node,
                details={"max_replicas": h.max_replicas, "needed": needed, "peak_factor": factor},
            )


class PdbBlocksEviction(ProjectRule):
    """
    ## What it does
    Reports PodDisruptionBudgets that forbid every voluntary eviction: `maxUnavailable: 0`
    (or `0%`), `minAvailable: 100%`, or an integer `minAvailable` greater than or equal to the
    replicas of the workload it selects -- or to its HPA's `minReplicas`, which the HPA may scale
    down to.

    ## Why it matters during a sales peak
    A PDB that can never be satisfied blocks node drains: cluster upgrades stall, the cluster
    autoscaler cannot remove or replace nodes, and an urgent node rotation during the event turns
    into manual pod deletion.

    ## Example
    ```yaml
    kind: PodDisruptionBudget
    spec:
      minAvailable: 1      # the Deployment runs 1 replica
    ```

    ## Use instead
    ```yaml
    kind: PodDisruptionBudget
    spec:
      maxUnavailable: 1
    ```
    """

    code = "QS205"
    name = "pdb-blocks-eviction"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "PodDisruptionBudget blocks all voluntary evictions"

    VALID = [{"k8s/app.yaml": deploy(3), "k8s/pdb.yaml": pdb("minAvailable: 2")}, {"k8s/app.yaml": deploy(3), "k8s/pdb.yaml": pdb("maxUnavailable: 1")}]
    INVALID = [
        {"k8s/app.yaml": deploy(1), "k8s/pdb.yaml": pdb("minAvailable: 1", mark="  # qualscan: expect[QS205]")},
        {"k8s/app.yaml": deploy(3), "k8s/pdb.yaml": pdb("maxUnavailable: 0", mark="  # qualscan: expect[QS205]")},
        {
            "k8s/app.yaml": deploy(3),
            "k8s/hpa.yaml": hpa(2, 30),
            "k8s/pdb.yaml": pdb("minAvailable: 2", mark="  # qualscan: expect[QS205]"),
        },
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None:
            return
        for p in dm.pdbs:
            if not p.value_line:
                continue
            reason = None
            if p.max_unavailable is not None and str(p.max_unavailable).strip() in ("0", "0%"):
                reason = f"maxUnavailable: {p.max_unavailable} never allows an eviction"
            elif isinstance(p.min_available, str) and p.min_available.strip() == "100%":
                reason = "minAvailable: 100% never allows an eviction"
            elif isinstance(p.min_available, int):
                for w in dm.workloads_selected(p.selector, p.file):
                    if w.kind not in LONG_RUNNING:
                        continue
                    floor = effective_min(dm, w)
                    if p.min_available >= floor:
                        via = "its HPA's minReplicas" if dm.hpa_for(w) is not None else "its replicas"
                        reason = f"minAvailable: {p.min_available} >= {via} ({floor}) of {w.kind} {w.name}"
                        break
            if reason:
                yield hit(
                    f"PodDisruptionBudget {p.name} blocks voluntary evictions: {reason}; node drains and upgrades stall",
                    p.file,
                    p.value_line,
                    key=f"pdb/{p.name}",
                )


class SelectorMatchesNothing(ProjectRule):
    """
    ## What it does
    Reports an HPA whose `scaleTargetRef` names no workload, and a PodDisruptionBudget or
    NetworkPolicy whose selector matches the pod labels of no workload in the repository.

    ## Why it matters during a sales peak
    The object exists, reviews pass, dashboards show it -- and it protects nothing: the service
    does not scale, the budget does not hold, the policy does not apply. Usually a renamed label or
    Deployment.

    ## Example
    ```yaml
    kind: PodDisruptionBudget
    spec:
      selector: {matchLabels: {app: basket}}   # the pods are labelled app: cart
    ```

    ## Use instead
    ```yaml
    spec:
      selector: {matchLabels: {app: cart}}
    ```
    """

    code = "QS206"
    name = "selector-matches-nothing"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "HPA, PDB or NetworkPolicy targets no workload"
    options: ClassVar[dict[str, object]] = {}

    VALID = [{"k8s/app.yaml": deploy(), "k8s/pdb.yaml": pdb(), "k8s/hpa.yaml": hpa()}]
    INVALID = [
        {"k8s/app.yaml": deploy(), "k8s/pdb.yaml": pdb(app="basket", sel_mark="  # qualscan: expect[QS206]")},
        {"k8s/app.yaml": deploy(), "k8s/hpa.yaml": hpa(name="basket", name_mark="  # qualscan: expect[QS206]")},
        {
            "k8s/app.yaml": deploy(),
            "k8s/netpol.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: cart\nspec:\n"
            "  podSelector:  # qualscan: expect[QS206]\n    matchLabels:\n      app: carts\n  ingress:\n    - from:\n"
            "        - podSelector:\n            matchLabels:\n              app: gateway\n",
        },
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None or not dm.k8s_workloads:
            return
        for h in dm.hpas:
            if not h.target_name or UNRESOLVED_TEXT in h.target_name or not h.target_line:
                continue
            if not any(not h.target_kind or w.kind == h.target_kind for w in dm.k8s_workloads_named(h.target_name)):
                yield hit(
                    f"HPA {h.name} targets {h.target_kind or 'workload'} {h.target_name}, which is not defined: nothing autoscales",
                    h.file,
                    h.target_line,
                    key=f"hpa/{h.name}",
                )
        for p in dm.pdbs:
            if p.selector and p.selector_line and not _unresolved(p.selector) and not dm.k8s_workloads_matching(p.selector):
                yield hit(
                    f"PodDisruptionBudget {p.name} selects {_fmt(p.selector)}, which matches no workload: it protects nothing",
                    p.file,
                    p.selector_line,
                    key=f"pdb/{p.name}",
                )
        for n in dm.network_policies:
            if n.pod_selector and n.selector_line and not _unresolved(n.pod_selector) and not dm.k8s_workloads_matching(n.pod_selector):
                yield hit(
                    f"NetworkPolicy {n.name} selects {_fmt(n.pod_selector)}, which matches no workload: it applies to nothing",
                    n.file,
                    n.selector_line,
                    key=f"netpol/{n.name}",
                )


def _unresolved(sel: dict[str, str]) -> bool:
    return any(UNRESOLVED_TEXT in v or UNRESOLVED_TEXT in k for k, v in sel.items())


def _fmt(sel: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sel.items()))
