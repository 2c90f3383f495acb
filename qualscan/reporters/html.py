"""Self-contained HTML report (one file, opens offline, prints to PDF).

Rendered with jinja2 from ``templates/report.html.j2`` with autoescaping on, so anything that comes
from the scanned repository (messages, paths, names) is text. The stylesheet and the small script
are inlined; a Content-Security-Policy allows no network access at all (``default-src 'none'``) and
only the report's own script (by its sha256 hash). The dependency graph is an inline SVG whose
layout is computed here: tiers of the traffic sandwich as columns (edge -> gateway -> application ->
middleware -> data -> external), deterministic ordering inside a column (barycentre sweeps, ties by
name), tall columns wrapped into sub-columns so 50+ services stay readable.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from qualscan.model import Finding, ScanResult, Service, Severity, WeakPoint
from qualscan.scoring import (
    TIER_ORDER,
    edge_findings,
    service_tier,
    severity_counts,
    sorted_findings,
    weakest_link,
)

COLUMNS: tuple[str, ...] = (*TIER_ORDER, "external")
DIMENSIONS: tuple[str, ...] = ("modularity", "coupling", "complexity", "reuse", "coverage", "changeability")
GRADES = ("A", "B", "C", "D", "E")

NODE_W = 150
NODE_H = 28
ROW_GAP = 12
COL_GAP = 64
SUB_GAP = 24
MAX_ROWS = 16
TOP = 56
LEFT = 16
LABEL_CHARS = 20
MORE_LIMIT = 200  # weak points listed in the HTML (all of them are in the JSON report)


def _template_dir() -> Path:
    try:
        import qualscan.templates as pkg  # installed wheel: templates/ ships as qualscan.templates

        return Path(pkg.__file__).resolve().parent
    except ImportError:  # development checkout: top-level templates/
        return Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    base = _template_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(base)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    return env


def _asset(name: str) -> str:
    return (_template_dir() / name).read_text(encoding="utf-8")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return str(value)


# --- graph layout ----------------------------------------------------------------------------------


@dataclass
class GNode:
    name: str
    label: str
    column: str
    x: float = 0.0
    y: float = 0.0
    kind: str = "service"
    spof: bool = False
    critical: bool = False
    level: str = "none"  # worst severity among its findings / weak point, or "none"
    rank: int | None = None
    anchor: str = ""
    title: str = ""


@dataclass
class GEdge:
    source: str
    target: str
    d: str
    risky: bool
    sync: bool
    bridge: bool
    title: str
    level: str = "none"


@dataclass
class GraphLayout:
    width: float
    height: float
    nodes: list[GNode] = field(default_factory=list)
    edges: list[GEdge] = field(default_factory=list)
    bands: list[dict[str, Any]] = field(default_factory=list)
    node_w: int = NODE_W
    node_h: int = NODE_H


def _column_of(svc: Service | None) -> str:
    if svc is None:
        return "application"
    if svc.kind.value == "external":
        return "external"
    return service_tier(svc) or "application"


def _short(name: str, n: int = LABEL_CHARS) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def layout_graph(result: ScanResult, anchors: Mapping[str, str]) -> GraphLayout:
    """Deterministic tiered layout of services and edges (coordinates in SVG user units)."""
    services = {s.name: s for s in result.services}
    names = set(services)
    for e in result.edges:
        names.update((e.source, e.target))
    columns: dict[str, list[str]] = defaultdict(list)
    for n in sorted(names):
        columns[_column_of(services.get(n))].append(n)
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in result.edges:
        neighbours[e.source].add(e.target)
        neighbours[e.target].add(e.source)
    # barycentre ordering: two left-to-right sweeps using positions fixed so far, ties by name
    pos: dict[str, float] = {}
    order = [c for c in COLUMNS if columns.get(c)]
    for c in order:
        for i, n in enumerate(columns[c]):
            pos[n] = float(i)
    col_of = {n: c for c in order for n in columns[c]}

    def barycentre(n: str) -> tuple[float, str]:
        ps = [pos[m] for m in neighbours[n] if col_of.get(m) != col_of[n]]
        return (sum(ps) / len(ps) if ps else pos[n], n)

    for _ in range(2):
        for c in order:
            columns[c].sort(key=barycentre)
            for i, n in enumerate(columns[c]):
                pos[n] = float(i)

    wps = {wp.target: wp for wp in result.weak_points}
    node_level: dict[str, int] = defaultdict(lambda: -1)
    for f in result.findings:
        t = f.target if f.target and "->" not in f.target else f.service
        if t:
            node_level[t] = max(node_level[t], f.severity.rank)

    layout = GraphLayout(width=0, height=0)
    x = float(LEFT)
    max_rows = 1
    for c in order:
        members = columns[c]
        subcols = max(1, math.ceil(len(members) / MAX_ROWS))
        rows = math.ceil(len(members) / subcols)
        max_rows = max(max_rows, rows)
        band_w = subcols * NODE_W + (subcols - 1) * SUB_GAP
        layout.bands.append({"label": c, "x": x - 8, "w": band_w + 16, "count": len(members)})
        for i, n in enumerate(members):
            sc, row = divmod(i, rows)
            svc = services.get(n)
            attrs = svc.attrs if svc else {}
            lvl = node_level.get(n, -1)
            wp = wps.get(n)
            title_bits = [n, f"tier: {c}"]
            if svc is not None:
                title_bits.append(f"kind: {svc.kind.value}")
            if attrs.get("articulation"):
                title_bits.append("single point of failure")
            if wp is not None:
                title_bits.append(f"weak point #{wp.rank}, score {wp.score:.1f}")
            layout.nodes.append(
                GNode(
                    name=n,
                    label=_short(n),
                    column=c,
                    x=x + sc * (NODE_W + SUB_GAP),
                    y=TOP + row * (NODE_H + ROW_GAP),
                    kind=svc.kind.value if svc else "service",
                    spof=bool(attrs.get("articulation")),
                    critical=bool(attrs.get("critical")),
                    level=list(Severity)[lvl].value if lvl >= 0 else "none",
                    rank=wp.rank if wp else None,
                    anchor=anchors.get(n, ""),
                    title=" · ".join(title_bits),
                )
            )
        x += band_w + COL_GAP
    layout.width = max(x - COL_GAP + LEFT + 8, 320)
    layout.height = TOP + max_rows * (NODE_H + ROW_GAP) + 24

    at = {n.name: n for n in layout.nodes}
    efind = edge_findings(result)
    for e in sorted(result.edges, key=lambda e: (e.source, e.target, e.protocol)):
        a, b = at.get(e.source), at.get(e.target)
        if a is None or b is None:
            continue
        fs = efind.get((e.source, e.target), [])
        bridge = bool(e.attrs.get("bridge") or e.attrs.get("is_bridge"))
        lvl = max((f.severity.rank for f in fs), default=-1)
        ewp = wps.get(f"{e.source}->{e.target}")
        risky = bool(fs) or ewp is not None
        if b.x > a.x:
            x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
            x2, y2 = b.x, b.y + NODE_H / 2
            dx = max(30.0, (x2 - x1) / 2)
            d = f"M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        elif b.x < a.x:
            x1, y1 = a.x, a.y + NODE_H / 2
            x2, y2 = b.x + NODE_W, b.y + NODE_H / 2
            d = f"M{x1:.1f},{y1:.1f} C{x1 - 40:.1f},{y1 + 40:.1f} {x2 + 40:.1f},{y2 + 40:.1f} {x2:.1f},{y2:.1f}"
        else:  # same sub-column: arc on the right side
            x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
            x2, y2 = b.x + NODE_W, b.y + NODE_H / 2
            bulge = 24 + abs(y2 - y1) / 4
            d = f"M{x1:.1f},{y1:.1f} C{x1 + bulge:.1f},{y1:.1f} {x2 + bulge:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        title = f"{e.source} → {e.target} ({e.protocol}, {'sync' if e.sync else 'async'})"
        if fs:
            title += ": " + ", ".join(sorted({f.rule for f in fs}))
        if bridge:
            title += " · bridge"
        layout.edges.append(
            GEdge(
                source=e.source,
                target=e.target,
                d=d,
                risky=risky,
                sync=e.sync,
                bridge=bridge,
                title=title,
                level=list(Severity)[lvl].value if lvl >= 0 else ("medium" if risky else "none"),
            )
        )
    layout.edges.sort(key=lambda g: (g.risky, g.source, g.target))  # risky edges drawn last (on top)
    return layout


# --- sections ----------------------------------------------------------------------------------------


def _metric_cell(raw: Any) -> dict[str, Any]:
    value = raw
    grade = None
    if isinstance(raw, Mapping):
        value = raw.get("value", raw.get("score"))
        grade = raw.get("grade")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = None if not isinstance(value, str) else value
    if grade not in GRADES:
        grade = None
    return {"value": value, "grade": grade}


def quality_matrix(result: ScanResult) -> list[dict[str, Any]]:
    """Rows (one per service with metrics) of the services × dimensions heatmap."""
    per_service = result.metrics.get("services") if result.metrics else None
    if not isinstance(per_service, Mapping):
        return []
    rows = []
    for name in sorted(per_service):
        data = per_service[name]
        if not isinstance(data, Mapping):
            continue
        grades = data.get("grades") if isinstance(data.get("grades"), Mapping) else {}
        cells = []
        for dim in DIMENSIONS:
            cell = _metric_cell(data.get(dim))
            if cell["grade"] is None and isinstance(grades, Mapping) and grades.get(dim) in GRADES:
                cell["grade"] = grades.get(dim)
            cells.append(cell)
        overall = data.get("grade") if data.get("grade") in GRADES else None
        rows.append({"service": str(name), "cells": cells, "grade": overall})
    return rows


def _comparison(result: ScanResult, previous: ScanResult | Mapping[str, Any]) -> dict[str, Any]:
    def key(d: Mapping[str, Any]) -> str:
        return str(d.get("fingerprint") or f"{d.get('rule')}|{d.get('file')}|{d.get('message')}")

    if isinstance(previous, ScanResult):
        old_findings = [f.to_json() for f in previous.findings]
        old_wps = [wp.to_json() for wp in previous.weak_points]
        old_meta = {"tool_version": previous.tool_version}
    else:
        old_findings = [dict(f) for f in previous.get("findings", []) if isinstance(f, Mapping)]
        old_wps = [dict(w) for w in previous.get("weak_points", []) if isinstance(w, Mapping)]
        old_meta = {"tool_version": previous.get("tool_version") or previous.get("tool", {}).get("version", "?")}
    new_findings = [f.to_json() for f in result.findings]
    old_keys = {key(f): f for f in old_findings}
    new_keys = {key(f): f for f in new_findings}
    added = [new_keys[k] for k in sorted(new_keys) if k not in old_keys]
    fixed = [old_keys[k] for k in sorted(old_keys) if k not in new_keys]
    sev_rank = {s.value: s.rank for s in Severity}

    def order(fs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(fs, key=lambda f: (-sev_rank.get(str(f.get("severity")), 0), str(f.get("file")),
                                         int(f.get("line") or 0), str(f.get("rule"))))

    old_scores = {str(w.get("target")): float(w.get("score") or 0) for w in old_wps}
    moves = []
    for wp in result.weak_points:
        before = old_scores.get(wp.target)
        delta = wp.score - before if before is not None else None
        if before is None or abs(delta or 0) >= 0.05:
            moves.append({"target": wp.target, "kind": wp.kind, "rank": wp.rank, "score": wp.score,
                          "before": before, "delta": delta})
    gone = sorted(set(old_scores) - {wp.target for wp in result.weak_points})
    old_counts: dict[str, int] = defaultdict(int)
    for f in old_findings:
        old_counts[str(f.get("severity"))] += 1
    new_counts = severity_counts(result.findings)
    return {
        "meta": old_meta,
        "added": order(added),
        "fixed": order(fixed),
        "moves": moves[:25],
        "gone": gone,
        "counts": [(s, old_counts.get(s, 0), n) for s, n in new_counts.items()],
    }


def _slug_map(names: Sequence[str], prefix: str) -> dict[str, str]:
    return {n: f"{prefix}-{i}" for i, n in enumerate(names)}


def build_context(result: ScanResult, **options: Any) -> dict[str, Any]:
    top = int(options.get("top", 10))
    by_fp: dict[str, Finding] = {f.fingerprint: f for f in result.findings if f.fingerprint}
    svc_names = sorted({s.name for s in result.services} | {e.source for e in result.edges}
                       | {e.target for e in result.edges})
    anchors = _slug_map(svc_names, "svc")
    services = {s.name: s for s in result.services}
    wps = list(result.weak_points)
    wp_by_target = {wp.target: wp for wp in wps}

    def wp_view(wp: WeakPoint) -> dict[str, Any]:
        fs = [by_fp[fp] for fp in wp.findings if fp in by_fp]
        worst = max((f.severity.rank for f in fs), default=-1)
        impact_parts = sorted((k.split(".", 1)[1], v) for k, v in wp.breakdown.items() if k.startswith("impact."))
        like_parts = sorted((k.split(".", 1)[1], v) for k, v in wp.breakdown.items() if k.startswith("likelihood."))
        return {
            "wp": wp,
            "findings": sorted_findings(fs),
            "level": list(Severity)[worst].value if worst >= 0 else "medium",
            "impact_parts": impact_parts,
            "likelihood_parts": like_parts,
            # an edge links to its caller's scorecard, a file or function to its service's
            "anchor": anchors.get(wp.target.split("->", 1)[0].strip() if wp.kind == "edge" else wp.target)
            or next((anchors[f.service] for f in fs if f.service in anchors), ""),
        }

    journeys = []
    for j in result.journeys:
        link = weakest_link(result, j)
        steps = []
        for n in j.path:
            wp = wp_by_target.get(n)
            steps.append({"name": n, "anchor": anchors.get(n, ""), "rank": wp.rank if wp else None,
                          "spof": bool(services[n].attrs.get("articulation")) if n in services else False})
        journeys.append({"j": j, "steps": steps, "weakest": link})

    findings_by_service: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.service:
            findings_by_service[f.service].append(f)
        elif f.target and "->" not in f.target:
            findings_by_service[f.target].append(f)
    matrix = quality_matrix(result)
    raw_services = result.metrics.get("services") if result.metrics else None
    per_service_metrics: Mapping[str, Any] = raw_services if isinstance(raw_services, Mapping) else {}
    matrix_by_service = {row["service"]: row for row in matrix}
    cards = []
    for s in sorted(result.services, key=lambda s: (wp_by_target[s.name].rank if s.name in wp_by_target
                                                      else 10**9, s.name)):
        fs = findings_by_service.get(s.name, [])
        attrs = s.attrs
        facts = []
        for label, keyname in (("tier", "tier"), ("replicas", "replicas"), ("PDB", "has_pdb"),
                               ("HPA", "has_hpa"), ("HPA max", "hpa_max"), ("fan-in", "fan_in"),
                               ("fan-out", "fan_out"), ("blast radius", "blast_radius"),
                               ("centrality", "centrality"), ("critical", "critical"),
                               ("SPOF", "articulation"), ("image", "image")):
            if keyname in attrs and attrs[keyname] is not None:
                v = attrs[keyname]
                facts.append((label, ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v))
        svc_metrics = per_service_metrics.get(s.name)
        if isinstance(svc_metrics, Mapping):
            for label, keyname in (("files", "files"), ("SLOC", "sloc"), ("functions", "functions"),
                                   ("max cyclomatic", "max_cyclomatic"), ("max cognitive", "max_cognitive"),
                                   ("hotspots", "hotspots"), ("commits", "commits")):
                v = svc_metrics.get(keyname)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    facts.append((label, v))
        cards.append({
            "s": s,
            "anchor": anchors.get(s.name, ""),
            "wp": wp_by_target.get(s.name),
            "counts": severity_counts(fs),
            "facts": facts,
            "journeys": ", ".join(map(str, attrs.get("journeys") or [])),
            "matrix": matrix_by_service.get(s.name),
            "top_findings": sorted_findings(fs)[:5],
            "n_findings": len(fs),
        })

    compare = options.get("compare")
    event = dict(result.event or {})
    return {
        "result": result,
        "event": event,
        "title": f"qualscan — {event.get('name', 'peak readiness')}",
        "counts": severity_counts(result.findings),
        "top": [wp_view(wp) for wp in wps[:top]],
        "more_weak_points": [wp_view(wp) for wp in wps[top:MORE_LIMIT]],
        "hidden_weak_points": max(0, len(wps) - max(top, MORE_LIMIT)),
        "journeys": journeys,
        "graph": layout_graph(result, anchors),
        "dimensions": DIMENSIONS,
        "matrix": matrix,
        "cards": cards,
        "findings": sorted_findings(result.findings),
        "severities": [s.value for s in sorted(Severity, key=lambda s: -s.rank)],
        "sev_rank": {s.value: s.rank for s in Severity},
        "compare": _comparison(result, compare) if compare is not None else None,
        "diagnostics": sorted(result.diagnostics, key=lambda d: (d.file, d.line, d.message)),
        "anchors": anchors,
    }


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def render(result: ScanResult, **options: Any) -> str:
    """The HTML report. Options: ``top`` (weak points in the summary, default 10) and ``compare``
    (the previous report, a ``ScanResult`` or the parsed JSON report) for "what changed"."""
    env = _environment()
    script = _asset("report.js")
    ctx = build_context(result, **options)
    ctx["css"] = Markup(_asset("report.css"))  # our own asset, not repository content
    ctx["script"] = Markup(script)
    ctx["csp"] = _csp(script)
    return env.get_template("report.html.j2").render(**ctx)
