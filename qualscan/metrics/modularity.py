"""Import graph, coupling, import cycles to break and cross-service imports.

Nodes are Python files (relative paths), edges "file A imports module in file B". A file is known
under several dotted names: its full path from the scan root (``services.cart.app.models``), its
name from the top of its package chain (walking up while ``__init__.py`` exists: ``app.models``),
and its name relative to its service directory. An absolute import resolves to the candidate in
the importer's own service first, then in shared code (files owned by no service), then in
another service -- but never to another service when the import's top-level package exists in
the importer's own service (``import app.x`` inside a service means that service's ``app``).

Per module (Robert C. Martin's package metrics, applied to modules):

* Ca (afferent coupling) = number of internal modules importing it;
* Ce (efferent coupling) = number of internal modules it imports;
* instability I = Ce / (Ca + Ce) (0 when both are 0);
* abstractness A = abstract classes / classes (0 without classes; abstract = derives from ``ABC``
  or ``Protocol``, has metaclass ``ABCMeta`` or an ``@abstract...`` method);
* distance from the main sequence D = |A + I - 1|.

Import cycles: only imports executed at import time count (not those inside functions or under
``if TYPE_CHECKING:``). For each strongly connected component the smallest set we can find of
imports to remove: repeatedly take the component's first file (sorted), its shortest cycle, and
remove the import that closes it (the edge back into that first file); report that cycle; repeat
until the component is acyclic. The result is a feedback edge set, usually far smaller than the
list of every simple cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from qualscan.model import SourceFile


@dataclass
class ImportEdge:
    source: str
    target: str
    line: int
    toplevel: bool
    module: str


@dataclass
class ModuleIndex:
    by_name: dict[str, list[str]] = field(default_factory=dict)
    service_of: dict[str, str | None] = field(default_factory=dict)
    package_root_name: dict[str, str] = field(default_factory=dict)  # path -> package-chain name
    top_packages: dict[str | None, set[str]] = field(default_factory=dict)  # service -> top-level names
    # dotted name -> (its by_name list, that list grouped by service in list order), made on first use
    _grouped: dict[str, tuple[list[str], dict[str | None, list[str]]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def by_service(self, dotted: str) -> dict[str | None, list[str]]:
        """``by_name[dotted]`` grouped by owning service (each group in list order): one
        resolution no longer scans every service's file of a name that every service has
        (``app.models``), which made the import graph quadratic in the number of services."""
        cands = self.by_name.get(dotted) or []
        cached = self._grouped.get(dotted)
        if cached is not None and cached[0] is cands:
            return cached[1]
        groups: dict[str | None, list[str]] = {}
        for c in cands:
            groups.setdefault(self.service_of.get(c), []).append(c)
        self._grouped[dotted] = (cands, groups)
        return groups


def _dotted(path: str) -> list[str]:
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return parts


def build_index(files: Sequence[SourceFile], services: Mapping[str, str | None]) -> ModuleIndex:
    """``services``: service name -> its directory (relative, "" for the root)."""
    idx = ModuleIndex()
    paths = {f.path for f in files}
    by_name: dict[str, set[str]] = defaultdict(set)
    chain_start: dict[str, int] = {}  # directory -> where its package chain starts (the walk below)
    for f in files:
        idx.service_of[f.path] = f.service
        parts = _dotted(f.path)
        if not parts:
            continue
        names = {".".join(parts)}
        # package chain: walk up while the directory has an __init__.py
        dir_parts = f.path.split("/")[:-1]
        directory = "/".join(dir_parts)
        k = chain_start.get(directory, -1)
        if k < 0:
            k = len(dir_parts)
            while k > 0 and "/".join([*dir_parts[:k], "__init__.py"]) in paths:
                k -= 1
            chain_start[directory] = k
        chain = parts[k:]
        if chain:
            names.add(".".join(chain))
            idx.package_root_name[f.path] = ".".join(chain)
            idx.top_packages.setdefault(f.service, set()).add(chain[0])
        sdir = services.get(f.service or "") if f.service else None
        if sdir:
            prefix = sdir.rstrip("/") + "/"
            if f.path.startswith(prefix):
                rel = _dotted(f.path[len(prefix) :])
                if rel:
                    names.add(".".join(rel))
                    idx.top_packages.setdefault(f.service, set()).add(rel[0])
        # src layouts: name below a "src" directory
        if "src" in dir_parts:
            i = len(dir_parts) - 1 - dir_parts[::-1].index("src")
            rel = parts[i + 1 :]
            if rel:
                names.add(".".join(rel))
        for n in names:
            by_name[n].add(f.path)
    idx.by_name = {k: sorted(v) for k, v in by_name.items()}
    return idx


def _resolve_relative(importer: str, module: str, level: int, idx: ModuleIndex) -> list[str]:
    """Relative import -> dotted names to try, in the importer's own directory tree."""
    parts = importer.split("/")[:-1]  # the importer's package directory
    up = level - 1
    if up > len(parts):
        return []
    base = parts[: len(parts) - up] if up else parts
    return ["/".join([*base, *module.split(".")]) if module else "/".join(base)]


