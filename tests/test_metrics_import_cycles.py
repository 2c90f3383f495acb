"""The project pass's import graph shortcuts against the networkx code they replaced.

``modularity.strongly_connected`` (Tarjan over a plain adjacency) must give the components of
``networkx.strongly_connected_components``, and ``cycles_to_break`` (networkx only for the
components with cycles) the cycles of the version that put every import in a networkx graph
(``_reference_cycles_to_break`` below), on generated graphs and on the import graph of standard
library packages. ``build_edges`` (memoised resolution) must give the edges of per-import
resolution with the memo off.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from qualscan.metrics import modularity
from qualscan.metrics.filefacts import imports_of
from qualscan.model import FileKind, SourceFile

_STDLIB = Path(os.__file__).parent
_PACKAGES = ("asyncio", "email", "importlib", "concurrent", "json", "logging", "xml", "multiprocessing", "unittest")


def _reference_cycles_to_break(edges: list[modularity.ImportEdge], max_per_component: int = 200) -> list[dict[str, Any]]:
    g: nx.DiGraph = nx.DiGraph()
    first_line: dict[tuple[str, str], int] = {}
    for e in edges:
        if not e.toplevel or e.source == e.target:
            continue
        key = (e.source, e.target)
        if key not in first_line or e.line < first_line[key]:
            first_line[key] = e.line
        g.add_edge(e.source, e.target)
    out: list[dict[str, Any]] = []
    pending = sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)
    while pending:
        comp = pending.pop(0)
        sub = modularity._sorted_subgraph(g, comp)
        removed = 0
        while removed < max_per_component:
            sccs = sorted(sorted(c) for c in nx.strongly_connected_components(sub) if len(c) > 1)
            if not sccs:
                break
            start = sccs[0][0]
            scc_sub = modularity._sorted_subgraph(sub, sccs[0])
            best: list[str] | None = None
            for pred in sorted(scc_sub.predecessors(start)):
                try:
                    path = nx.shortest_path(scc_sub, start, pred)
                except nx.NetworkXNoPath:
                    continue
                if best is None or len(path) < len(best):
                    best = path
            assert best is not None
            closing = (best[-1], start)
            out.append({"modules": [*best, start], "break": {"file": closing[0], "line": first_line[closing], "imports": closing[1]}})
            sub.remove_edge(*closing)
            removed += 1
    out.sort(key=lambda c: (c["break"]["file"], c["break"]["line"], c["modules"]))
    return out


def _nx_components(pairs: list[tuple[str, str]]) -> list[list[str]]:
    g: nx.DiGraph = nx.DiGraph()
    g.add_edges_from(pairs)
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


_node = st.sampled_from([f"m{i:02d}.py" for i in range(14)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_node, _node), max_size=60))
def test_strongly_connected_equals_networkx(pairs: list[tuple[str, str]]) -> None:
    succ: dict[str, list[str]] = {}
    for u, v in pairs:
        if u != v:
            succ.setdefault(u, []).append(v)
    assert modularity.strongly_connected(succ) == _nx_components([(u, v) for u, v in pairs if u != v])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_node, _node, st.integers(1, 9), st.booleans()), max_size=50))
def test_cycles_to_break_equals_the_networkx_version(rows: list[tuple[str, str, int, bool]]) -> None:
    edges = [modularity.ImportEdge(u, v, line, top, v[:-3]) for u, v, line, top in rows]
    assert modularity.cycles_to_break(edges) == _reference_cycles_to_break(edges)


def _stdlib_import_graph() -> tuple[dict[str, Any], modularity.ModuleIndex]:
    files: list[SourceFile] = []
    facts: dict[str, Any] = {}
    for pkg in _PACKAGES:
        for path in sorted((_STDLIB / pkg).rglob("*.py")):
            rel = path.relative_to(_STDLIB).as_posix()
            if "/test" in rel:
                continue
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                continue
            files.append(SourceFile(rel, FileKind.PYTHON))
            facts[rel] = {"imports": imports_of(tree)}
    return facts, modularity.build_index(files, {})


def test_import_graph_of_stdlib_packages() -> None:
    facts, idx = _stdlib_import_graph()
    edges = modularity.build_edges(facts, idx)
    # memoised resolution = resolving every import on its own
    paths = set(idx.service_of)
    unmemoised = [
        (path, target, imp["line"], dotted)
        for path in sorted(facts)
        for imp in facts[path]["imports"]
        for target, dotted in modularity.resolve(
            path, imp["module"], imp["names"], imp["level"], idx, paths, memo=None
        )
    ]
    assert [(e.source, e.target, e.line, e.module) for e in edges] == unmemoised
    assert len(edges) > 500
    succ: dict[str, list[str]] = {}
    for e in edges:
        if e.source != e.target:
            succ.setdefault(e.source, []).append(e.target)
    components = modularity.strongly_connected(succ)
    assert components == _nx_components([(e.source, e.target) for e in edges if e.source != e.target])
    assert components  # asyncio, email, multiprocessing ... import each other
    cycles = modularity.cycles_to_break(edges)
    assert cycles and cycles == _reference_cycles_to_break(edges)


def test_memo_never_shares_a_choice_made_by_the_importers_path() -> None:
    # one service, two packages named ``app``: ``from app import models`` means the nearest one
    sources = {
        "services/svc/a/app/__init__.py": "",
        "services/svc/a/app/models.py": "",
        "services/svc/a/main.py": "from app import models\nimport app.models\n",
        "services/svc/b/app/__init__.py": "",
        "services/svc/b/app/models.py": "",
        "services/svc/b/main.py": "from app import models\nimport app.models\n",
        "services/svc/c/main.py": "import json\nfrom app import models\n",
    }
    files = [SourceFile(p, FileKind.PYTHON, service="svc") for p in sources]
    idx = modularity.build_index(files, {"svc": "services/svc"})
    facts = {p: {"imports": imports_of(ast.parse(t))} for p, t in sources.items()}
    got = {(e.source, e.target) for e in modularity.build_edges(facts, idx)}
    assert ("services/svc/a/main.py", "services/svc/a/app/models.py") in got
    assert ("services/svc/b/main.py", "services/svc/b/app/models.py") in got
    assert ("services/svc/b/main.py", "services/svc/a/app/models.py") not in got
    paths = set(idx.service_of)
    assert [(e.source, e.target, e.line, e.module) for e in modularity.build_edges(facts, idx)] == [
        (p, target, imp["line"], dotted)
        for p in sorted(facts)
        for imp in facts[p]["imports"]
        for target, dotted in modularity.resolve(p, imp["module"], imp["names"], imp["level"], idx, paths)
    ]
