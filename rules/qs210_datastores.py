"""QS210 ephemeral-datastore and QS211 shared-datastore."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, NodeKind, Severity

from ._deploy import graph_of, hit, primary_workloads

_REDIS = """apiVersion: apps/v1
kind: StatefulSet{kind_mark}
metadata:
  name: redis
spec:
  replicas: 1
  serviceName: redis
  selector:
    matchLabels:
      app: redis
  template:
    metadata:
      labels:
        app: redis
    spec:
      containers:
        - name: redis
          image: redis:7.2.5
{volumes}"""

_USER = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: shop/{name}:1.0.0
          env:
            - name: REDIS_URL
              value: redis://redis:6379/0
"""


def redis(volumes: str = "", kind_mark: str = "") -> str:
    return _REDIS.format(volumes=volumes, kind_mark=kind_mark)


def user(name: str) -> str:
    return _USER.format(name=name)


class EphemeralDatastore(ProjectRule):
    """
    ## What it does
    Reports datastores and brokers (recognised by image or name: postgres, mysql, mongo, redis,
    kafka, rabbitmq, elasticsearch...) whose data lives on an `emptyDir` volume, or that have no
    volume and no `volumeClaimTemplates` at all (compose: no `volumes:`). Memcached is skipped
    (a pure cache by design).

    ## Why it matters during a sales peak
    An `emptyDir` dies with the pod: an eviction, an OOM kill or a node drain during the event
    empties the carts, sessions or orders held there, and a cold cache in front of the database
    at peak multiplies the database's load.

    ## Example
    ```yaml
    volumes:
      - name: data
        emptyDir: {}
    ```

    ## Use instead
    ```yaml
    volumeClaimTemplates:
      - metadata: {name: data}
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
    ```
    """

    code = "QS210"
    name = "ephemeral-datastore"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "Datastore on emptyDir or with no volume"

    VALID = [
        redis(
            "          volumeMounts:\n            - name: data\n              mountPath: /data\n"
            "  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n"
            "        resources:\n          requests:\n            storage: 5Gi\n"
        ),
        {"docker-compose.yml": "services:\n  postgres:\n    image: postgres:16.4\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata: {}\n"},
    ]
    INVALID = [
        redis(
            "          volumeMounts:\n            - name: data\n              mountPath: /data\n"
            "      volumes:\n        - name: data\n          emptyDir: {}  # qualscan: expect[QS210]\n"
        ),
        redis(kind_mark="  # qualscan: expect[QS210]"),
        {"docker-compose.yml": "services:\n  postgres:  # qualscan: expect[QS210]\n    image: postgres:16.4\n"},
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        for w, node in primary_workloads(ctx):
            if node is None or g.nodes[node].kind not in (NodeKind.DATASTORE, NodeKind.BROKER):
                continue
            if "memcache" in " ".join(w.images + [w.name]).lower():
                continue
            if w.kind in ("Job", "CronJob"):
                continue
            empty = [v for v in w.volumes if v.type == "emptyDir"]
            durable = [v for v in w.volumes if v.type in ("persistentVolumeClaim", "hostPath", "volume", "ephemeral")]
            if empty and not durable and not w.claim_templates:
                for v in empty:
                    yield hit(
                        f"{g.nodes[node].kind.value} {node} keeps its data on emptyDir volume {v.name}: it is lost "
                        "whenever the pod is evicted or rescheduled",
                        w.file,
                        v.line,
                        target=node,
                        key=f"{w.kind}/{w.name}/{v.name}",
                        service=node,
                    )
            elif not w.volumes and not w.claim_templates:
                yield hit(
                    f"{g.nodes[node].kind.value} {node} has no volume: its data lives in the container and is lost on restart",
                    w.file,
                    w.line,
                    target=node,
                    key=f"{w.kind}/{w.name}",
                    service=node,
                )


class SharedDatastore(ProjectRule):
    """
    ## What it does
    Reports datastores used by `min_services` (default 2) or more services, and brokers used by
    `broker_min_services` (default 3: a producer and a consumer are what a broker is for) or more,
    from the service graph's edges (env values, connection URLs in code, network policies).

    ## Why it matters during a sales peak
    Shared fate: one service's slow query, hot key or connection storm exhausts the datastore
    every other service depends on, and a failure of the shared node breaks all of their
    journeys at once. Capacity planning per service is meaningless on a shared instance.

    ## Example
    ```yaml
    # cart and checkout both: REDIS_URL=redis://redis:6379/0
    ```

    ## Use instead
    ```yaml
    # one datastore per service (or per bounded context), other services call its API
    ```
    """

    code = "QS211"
    name = "shared-datastore"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Datastore or broker shared by several services"
    options: ClassVar[dict[str, Any]] = {"min_services": 2, "broker_min_services": 3}

    VALID = [{"k8s/redis.yaml": redis(), "k8s/cart.yaml": user("cart")}]
    INVALID = [{"k8s/redis.yaml": redis(kind_mark="  # qualscan: expect[QS211]"), "k8s/cart.yaml": user("cart"), "k8s/checkout.yaml": user("checkout")}]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        min_services = int(ctx.options.get("min_services", 2))
        broker_min = int(ctx.options.get("broker_min_services", 3))
        for name in sorted(g.nodes):
            n = g.nodes[name]
            if n.kind not in (NodeKind.DATASTORE, NodeKind.BROKER):
                continue
            users = sorted(u for u in g.nx.predecessors(name) if g.nodes[u].kind in (NodeKind.SERVICE, NodeKind.GATEWAY))
            if len(users) < (min_services if n.kind is NodeKind.DATASTORE else broker_min):
                continue
            loc = g.node_location(name)
            if loc is None:
                continue
            yield hit(
                f"{n.kind.value} {name} is shared by {len(users)} services ({', '.join(users)}): one noisy user "
                "or one failure hits all of them",
                loc[0],
                loc[1],
                target=name,
                key=name,
                service=name,
                details={"users": users},
            )