def resolve(
    importer: str,
    module: str,
    names: Sequence[str],
    level: int,
    idx: ModuleIndex,
    paths: set[str],
    memo: dict[tuple[Any, ...], list[tuple[str, str]]] | None = None,
) -> list[tuple[str, str]]:
    """Return [(target file, dotted module)] for one import (possibly several for from-imports;
    the list may be shared with other calls: do not change it):
    ``import module`` (no names, level 0) or ``from <level dots>module import names``.

    ``memo`` (one per import graph) keeps what an absolute import resolves to for every importer
    of the same service, as long as no candidate needed the importer's own path to choose."""
    out: list[tuple[str, str]] = []
    if level:
        for base in _resolve_relative(importer, module, level, idx):
            found_sub = False
            for n in names:
                sub = f"{base}/{n}" if base else n
                for cand in (f"{sub}.py", f"{sub}/__init__.py"):
                    if cand in paths:
                        out.append((cand, n))
                        found_sub = True
                        break
            if not found_sub or module:
                for cand in (f"{base}.py", f"{base}/__init__.py"):
                    if cand in paths and cand != importer:
                        out.append((cand, module or "."))
                        break
        return _dedupe(out)
    # ``from pkg import a, b``: the submodules pkg.a and pkg.b, then pkg itself (its __init__ is
    # imported too)
    own = idx.service_of.get(importer)
    key = (own, module, *names)
    picked = memo.get(key) if memo is not None else None
    if picked is None:
        found = []
        general = True
        for dotted in [f"{module}.{n}" for n in names] + [module]:
            target = _pick(importer, dotted, idx)
            if target is not None:
                found.append((target, dotted))
                general = general and len(idx.by_service(dotted).get(own) or ()) < 2
        # first (target, dotted) per target; the importer itself is left out below (the same as
        # leaving it out first: its removal changes no other target's first entry)
        picked = _dedupe(found)
        if memo is not None and general:
            memo[key] = picked
    for t, _ in picked:
        if t == importer:
            return [(t, d) for t, d in picked if t != importer]
    return picked


