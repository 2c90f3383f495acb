"""Helpers shared by the QS2xx deployment and graph rules (not a rule module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qualscan.engine.rule import Hit, ProjectContext
from qualscan.graph import GraphModel
from qualscan.graph.deployment import DeploymentModel
from qualscan.model import NodeKind, Severity
from qualscan.parsers.k8s import Workload

LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "Rollout", "DeploymentConfig"})
DATA_KINDS = frozenset({NodeKind.DATASTORE, NodeKind.BROKER})


def graph_of(ctx: ProjectContext) -> GraphModel | None:
    g = ctx.graph
    return g if isinstance(g, GraphModel) else None


def deployment_of(ctx: ProjectContext) -> DeploymentModel | None:
    dm = ctx.deployment
    if isinstance(dm, DeploymentModel):
        return dm
    g = graph_of(ctx)
    return g.deployment if g is not None else None


def primary_workloads(ctx: ProjectContext, *, compose: bool = True) -> Iterator[tuple[Workload, str | None]]:
    """(workload, graph node) for the workloads that describe production: Kubernetes / Helm /
    kustomize ones, and compose services only for nodes with no Kubernetes workload in a repo
    that has no Kubernetes workloads at all (compose beside k8s is the local dev stack)."""
    g = graph_of(ctx)
    dm = deployment_of(ctx)
    if g is None or dm is None:
        return
    has_k8s = bool(dm.k8s_workloads)
    seen: set[int] = set()
    for name in sorted(g.nodes):
        for w in g.nodes[name].primary_workloads:
            if w.source == "compose" and (has_k8s or not compose):
                continue
            seen.add(id(w))
            yield w, name
    for w in dm.k8s_workloads:  # workloads that did not become a node (unresolved template names)
        if id(w) not in seen and w.name:
            yield w, None


def node_kind(ctx: ProjectContext, node: str | None) -> NodeKind | None:
    g = graph_of(ctx)
    if g is None or node is None or node not in g.nodes:
        return None
    return g.nodes[node].kind


def critical(ctx: ProjectContext, node: str | None) -> bool:
    g = graph_of(ctx)
    return bool(g is not None and node is not None and g.is_critical(node))


def journeys_of(ctx: ProjectContext, node: str | None) -> list[str]:
    g = graph_of(ctx)
    if g is None or node is None:
        return []
    return list(g.blast.get(node, {}).get("broken", []))


def severity_for(ctx: ProjectContext, node: str | None, default: Severity, raised: Severity) -> Severity:
    return raised if critical(ctx, node) else default


def on_journeys(ctx: ProjectContext, node: str | None) -> str:
    js = journeys_of(ctx, node)
    return f" (on journey{'s' if len(js) > 1 else ''} {', '.join(js)})" if js else ""


def replicas_location(w: Workload) -> tuple[str, int]:
    if w.replicas_line:
        return str(w.extra.get("replicas_file", w.file)), w.replicas_line
    return w.file, w.line


def effective_min(dm: DeploymentModel, w: Workload) -> int:
    hpa = dm.hpa_for(w) if w.source != "compose" else None
    if hpa is not None:
        return max(hpa.min_replicas, 1)
    return w.effective_replicas


def hit(message: str, file: str, line: int, *, target: str | None = None, key: str = "", severity: Severity | None = None,
        details: dict[str, Any] | None = None, service: str | None = None) -> Hit:
    return Hit(
        message=message,
        file=file,
        line=line,
        target=target,
        key=key,
        severity=severity,
        details=details or {},
        service=service,
    )
