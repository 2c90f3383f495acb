"""``GraphModel``: the service graph the rules, scoring and reporters read, plus journeys."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from qualscan.config import Config
from qualscan.graph import analysis
from qualscan.graph.build import Builder, Node, merge_edges, normalize
from qualscan.graph.deployment import DeploymentModel
from qualscan.model import Diagnostic, Edge, Journey, Level, NodeKind, Service, SourceFile

DEFAULT_MAX_DEPTH = 4
DEFAULT_FAN_OUT = 6

# journey stages inferred from well-known names, in order
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "entry",
        (
            "frontend",
            "frontendproxy",
            "storefront",
            "webui",
            "web",
            "ui",
            "webshop",
            "shop",
            "webapp",
            "site",
            "portal",
            "bff",
            "apigateway",
            "gateway",
            "edgerouter",
        ),
    ),
    ("catalog", ("productcatalog", "catalog", "catalogue", "product", "products", "search")),
    ("cart", ("cart", "carts", "basket", "bag")),
    ("checkout", ("checkout", "order", "orders", "ordering")),
    ("payment", ("payment", "payments", "pay", "billing")),
)


class GraphModel:
    """Services (enriched), edges, journeys, diagnostics, the networkx graph and the deployment."""

    def __init__(self, builder: Builder, config: Config) -> None:
        self._builder = builder
        self.config = config
        self.deployment: DeploymentModel = builder.dm
        self.nodes: dict[str, Node] = builder.nodes
        raw_edges = merge_edges(builder.raw)
        self.edges: tuple[Edge, ...] = tuple(
            Edge(
                source=e["source"],
                target=e["target"],
                protocol=e["protocol"],
                sync=e["sync"],
                evidence=e["evidence"],
                attrs=e["attrs"],
            )
            for e in raw_edges
        )
        g = nx.DiGraph()
        for n in sorted(self.nodes.values(), key=lambda n: n.name):
            g.add_node(n.name, kind=n.kind.value, tier=n.tier)
        for e in self.edges:
            g.add_edge(e.source, e.target, protocol=e.protocol, sync=e.sync, edge=e)
        self.nx = g
        diags = list(builder.diagnostics)
        self.journeys: tuple[Journey, ...] = self._journeys(diags)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diags)
        self.blast = analysis.blast(g, self.journeys)
        self._analyses: dict[str, Any] | None = None
        self.articulation = set(analysis.articulation_points(g))
        self.services: tuple[Service, ...] = self._services()

    # -- journeys ------------------------------------------------------------------------------
    def resolve_node(self, name: str) -> str | None:
        if name in self.nodes:
            return name
        return self._builder.lookup(name)

    def _journeys(self, diags: list[Diagnostic]) -> tuple[Journey, ...]:
        if self.config.journeys:
            out = []
            for j in self.config.journeys:
                path = []
                for step in j.path:
                    node = self.resolve_node(step)
                    if node is None:
                        diags.append(
                            Diagnostic(self.config.source, 1, Level.WARNING, f"journey {j.name!r}: no service or node named {step!r}")
                        )
                        path.append(step)
                    else:
                        path.append(node)
                out.append(Journey(j.name, tuple(path), j.weight, j.budget_s, j.inferred))
            return tuple(out)
        return infer_journeys(self.nodes)

    # -- services ------------------------------------------------------------------------------
    def _services(self) -> tuple[Service, ...]:
        g = self.nx
        cent = analysis.centrality(g)
        dm = self.deployment
        out = []
        for name in sorted(self.nodes):
            n = self.nodes[name]
            wls = n.primary_workloads
            attrs: dict[str, Any] = dict(n.attrs)
            if wls:
                wl = wls[0]
                hpa = dm.hpa_for(wl) if wl.source != "compose" else None
                attrs.update(
                    {
                        "replicas": max(w.effective_replicas for w in wls),
                        "workload_kind": wl.kind,
                        "has_pdb": any(dm.pdbs_for(w) for w in wls),
                        "has_hpa": hpa is not None,
                        "hpa_max": hpa.max_replicas if hpa else None,
                        "image": wl.images[0] if wl.images else None,
                        "manifest": f"{wl.file}:{wl.line}",
                    }
                )
            br = self.blast.get(name, {"broken": [], "degraded": []})
            on_path = [j.name for j in self.journeys if name in j.path]
            attrs.update(
                {
                    "tier": n.tier,
                    "journeys": on_path,
                    "blast_radius": list(br["broken"]),
                    "degraded_journeys": list(br["degraded"]),
                    "fan_in": g.in_degree(name) if name in g else 0,
                    "fan_out": g.out_degree(name) if name in g else 0,
                    "centrality": round(cent.get(name, 0.0), 4),
                    "articulation": name in self.articulation,
                    "critical": bool(attrs.get("critical")) or bool(br["broken"]),
                    "entry": n.entry,
                    "aliases": sorted(a for a in n.aliases if a != name.lower()),
                }
            )
            out.append(
                Service(
                    name=name,
                    path=n.path,
                    languages=n.languages,
                    kind=n.kind,
                    markers=n.markers or tuple(sorted({w.source for w in n.workloads})),
                    attrs=attrs,
                )
            )
        return tuple(out)

    # -- API -----------------------------------------------------------------------------------
    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def edge(self, source: str, target: str) -> Edge | None:
        data = self.nx.get_edge_data(source, target)
        return data.get("edge") if data else None

    def node_location(self, name: str) -> tuple[str, int] | None:
        """The node's workload ``kind:`` line (or compose key line), else its first evidence."""
        n = self.nodes.get(name)
        if n is not None and n.location:
            return n.location
        for e in self.edges:
            if (e.source == name or e.target == name) and e.evidence:
                return (e.evidence[0].file, e.evidence[0].line)
        return None

    def is_critical(self, name: str) -> bool:
        return bool(self.blast.get(name, {}).get("broken")) or bool(self.config.services.get(name, {}).get("critical"))

    def resolve_upstream(self, service: str | None, upstream: str) -> str | None:
        """A URL, ``host:port``, bare host or env-var name (as seen from ``service``) -> node name."""
        b = self._builder
        up = upstream.strip()
        if not up:
            return None
        env = b.nodes[service].env if service in b.nodes else {}
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", up) and up in env:
            up = env[up][0]
        up = b.substitute(up, env)
        hits = b.resolve(up, allow_external=True, allow_bare=True)
        if hits:
            return hits[0][0]
        return b.lookup(up)

    def analyses(self) -> dict[str, Any]:
        if self._analyses is None:
            opts215 = self.config.rule_options.get("QS215", {})
            opts216 = self.config.rule_options.get("QS216", {})
            data = analysis.summary(
                self.nx,
                self.journeys,
                max_depth=int(opts215.get("max_depth", DEFAULT_MAX_DEPTH)),
                fan_out_threshold=int(opts216.get("threshold", DEFAULT_FAN_OUT)),
            )
            data["blast_radius"] = {n: v for n, v in sorted(self.blast.items()) if v["broken"] or v["degraded"]}
            data["journeys"] = [j.to_json() for j in self.journeys]
            data["counts"] = {
                "nodes": self.nx.number_of_nodes(),
                "edges": self.nx.number_of_edges(),
                "sync_edges": sum(1 for e in self.edges if e.sync),
                "workloads": len(self.deployment.workloads),
                "duplicate_resources": self.deployment.duplicates,
            }
            data["depends_on_mismatch"] = [
                {"source": s, "target": t, "file": f, "line": ln} for s, t, f, ln in self.depends_on_mismatches()
            ]
            data["calls_without_depends_on"] = [{"source": s, "target": t} for s, t in self.calls_without_depends_on()]
            self._analyses = data
        return self._analyses

    def depends_on_mismatches(self) -> list[tuple[str, str, str, int]]:
        """Compose ``depends_on`` entries with no call between the two services (either way).

        Only where calls could have been seen: the depending service has source code in the repo or
        some outgoing edge, and neither side is an observability backend (logging drivers, metrics).
        """
        out = []
        for d in self.deployment.depends_on:
            s = self.resolve_node(d.source)
            t = self.resolve_node(d.target)
            if s is None or t is None or s == t:
                continue
            sn, tn = self.nodes[s], self.nodes[t]
            if sn.attrs.get("observability") or tn.attrs.get("observability"):
                continue
            if sn.path is None and self.nx.out_degree(s) == 0:
                continue
            if not (self.nx.has_edge(s, t) or self.nx.has_edge(t, s)):
                out.append((s, t, d.file, d.line))
        return out

    def calls_without_depends_on(self) -> list[tuple[str, str]]:
        """Calls between two compose services of a project that declares no ``depends_on`` for them."""
        declared = {(self.resolve_node(d.source), self.resolve_node(d.target)) for d in self.deployment.depends_on}
        compose_nodes = {self.deployment.node(w) for w in self.deployment.compose_workloads} - {None}
        if not self.deployment.depends_on:
            return []
        return sorted(
            (e.source, e.target)
            for e in self.edges
            if e.source in compose_nodes and e.target in compose_nodes and (e.source, e.target) not in declared
        )

    def peak_needed(self, base: int) -> int:
        return max(1, math.ceil(base * self.config.peak_factor))