def _dedupe(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for t, m in items:
        if t not in seen:
            seen.add(t)
            out.append((t, m))
    return out


def _pick(importer: str, dotted: str, idx: ModuleIndex) -> str | None:
    cands = idx.by_name.get(dotted)
    if not cands:
        return None
    own = idx.service_of.get(importer)
    groups = idx.by_service(dotted)
    same = groups.get(own)
    if same:
        if len(same) == 1:  # (nearly always: every name Django imports has one file)
            return same[0]
        # nearest: longest common directory prefix with the importer
        return max(same, key=lambda c: (_common(c, importer), c))
    top = dotted.split(".")[0]
    if own is not None and top in idx.top_packages.get(own, set()):
        return None  # the importer's own package of that name wins at runtime
    shared = groups.get(None)
    if shared:
        return shared[0]
    return min(cands) if len(groups) == 1 or len(cands) == 1 else None


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/"), b.split("/")):
        if x != y:
            break
        n += 1
    return n


def build_edges(file_facts: Mapping[str, Mapping[str, Any]], idx: ModuleIndex) -> list[ImportEdge]:
    """Every import of every file (the per-file fact ``imports``) that resolves to a scanned file."""
    paths = set(idx.service_of)
    edges: list[ImportEdge] = []
    memo: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
    for path in sorted(file_facts):
        for imp in file_facts[path].get("imports") or ():
            resolved = resolve(
                path, imp.get("module") or "", imp.get("names") or (), int(imp.get("level") or 0), idx, paths, memo
            )
            for target, dotted in resolved:
                edges.append(ImportEdge(path, target, int(imp["line"]), bool(imp.get("toplevel", True)), dotted))
    return edges


def coupling_table(
    python_paths: Sequence[str],
    edges: Sequence[ImportEdge],
    file_facts: Mapping[str, Mapping[str, Any]],
    idx: ModuleIndex,
) -> list[dict[str, Any]]:
    ca: dict[str, set[str]] = defaultdict(set)
    ce: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        ce[e.source].add(e.target)
        ca[e.target].add(e.source)
    rows = []
    none: set[str] = set()
    for p in sorted(python_paths):
        a_in, e_out = len(ca.get(p, none)), len(ce.get(p, none))
        inst = e_out / (a_in + e_out) if (a_in + e_out) else 0.0
        classes = (file_facts.get(p) or {}).get("classes") or []
        abst = sum(1 for c in classes if c.get("abstract")) / len(classes) if classes else 0.0
        rows.append(
            {
                "path": p,
                "module": idx.package_root_name.get(p, ".".join(_dotted(p))),
                "service": idx.service_of.get(p),
                "ca": a_in,
                "ce": e_out,
                "instability": round(inst, 4),
                "abstractness": round(abst, 4),
                "distance": round(abs(abst + inst - 1), 4),
            }
        )
    return rows


def _sorted_subgraph(g: nx.DiGraph | Mapping[str, Iterable[str]], nodes: Sequence[str]) -> nx.DiGraph:
    """The subgraph on ``nodes`` as a new graph whose nodes and edges are inserted in sorted order.

    networkx subgraph *views* iterate a small node filter as a Python set, in string-hash order,
    which changes from one process to the next (PYTHONHASHSEED); breadth-first searches over such a
    view break ties between equally short paths differently on every run. Sorted insertion makes
    every traversal, and so the reported cycles, the same in every process.
    """
    keep = set(nodes)
    successors = g.successors if isinstance(g, nx.DiGraph) else (lambda u: g.get(u, ()))
    sub: nx.DiGraph = nx.DiGraph()
    sub.add_nodes_from(sorted(keep))
    sub.add_edges_from(sorted((u, v) for u in keep for v in successors(u) if v in keep))
    return sub


def strongly_connected(succ: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node of the graph ``succ`` (node -> its
    successors; a successor need not be a key), each sorted, in sorted order -- the same as
    ``sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)``, without
    building the networkx graph (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in succ:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[str, Iterator[str]]] = [(root, iter(succ.get(root, ())))]
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(succ.get(nxt, ()))))
                    break
                if nxt in on_stack and index[nxt] < low[node]:
                    low[node] = index[nxt]
            else:  # every successor seen: node is finished
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == index[node]:
                    comp: list[str] = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    out.sort()
    return out


def cycles_to_break(edges: Sequence[ImportEdge], max_per_component: int = 200) -> list[dict[str, Any]]:
    """A feedback edge set over import-time imports, each with the cycle it breaks."""
    first_line: dict[tuple[str, str], int] = {}
    for e in edges:
        if not e.toplevel or e.source == e.target:
            continue
        key = (e.source, e.target)
        line = first_line.get(key)
        if line is None or e.line < line:
            first_line[key] = e.line
    # the whole graph as a plain adjacency (a networkx graph of every import cost more than the
    # rest of this function): networkx only for the components with cycles
    g: dict[str, list[str]] = {}
    for source, target in first_line:
        g.setdefault(source, []).append(target)
    out: list[dict[str, Any]] = []
    pending = strongly_connected(g)
    while pending:
        comp = pending.pop(0)
        sub = _sorted_subgraph(g, comp)
        removed = 0
        while removed < max_per_component:
            sccs = sorted(sorted(c) for c in nx.strongly_connected_components(sub) if len(c) > 1)
            if not sccs:
                break
            nodes = sccs[0]
            start = nodes[0]
            scc_sub = _sorted_subgraph(sub, nodes)
            best: list[str] | None = None
            for pred in sorted(scc_sub.predecessors(start)):
                try:
                    path = nx.shortest_path(scc_sub, start, pred)
                except nx.NetworkXNoPath:
                    continue
                if best is None or len(path) < len(best):
                    best = path
            if best is None:  # pragma: no cover - an SCC always has a cycle through its nodes
                break
            closing = (best[-1], start)
            out.append(
                {
                    "modules": [*best, start],
                    "break": {"file": closing[0], "line": first_line[closing], "imports": closing[1]},
                }
            )
            sub.remove_edge(*closing)
            removed += 1
    out.sort(key=lambda c: (c["break"]["file"], c["break"]["line"], c["modules"]))
    return out
