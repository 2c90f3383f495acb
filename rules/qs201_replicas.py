"""QS201 single-replica and QS209 no-anti-affinity."""

from __future__ import annotations

from collections.abc import Iterator

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity

from ._deploy import (
    DATA_KINDS,
    LONG_RUNNING,
    deployment_of,
    effective_min,
    hit,
    node_kind,
    on_journeys,
    primary_workloads,
    replicas_location,
    severity_for,
)

_DEPLOY = """apiVersion: apps/v1
kind: Deployment{mark_kind}
metadata:
  name: cart
spec:
{replicas}  selector:
    matchLabels:
      app: cart
  template:
    metadata:
      labels:
        app: cart
    spec:
{affinity}      containers:
        - name: cart
          image: shop/cart:1.4.2
"""

_SPREAD = """      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app: cart
"""


def deploy(replicas: str = "", affinity: str = "", mark_kind: str = "") -> str:
    return _DEPLOY.format(replicas=replicas, affinity=affinity, mark_kind=mark_kind)


class SingleReplica(ProjectRule):
    """
    ## What it does
    Reports long-running workloads (Deployment, StatefulSet, ReplicaSet, Rollout; compose services
    when the repository has no Kubernetes manifests) that run a single replica: `replicas: 1`, or
    no `replicas:` at all (Kubernetes then runs one), and no autoscaler raising the minimum. The
    severity is high when the workload sits on a journey (it breaks the journey when it fails).

    ## Why it matters during a sales peak
    One pod is one process, one node, one zone: a crash, an OOM kill, a node drain or a rolling
    update takes the service down, and every journey that calls it synchronously fails with it.

    ## Example
    ```yaml
    kind: Deployment
    spec:
      replicas: 1
    ```

    ## Use instead
    ```yaml
    kind: Deployment
    spec:
      replicas: 3   # plus a PodDisruptionBudget and anti-affinity / topology spread
    ```
    """

    code = "QS201"
    name = "single-replica"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Workload runs a single replica"

    VALID = [
        deploy(replicas="  replicas: 3\n"),
        {
            "k8s/app.yaml": deploy(),
            "k8s/hpa.yaml": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: cart\nspec:\n"
            "  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: cart\n  minReplicas: 2\n  maxReplicas: 20\n",
        },
        {"docker-compose.yml": "services:\n  cart:\n    image: shop/cart:1.4.2\n    deploy:\n      replicas: 3\n"},
    ]
    INVALID = [
        deploy(replicas="  replicas: 1  # qualscan: expect[QS201]\n"),
        deploy(mark_kind="  # qualscan: expect[QS201]"),
        {"docker-compose.yml": "services:\n  cart:  # qualscan: expect[QS201]\n    image: shop/cart:1.4.2\n"},
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        dm = deployment_of(ctx)
        if dm is None:
            return
        for w, node in primary_workloads(ctx):
            if w.kind not in LONG_RUNNING and w.kind != "compose":
                continue
            if effective_min(dm, w) != 1:
                continue
            file, line = replicas_location(w) if w.source != "compose" else (w.file, w.line)
            what = "replicas: 1" if w.replicas == 1 else "no replicas (defaults to 1)"
            yield hit(
                f"{w.kind} {w.name} runs a single replica ({what}){on_journeys(ctx, node)}: one crash, "
                "node drain or rollout takes it down",
                file,
                line,
                target=node,
                key=f"{w.kind}/{w.name}",
                severity=severity_for(ctx, node, Severity.MEDIUM, Severity.HIGH),
                service=node,
                details={"replicas": w.effective_replicas, "datastore": node_kind(ctx, node) in DATA_KINDS},
            )


class NoAntiAffinity(ProjectRule):
    """
    ## What it does
    Reports workloads with `replicas:` greater than 1 whose pod spec has neither a
    `podAntiAffinity` nor `topologySpreadConstraints`.

    ## Why it matters during a sales peak
    Without a spread rule the scheduler may put every replica on the same node or zone; losing
    that node (or a zone outage) takes all replicas at once and the extra replicas bought nothing.

    ## Example
    ```yaml
    spec:
      replicas: 3
      template:
        spec:
          containers: [...]
    ```

    ## Use instead
    ```yaml
    spec:
      replicas: 3
      template:
        spec:
          topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: topology.kubernetes.io/zone
              whenUnsatisfiable: ScheduleAnyway
              labelSelector: {matchLabels: {app: cart}}
    ```
    """

    code = "QS209"
    name = "no-anti-affinity"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Several replicas with no anti-affinity or topology spread"

    VALID = [
        deploy(replicas="  replicas: 3\n", affinity=_SPREAD),
        deploy(
            replicas="  replicas: 3\n",
            affinity="      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n"
            "            - weight: 100\n              podAffinityTerm:\n                topologyKey: kubernetes.io/hostname\n"
            "                labelSelector:\n                  matchLabels:\n                    app: cart\n",
        ),
        deploy(replicas="  replicas: 1\n"),
    ]
    INVALID = [deploy(replicas="  replicas: 3  # qualscan: expect[QS209]\n")]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        for w, node in primary_workloads(ctx, compose=False):
            if w.source == "compose" or w.kind not in LONG_RUNNING:
                continue
            if w.replicas is None or w.replicas <= 1 or not w.replicas_line:
                continue
            if w.anti_affinity or w.topology_spread:
                continue
            file, line = replicas_location(w)
            yield hit(
                f"{w.kind} {w.name} runs {w.replicas} replicas with no pod anti-affinity or topology spread: "
                "they may all land on one node or zone",
                file,
                line,
                target=node,
                key=f"{w.kind}/{w.name}",
                service=node,
                severity=severity_for(ctx, node, Severity.MEDIUM, Severity.MEDIUM),
            )
