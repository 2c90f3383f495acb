"""Graph analyses on the synchronous call graph: SPOFs, bridges, cycles, chains, hubs, journeys.

All functions are pure over a ``networkx.DiGraph`` whose nodes carry ``kind`` (a
:class:`~qualscan.model.NodeKind` value) and whose edges carry ``sync`` (bool). Results are sorted
so that they are deterministic.

* An **articulation point** is reported only when removing it separates at least two components
  that each still hold a service or gateway (a service with a private database is not a SPOF of
  anything but itself).
* A **bridge** follows the same rule (each side keeps a service or gateway).
* **Cycles**: one per strongly connected component of the sync graph (size > 1), starting at its
  smallest node name.
* **Chain depth** of a journey: the longest synchronous path (in edges) from any node on the
  journey, computed on the condensation DAG, ``O(V + E)`` per journey.
* **Blast radius**: node N *breaks* journey J when N is reachable from J's path through
  synchronous edges only; it *degrades* J when it is reachable only through an async hop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from qualscan.model import Journey

CORE_KINDS = frozenset({"service", "gateway", "external"})
SERVICE_KINDS = frozenset({"service", "gateway"})


def _cached(g: nx.Graph, key: str, build: Any) -> Any:
    """Memoise a derived structure on ``g.graph`` (graphs are not mutated once analysed; the
    node/edge counts guard against a caller that does)."""
    stamp = (g.number_of_nodes(), g.number_of_edges())
    hit = g.graph.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = build()
    g.graph[key] = (stamp, value)
    return value


def sync_graph(g: nx.DiGraph) -> nx.DiGraph:
    """The synchronous edges only (edge data is not copied: analyses need the structure)."""
    return _cached(g, "_qs_sync", lambda: _sync_graph(g))


def _sync_graph(g: nx.DiGraph) -> nx.DiGraph:
    sg = nx.DiGraph()
    sg.add_nodes_from(g.nodes(data=True))
    sg.add_edges_from((u, v) for u, v, sync in g.edges(data="sync", default=True) if sync)
    return sg


def _core(g: nx.Graph, nodes: Iterable[str]) -> bool:
    return any(g.nodes[n].get("kind") in CORE_KINDS for n in nodes)


class _BlockCut:
    """Block-cut tree of an undirected graph, with the number of core (service/gateway) nodes in
    every rooted subtree, so that "what is left on each side" is O(1) per question."""

    def __init__(self, ug: nx.Graph, kinds: frozenset[str] = CORE_KINDS) -> None:
        self.ug = ug
        self.aps = set(nx.articulation_points(ug))
        self.t = nx.Graph()
        self.blocks: list[set[str]] = [set(b) for b in nx.biconnected_components(ug)]
        for i, b in enumerate(self.blocks):
            own = sum(1 for n in b if n not in self.aps and ug.nodes[n].get("kind") in kinds)
            self.t.add_node(("b", i), core=own)
            for n in b:
                if n in self.aps:
                    self.t.add_node(("a", n), core=int(ug.nodes[n].get("kind") in kinds))
                    self.t.add_edge(("b", i), ("a", n))
        self.parent: dict[Any, Any] = {}
        self.sub: dict[Any, int] = {}
        self.total: dict[Any, int] = {}
        for comp in nx.connected_components(self.t):
            root = min(comp, key=str)
            order = list(nx.dfs_preorder_nodes(self.t, root))
            self.parent[root] = None
            for u, v in nx.dfs_edges(self.t, root):
                self.parent[v] = u
            for node in reversed(order):
                self.sub[node] = self.t.nodes[node]["core"] + sum(
                    self.sub[c] for c in self.t.neighbors(node) if self.parent.get(c) == node
                )
            for node in order:
                self.total[node] = self.sub[root]

    def sides(self, tnode: Any) -> list[int]:
        """Core counts of the parts left when ``tnode`` is removed from the tree."""
        out = [self.sub[c] for c in self.t.neighbors(tnode) if self.parent.get(c) == tnode]
        if self.parent.get(tnode) is not None:
            out.append(self.total[tnode] - self.sub[tnode])
        return out


def _undirected_sync(g: nx.DiGraph) -> tuple[nx.DiGraph, nx.Graph]:
    return _cached(g, "_qs_undirected", lambda: _build_undirected(g))  # type: ignore[no-any-return]


def _block_cut(g: nx.DiGraph, kinds: frozenset[str]) -> _BlockCut:
    _, ug = _undirected_sync(g)
    return _cached(g, f"_qs_blockcut_{'_'.join(sorted(kinds))}", lambda: _BlockCut(ug, kinds))  # type: ignore[no-any-return]


def _build_undirected(g: nx.DiGraph) -> tuple[nx.DiGraph, nx.Graph]:
    sg = sync_graph(g)
    ug = nx.Graph()
    ug.add_nodes_from((n, {"kind": g.nodes[n].get("kind")}) for n in sg if sg.degree(n))
    ug.add_edges_from(sg.edges())
    return sg, ug


def articulation_points(g: nx.DiGraph) -> list[str]:
    """SPOF nodes of the (undirected) sync graph that cut services from services."""
    bc = _block_cut(g, CORE_KINDS)
    return sorted(a for a in bc.aps if sum(1 for c in bc.sides(("a", a)) if c > 0) >= 2)


def bridges(g: nx.DiGraph, min_side: int = 2) -> list[tuple[str, str]]:
    """Bridge edges (u, v) in the direction of the call whose both sides keep ``min_side`` or more
    services/gateways (a leaf service behind one caller is not a bridge worth reporting)."""
    sg, ug = _undirected_sync(g)
    bc = _block_cut(g, SERVICE_KINDS)
    out: list[tuple[str, str]] = []
    for i, b in enumerate(bc.blocks):
        if len(b) != 2:
            continue
        u, v = sorted(b)
        if not ug.has_edge(u, v):
            continue
        # a side is either a lone non-AP endpoint or a subtree of the block-cut tree
        counts = []
        for n in (u, v):
            if n not in bc.aps:
                counts.append(int(ug.nodes[n].get("kind") in SERVICE_KINDS))
        counts.extend(bc.sides(("b", i)))
        if len(counts) == 2 and all(c >= min_side for c in counts):
            out.append((u, v) if sg.has_edge(u, v) else (v, u))
    return sorted(out)


def sorted_subgraph(g: nx.DiGraph, nodes: Iterable[str]) -> nx.DiGraph:
    """The subgraph on ``nodes`` as a new graph with nodes and edges inserted in sorted order.

    networkx subgraph *views* iterate a small node filter as a Python set, in string-hash order,
    which differs between processes (PYTHONHASHSEED): searches over a view break ties differently
    on every run. Sorted insertion makes every traversal the same in every process.
    """
    keep = set(nodes)
    sub: nx.DiGraph = nx.DiGraph()
    sub.add_nodes_from(sorted(keep))
    sub.add_edges_from(sorted((u, v) for u in keep for v in g.successors(u) if v in keep))
    return sub


def cycles(g: nx.DiGraph) -> list[list[str]]:
    """One synchronous cycle per strongly connected component (nodes in call order)."""
    sg = sync_graph(g)
    out: list[list[str]] = []
    for comp in nx.strongly_connected_components(sg):
        if len(comp) < 2:
            continue
        sub = sorted_subgraph(sg, comp)
        start = min(comp)
        try:
            edges = nx.find_cycle(sub, source=start)
        except nx.NetworkXNoCycle:  # pragma: no cover - an SCC of size > 1 has a cycle
            continue
        cyc = [e[0] for e in edges]
        i = cyc.index(min(cyc))
        out.append(cyc[i:] + cyc[:i])
    return sorted(out)


def longest_chain(g: nx.DiGraph, starts: Sequence[str]) -> list[str]:
    """Longest synchronous path (node list) starting at any of ``starts``; cycles are condensed."""
    sg = sync_graph(g)
    starts = [s for s in starts if s in sg]
    if not starts:
        return []
    reach: set[str] = set()
    for s in starts:
        reach |= nx.descendants(sg, s) | {s}
    sub = sorted_subgraph(sg, reach)
    cond = nx.condensation(sub)
    members = cond.graph["mapping"]  # node -> component id
    rep = {c: min(cond.nodes[c]["members"]) for c in cond}
    best_len: dict[int, int] = {}
    best_next: dict[int, int | None] = {}
    for c in reversed(list(nx.topological_sort(cond))):
        succs = sorted(cond.successors(c), key=lambda x: rep[x])
        if not succs:
            best_len[c], best_next[c] = 0, None
            continue
        nxt = max(succs, key=lambda x: (best_len[x], -succs.index(x)))
        best_len[c], best_next[c] = best_len[nxt] + 1, nxt
    start_comp = max(sorted({members[s] for s in starts}, key=lambda c: rep[c]), key=lambda c: best_len[c])
    chain_comps = [start_comp]
    while best_next[chain_comps[-1]] is not None:
        chain_comps.append(best_next[chain_comps[-1]])  # type: ignore[arg-type]
    # concrete nodes: follow real edges between consecutive components
    chain: list[str] = []
    prev: str | None = None
    for c in chain_comps:
        mem = sorted(cond.nodes[c]["members"])
        if prev is None:
            cand = [s for s in starts if members[s] == c]
            node = min(cand) if cand else mem[0]
        else:
            nxt_nodes = [v for v in sorted(sg.successors(prev)) if members[v] == c]
            node = nxt_nodes[0] if nxt_nodes else mem[0]
            if not nxt_nodes:  # leave the previous component through a member that has the edge
                comp_members = cond.nodes[members[prev]]["members"]
                for m in sorted(comp_members):
                    hits = [v for v in sorted(sg.successors(m)) if members[v] == c]
                    if hits:
                        inner = nx.shortest_path(sorted_subgraph(sg, comp_members), prev, m)
                        chain.extend(inner[1:])
                        node = hits[0]
                        break
        chain.append(node)
        prev = node
    return chain


def fan_out(g: nx.DiGraph, threshold: int) -> list[tuple[str, list[str]]]:
    sg = sync_graph(g)
    out = []
    for n in sorted(sg):
        targets = sorted(sg.successors(n))
        if len(targets) >= threshold and g.nodes[n].get("kind") == "service":
            out.append((n, targets))
    return out


def shared(g: nx.DiGraph, min_users: int) -> list[tuple[str, list[str]]]:
    """Datastores/brokers used by ``min_users`` or more distinct services (shared fate)."""
    out = []
    for n in sorted(g):
        if g.nodes[n].get("kind") not in ("datastore", "broker"):
            continue
        users = sorted(u for u in g.predecessors(n) if g.nodes[u].get("kind") in SERVICE_KINDS)
        if len(users) >= min_users:
            out.append((n, users))
    return out


def journey_starts(path: Sequence[str]) -> list[str]:
    """The nodes whose downstream calls belong to a journey: all but the first when the journey
    has several steps (the entry routes each request to the next step; its other routes serve
    other journeys)."""
    return list(path[1:]) if len(path) > 1 else list(path)


def journey_chain(g: nx.DiGraph, path: Sequence[str]) -> list[str]:
    """Longest synchronous chain of a journey: from its steps after the entry, prefixed with the
    entry when the entry calls the chain's first node."""
    starts = [n for n in journey_starts(path) if n in g]
    path = [n for n in path if n in g]
    if not path:
        return []
    chain = longest_chain(g, starts)
    if len(path) > 1 and chain and g.has_edge(path[0], chain[0]) and g.edges[path[0], chain[0]].get("sync", True):
        chain = [path[0], *chain]
    return chain


