"""QS212 single-point-of-failure, QS213 bridge-dependency, QS214 sync-call-cycle,
QS215 deep-sync-chain, QS216 fan-out-hub -- analyses of the synchronous service graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.graph import analysis
from qualscan.model import Confidence, Severity

from ._deploy import effective_min, graph_of, hit, on_journeys, severity_for


def svc(
    name: str, env: dict[str, str] | None = None, mark: str = "", line_marks: dict[str, str] | None = None, replicas: int = 3
) -> str:
    """A small Deployment whose env names its upstreams (one ``- name:`` per variable)."""
    line_marks = line_marks or {}
    text = (
        f"apiVersion: apps/v1\nkind: Deployment{mark}\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  selector:\n"
        f"    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n"
        f"      containers:\n        - name: {name}\n          image: shop/{name}:1.0.0\n"
    )
    if env:
        text += "          env:\n"
        for k, v in env.items():
            text += f"            - name: {k}\n              value: {v}{line_marks.get(k, '')}\n"
    return text


def _edge_evidence(ctx: ProjectContext, source: str, target: str) -> tuple[str, int] | None:
    g = graph_of(ctx)
    e = g.edge(source, target) if g is not None else None
    if e is None or not e.evidence:
        return None
    return e.evidence[0].file, e.evidence[0].line


class SinglePointOfFailure(ProjectRule):
    """
    ## What it does
    Reports articulation points of the synchronous service graph -- nodes whose failure splits
    the graph into parts that each still hold a service, gateway or external endpoint (a service
    with a private database is not a cut for that alone) -- that are also not redundant: their
    workload runs a single replica (HPA minimum included). With `require_single_replica = false`
    every articulation point is reported. The line is the node's workload `kind:` line.

    ## Why it matters during a sales peak
    Every request crossing from one part to the other goes through this node: there is no
    alternative path, so its capacity, its deploys and its bugs bound the whole platform.

    ## Example
    ```text
    gateway -> checkout -> payment, checkout -> inventory   (checkout is the only way to both)
    ```

    ## Use instead
    ```text
    Run it with several replicas across zones, a PDB and an HPA; decouple what can be async
    (publish an event instead of a synchronous call); give callers a fallback.
    ```
    """

    code = "QS212"
    name = "single-point-of-failure"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "Single-replica articulation point of the synchronous service graph"
    options: ClassVar[dict[str, Any]] = {"require_single_replica": True}

    INVALID = [
        {
            "k8s/gateway.yaml": svc("gateway", {"CHECKOUT_URL": "http://checkout:8080"}),
            "k8s/checkout.yaml": svc(
                "checkout",
                {"PAYMENT_URL": "http://payment:8080", "INVENTORY_URL": "http://inventory:8080"},
                mark="  # qualscan: expect[QS212]",
                replicas=1,
            ),
            "k8s/payment.yaml": svc("payment"),
            "k8s/inventory.yaml": svc("inventory"),
        }
    ]
    VALID = [
        {
            "k8s/gateway.yaml": svc("gateway", {"CHECKOUT_URL": "http://checkout:8080"}),
            "k8s/checkout.yaml": svc("checkout", {"PAYMENT_URL": "http://payment:8080", "INVENTORY_URL": "http://inventory:8080"}),
            "k8s/payment.yaml": svc("payment"),
            "k8s/inventory.yaml": svc("inventory"),
        },
        {
            "k8s/gateway.yaml": svc("gateway", {"CHECKOUT_URL": "http://checkout:8080", "PAYMENT_URL": "http://payment:8080"}),
            "k8s/checkout.yaml": svc("checkout", {"PAYMENT_URL": "http://payment:8080"}),
            "k8s/payment.yaml": svc("payment"),
        }
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        dm = g.deployment
        single_only = bool(ctx.options.get("require_single_replica", True))
        for node in sorted(g.articulation):
            loc = g.node_location(node)
            if loc is None:
                continue
            wls = g.nodes[node].primary_workloads
            replicas = min((effective_min(dm, w) for w in wls), default=None)
            if single_only and (replicas is None or replicas > 1):
                continue
            yield hit(
                f"{node} is a single point of failure: the only synchronous path between parts of the service "
                f"graph, running {replicas} replica(s){on_journeys(ctx, node)}",
                loc[0],
                loc[1],
                target=node,
                key=node,
                service=node,
                severity=severity_for(ctx, node, Severity.MEDIUM, Severity.HIGH),
            )


class BridgeDependency(ProjectRule):
    """
    ## What it does
    Reports bridges of the synchronous service graph: single call edges whose loss splits the
    graph into two parts that each hold `min_side` (default 2) or more services or gateways (a
    leaf service behind its only caller is not reported). The line is the edge's first evidence
    (an env value, a URL in code, a gateway route).

    ## Why it matters during a sales peak
    Everything on the far side is reachable through this one call only: its timeout, retry and
    fallback policy decide whether a slow callee stays a local problem or takes the caller down.

    ## Example
    ```yaml
    env:
      - name: CHECKOUT_URL
        value: http://checkout:8080   # the only way from gateway to checkout and beyond
    ```

    ## Use instead
    ```text
    Give the call a timeout, bounded retries with backoff and a circuit breaker; make what can
    be asynchronous asynchronous.
    ```
    """

    code = "QS213"
    name = "bridge-dependency"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Single synchronous edge that holds parts of the graph together"
    options: ClassVar[dict[str, Any]] = {"min_side": 2}

    INVALID = [
        {
            "k8s/web.yaml": svc("web", {"GATEWAY_URL": "http://gateway:8080"}),
            "k8s/gateway.yaml": svc("gateway", {"CHECKOUT_URL": "http://checkout:8080"}, line_marks={"CHECKOUT_URL": "  # qualscan: expect[QS213]"}),
            "k8s/checkout.yaml": svc("checkout", {"PAYMENT_URL": "http://payment:8080"}),
            "k8s/payment.yaml": svc("payment"),
        }
    ]
    VALID = [
        {
            "k8s/gateway.yaml": svc("gateway", {"CHECKOUT_URL": "http://checkout:8080", "PAYMENT_URL": "http://payment:8080"}),
            "k8s/checkout.yaml": svc("checkout", {"PAYMENT_URL": "http://payment:8080"}),
            "k8s/payment.yaml": svc("payment"),
        }
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        for u, v in analysis.bridges(g.nx, int(ctx.options.get("min_side", 2))):
            loc = _edge_evidence(ctx, u, v)
            if loc is None:
                continue
            yield hit(
                f"{u} -> {v} is a bridge: the only synchronous link between two parts of the service graph",
                loc[0],
                loc[1],
                target=f"{u}->{v}",
                key=f"{u}->{v}",
                service=u,
            )


class SyncCallCycle(ProjectRule):
    """
    ## What it does
    Reports cycles of synchronous calls between services (one per strongly connected component),
    at the first evidence of the cycle's first edge (cycles start at their smallest node name).

    ## Why it matters during a sales peak
    A synchronous cycle multiplies load and latency: a slow member slows every other member, whose
    retries come back around, and thread or connection pools deadlock under load. Neither side can
    be deployed or degraded independently.

    ## Example
    ```text
    cart -> pricing -> cart
    ```

    ## Use instead
    ```text
    Break the cycle: move the shared logic into one service, pass the data in the request, or
    replace one direction with an event.
    ```
    """

    code = "QS214"
    name = "sync-call-cycle"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "Cycle of synchronous calls between services"

    INVALID = [
        {
            "k8s/cart.yaml": svc("cart", {"PRICING_URL": "http://pricing:8080"}, line_marks={"PRICING_URL": "  # qualscan: expect[QS214]"}),
            "k8s/pricing.yaml": svc("pricing", {"CART_URL": "http://cart:8080"}),
        }
    ]
    VALID = [
        {
            "k8s/cart.yaml": svc("cart", {"PRICING_URL": "http://pricing:8080"}),
            "k8s/pricing.yaml": svc("pricing", {"KAFKA_BROKERS": "kafka:9092"}),
            "k8s/kafka.yaml": svc("kafka"),
        }
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        for cyc in analysis.cycles(g.nx):
            loc = _edge_evidence(ctx, cyc[0], cyc[1])
            if loc is None:
                continue
            path = " -> ".join([*cyc, cyc[0]])
            yield hit(
                f"synchronous call cycle {path}: a slow member slows all of them and retries loop back",
                loc[0],
                loc[1],
                target=f"{cyc[0]}->{cyc[1]}",
                key=path,
                service=cyc[0],
                details={"cycle": cyc},
            )


class DeepSyncChain(ProjectRule):
    """
    ## What it does
    For every journey, finds the longest chain of synchronous calls starting from a node on the
    journey and reports it when it has more than `max_depth` edges (default 4), at the first
    evidence of the chain's deepest (last) edge.

    ## Why it matters during a sales peak
    Latencies add up and availabilities multiply along a synchronous chain: five hops at 99.9 %
    each are 99.5 % end to end, and the slowest hop's tail latency becomes the journey's. Timeouts
    must shrink at every hop or the caller times out first and retries everything.

    ## Example
    ```text
    gateway -> checkout -> payment -> fraud -> risk -> scoring
    ```

    ## Use instead
    ```text
    Flatten the chain: call independent services in parallel from one orchestrator, cache
    reference data, move non-essential steps to async events.
    ```
    """

    code = "QS215"
    name = "deep-sync-chain"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Synchronous call chain deeper than the threshold on a journey"
    options: ClassVar[dict[str, Any]] = {"max_depth": 4}

    INVALID = [
        {
            "pyproject.toml": "[tool.qualscan.journeys]\ncheckout = ['a', 'b']\n",
            "k8s/a.yaml": svc("a", {"B_URL": "http://b:8080"}),
            "k8s/b.yaml": svc("b", {"C_URL": "http://c:8080"}),
            "k8s/c.yaml": svc("c", {"D_URL": "http://d:8080"}),
            "k8s/d.yaml": svc("d", {"E_URL": "http://e:8080"}),
            "k8s/e.yaml": svc("e", {"F_URL": "http://f:8080"}, line_marks={"F_URL": "  # qualscan: expect[QS215]"}),
            "k8s/f.yaml": svc("f"),
        }
    ]
    VALID = [
        {
            "pyproject.toml": "[tool.qualscan.journeys]\ncheckout = ['a', 'b']\n",
            "k8s/a.yaml": svc("a", {"B_URL": "http://b:8080"}),
            "k8s/b.yaml": svc("b", {"C_URL": "http://c:8080"}),
            "k8s/c.yaml": svc("c"),
        }
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        max_depth = int(ctx.options.get("max_depth", 4))
        reported: set[tuple[str, ...]] = set()
        for j in g.journeys:
            chain = analysis.journey_chain(g.nx, j.path)
            depth = len(chain) - 1
            if depth <= max_depth or tuple(chain) in reported:
                continue
            reported.add(tuple(chain))
            loc = _edge_evidence(ctx, chain[-2], chain[-1])
            if loc is None:
                continue
            yield hit(
                f"journey {j.name} reaches a synchronous chain of {depth} calls (> {max_depth}): " + " -> ".join(chain),
                loc[0],
                loc[1],
                target=f"{chain[-2]}->{chain[-1]}",
                key=" -> ".join(chain),
                service=chain[-2],
                details={"chain": chain, "depth": depth, "journey": j.name},
            )


class FanOutHub(ProjectRule):
    """
    ## What it does
    Reports services or gateways that call `threshold` (default 6) or more distinct nodes
    synchronously, at the node's workload `kind:` line.

    ## Why it matters during a sales peak
    A request that waits on many dependencies fails when any of them fails and is as slow as the
    slowest: with six dependencies at 99.9 % the hub is at best 99.4 %, and its thread pools fill
    up with calls stuck on the worst one.

    ## Example
    ```text
    frontend -> ad, cart, catalog, currency, recommendation, shipping, checkout
    ```

    ## Use instead
    ```text
    Fetch in parallel with per-call timeouts and fallbacks (render without recommendations),
    cache what rarely changes, aggregate behind a BFF.
    ```
    """

    code = "QS216"
    name = "fan-out-hub"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Service with many synchronous dependencies"
    options: ClassVar[dict[str, Any]] = {"threshold": 6}

    INVALID = [
        {
            "k8s/frontend.yaml": svc(
                "frontend",
                {f"{n.upper()}_ADDR": f"{n}:8080" for n in ("ad", "cart", "catalog", "currency", "recommendation", "shipping")},
                mark="  # qualscan: expect[QS216]",
            ),
            **{f"k8s/{n}.yaml": svc(n) for n in ("ad", "cart", "catalog", "currency", "recommendation", "shipping")},
        }
    ]
    VALID = [
        {
            "k8s/frontend.yaml": svc("frontend", {f"{n.upper()}_ADDR": f"{n}:8080" for n in ("ad", "cart", "catalog")}),
            **{f"k8s/{n}.yaml": svc(n) for n in ("ad", "cart", "catalog")},
        }
    ]

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        g = graph_of(ctx)
        if g is None:
            return
        threshold = int(ctx.options.get("threshold", 6))
        for node, targets in analysis.fan_out(g.nx, threshold):
            loc = g.node_location(node)
            if loc is None:
                continue
            yield hit(
                f"{node} calls {len(targets)} nodes synchronously ({', '.join(targets)}): it fails when any fails "
                "and is as slow as the slowest",
                loc[0],
                loc[1],
                target=node,
                key=node,
                service=node,
                details={"targets": targets},
            )
