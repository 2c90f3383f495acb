"""Exports of the service graph (dot, mermaid, json, graphml) and the what-if report."""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING, Any

import networkx as nx

from qualscan.model import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from qualscan.graph.model import GraphModel

FORMATS = ("dot", "mermaid", "json", "graphml")
_SHAPES = {"service": "box", "datastore": "cylinder", "broker": "hexagon", "gateway": "invhouse", "external": "cloud"}


def what_if(model: GraphModel, node: str) -> dict[str, Any]:
    """Journeys broken / degraded if ``node`` fails, and who loses it (sync callers, transitively)."""
    name = model.resolve_node(node)
    if name is None:
        return {"error": f"no node {node!r} in the graph (known: {', '.join(sorted(model.nodes)[:20])})", "node": node}
    g = model.nx
    br = model.blast.get(name, {"broken": [], "degraded": []})
    sync = nx.DiGraph((u, v) for u, v, d in g.edges(data=True) if d.get("sync", True))
    sync.add_nodes_from(g)
    callers = sorted(nx.ancestors(sync, name))
    async_callers = sorted(set(nx.ancestors(g, name)) - set(callers))
    # nodes no longer reachable from any entry point once ``name`` is gone
    entries = [n for n, data in model.nodes.items() if data.entry and n != name]
    unreachable: list[str] = []
    if entries:
        h = g.copy()
        before = set().union(*(nx.descendants(g, e) | {e} for e in entries))
        h.remove_node(name)
        after = set().union(*(nx.descendants(h, e) | {e} for e in entries if e in h))
        unreachable = sorted(before - after - {name})
    return {
        "node": name,
        "kind": model.nodes[name].kind.value,
        "broken": list(br["broken"]),
        "degraded": list(br["degraded"]),
        "affected_services": callers,
        "degraded_services": async_callers,
        "unreachable": unreachable,
        "articulation": name in model.articulation,
    }


def _mid(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _dot(model: GraphModel) -> str:
    out = ["digraph services {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for s in model.services:
        shape = _SHAPES.get(s.kind.value, "box")
        style = ', style="bold"' if s.attrs.get("articulation") else ""
        out.append(f'  {json.dumps(s.name)} [shape={shape}, label={json.dumps(s.name)}{style}];')
    for e in model.edges:
        style = "solid" if e.sync else "dashed"
        out.append(f"  {json.dumps(e.source)} -> {json.dumps(e.target)} [label={json.dumps(e.protocol)}, style={style}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    """A label from the repository as Mermaid text: no line breaks (each line is a statement), quotes
    and angle brackets as Mermaid entity codes (labels may be rendered as HTML)."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", text)
    return text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mermaid(model: GraphModel) -> str:
    out = ["graph LR"]
    brackets = {"service": ("[", "]"), "datastore": ("[(", ")]"), "broker": ("{{", "}}"), "gateway": ("[/", "/]"), "external": ("((", "))")}
    for s in model.services:
        o, c = brackets.get(s.kind.value, ("[", "]"))
        label = _mermaid_text(s.name)
        out.append(f'  {_mid(s.name)}{o}"{label}"{c}')
    for e in model.edges:
        arrow = "-->" if e.sync else "-.->"
        out.append(f"  {_mid(e.source)} {arrow}|{e.protocol}| {_mid(e.target)}")
    return "\n".join(out) + "\n"


def _json(model: GraphModel) -> str:
    data = {
        "services": [s.to_json() for s in model.services],
        "edges": [e.to_json() for e in model.edges],
        "journeys": [j.to_json() for j in model.journeys],
        "analyses": model.analyses(),
    }
    return json.dumps(jsonable(data), indent=2, sort_keys=True) + "\n"


def _graphml(model: GraphModel) -> str:
    g = nx.DiGraph()
    for s in model.services:
        g.add_node(
            s.name,
            kind=s.kind.value,
            tier=str(s.attrs.get("tier", "")),
            replicas=int(s.attrs.get("replicas") or 0),
            critical=bool(s.attrs.get("critical")),
            articulation=bool(s.attrs.get("articulation")),
            path=s.path or "",
        )
    for e in model.edges:
        g.add_edge(
            e.source,
            e.target,
            protocol=e.protocol,
            sync=e.sync,
            evidence=";".join(f"{ev.file}:{ev.line}" for ev in e.evidence),
        )
    buf = io.BytesIO()
    nx.write_graphml(g, buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


def export(model: GraphModel, fmt: str) -> str:
    """Render the graph as ``dot``, ``mermaid``, ``json`` or ``graphml``."""
    if fmt == "dot":
        return _dot(model)
    if fmt == "mermaid":
        return _mermaid(model)
    if fmt == "json":
        return _json(model)
    if fmt == "graphml":
        return _graphml(model)
    raise ValueError(f"unknown graph format {fmt!r} (expected one of: {', '.join(FORMATS)})")