def blast(g: nx.DiGraph, journeys: Sequence[Journey]) -> dict[str, dict[str, list[str]]]:
    """node -> {"broken": [journey...], "degraded": [journey...]}."""
    sg = sync_graph(g)
    result: dict[str, dict[str, list[str]]] = {n: {"broken": [], "degraded": []} for n in g}
    for j in journeys:
        path = [n for n in j.path if n in g]
        if not path:
            continue
        sync_reach: set[str] = set(path)
        all_reach: set[str] = set(path)
        for n in (s for s in journey_starts(j.path) if s in g):
            sync_reach |= nx.descendants(sg, n)
            all_reach |= nx.descendants(g, n)
        for n in sorted(sync_reach):
            result[n]["broken"].append(j.name)
        for n in sorted(all_reach - sync_reach):
            result[n]["degraded"].append(j.name)
    for v in result.values():
        v["broken"].sort()
        v["degraded"].sort()
    return result


def centrality(g: nx.DiGraph) -> dict[str, float]:
    """Betweenness centrality; sampled (k=64 sources, fixed seed) above 300 nodes to stay fast."""
    if g.number_of_nodes() == 0:
        return {}
    if g.number_of_nodes() > 300:
        return dict(nx.betweenness_centrality(g, k=64, seed=7, normalized=True))
    return dict(nx.betweenness_centrality(g, normalized=True))


def summary(g: nx.DiGraph, journeys: Sequence[Journey], *, max_depth: int, fan_out_threshold: int) -> dict[str, Any]:
    chains = []
    for j in journeys:
        chain = journey_chain(g, j.path)
        chains.append({"journey": j.name, "chain": chain, "depth": max(len(chain) - 1, 0)})
    return {
        "articulation_points": articulation_points(g),
        "bridges": [list(b) for b in bridges(g)],
        "cycles": cycles(g),
        "chains": chains,
        "max_chain_depth": max_depth,
        "fan_out_hubs": [{"node": n, "targets": t} for n, t in fan_out(g, fan_out_threshold)],
        "shared": [{"node": n, "users": u} for n, u in shared(g, 2)],
    }