GENERIC_DIRS = frozenset({"src", "app", "apps", "service", "server", "api", "main", "cmd", "source", "code", "backend"})


def _names_of(node: Node) -> set[str]:
    """Normalised names a node answers to: its name, aliases, and for a generically named source
    directory (``src/cartservice/src``) the nearest meaningful parent directory."""
    names = {normalize(node.name), *(normalize(a) for a in node.aliases)}
    if node.path:
        parts = [p for p in node.path.split("/") if p]
        meaningful = [p for p in parts if p.lower() not in GENERIC_DIRS]
        if meaningful:
            names.add(normalize(meaningful[-1]))
    return {n for n in names if n}


def infer_journeys(nodes: Mapping[str, Node]) -> tuple[Journey, ...]:
    """Default journeys from well-known names: entry -> cart -> checkout -> payment, and browse."""
    cands = {n: _names_of(node) for n, node in nodes.items() if node.kind in (NodeKind.SERVICE, NodeKind.GATEWAY)}
    found: dict[str, str] = {}
    for stage, words in STAGES:
        for w in words:
            hits = sorted(n for n, norms in cands.items() if w in norms and n not in found.values())
            if stage == "entry":
                hits.sort(key=lambda n: (not nodes[n].entry, n))
            if hits:
                found[stage] = hits[0]
                break
    out: list[Journey] = []
    checkout = [found[s] for s in ("entry", "cart", "checkout", "payment") if s in found]
    if len(checkout) >= 2 and any(s in found for s in ("cart", "checkout", "payment")):
        out.append(Journey("checkout", tuple(checkout), inferred=True))
    if "entry" in found and "catalog" in found:
        out.append(Journey("browse", (found["entry"], found["catalog"]), weight=0.5, inferred=True))
    return tuple(out)


def build_graph(
    *,
    root_name: str,
    config: Config,
    services: Sequence[Service],
    files: Sequence[SourceFile],
    texts: Mapping[str, bytes],
    python_facts: Mapping[str, dict[str, Any]],
) -> GraphModel:
    b = Builder(
        root_name=root_name, config=config, services=services, files=files, texts=texts, python_facts=python_facts
    )
    b.run()
    return GraphModel(b, config)
