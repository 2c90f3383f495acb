"""JSON report, contract v1 (docs/json-contract.md; schema shipped as qualscan/schema/report.schema.json).

Deterministic: the same input gives byte-identical output (sorted keys, sorted lists, no timestamps
unless asked for).
"""

from __future__ import annotations

import datetime as _dt
import json
import json.encoder
from typing import Any

from qualscan.model import SCHEMA_VERSION, ScanResult, jsonable


def to_dict(result: ScanResult, *, timestamp: bool = False) -> dict[str, Any]:
    metrics = dict(result.metrics)  # already JSON-ready (ProjectMetrics.to_json); the encoder takes tuples
    metrics.setdefault("files", [])
    metrics.setdefault("functions", [])
    metrics.setdefault("services", {})
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "qualscan", "version": result.tool_version},
        "root": result.root,
        "event": jsonable(dict(result.event)),
        "journeys": [j.to_json() for j in result.journeys],
        "services": [s.to_json() for s in result.services],
        "edges": [e.to_json() for e in result.edges],
        "findings": [f.to_json() for f in result.findings],
        "weak_points": [w.to_json() for w in result.weak_points],
        "metrics": metrics,
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "rules": [r.to_json() for r in result.rules],
        "summary": summary(result),
    }
    for key, value in sorted(result.extra.items()):
        data[key] = jsonable(value)
    if timestamp:
        data["generated_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return data


def summary(result: ScanResult) -> dict[str, Any]:
    by_sev: dict[str, int] = {s: 0 for s in ("critical", "high", "medium", "low", "info")}
    for f in result.findings:
        by_sev[f.severity.value] += 1
    by_rule: dict[str, int] = {}
    for f in result.findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    return {
        "services": len(result.services),
        "edges": len(result.edges),
        "findings": len(result.findings),
        "by_severity": by_sev,
        "by_rule": dict(sorted(by_rule.items())),
        "diagnostics": len(result.diagnostics),
    }


def render(result: ScanResult, *, timestamp: bool = False, **_: Any) -> str:
    return dumps(to_dict(result, timestamp=timestamp))


_PRETTY_DEPTH = 3  # top-level sections, their lists/tables, then one record per line


def dumps(data: Any) -> str:
    """Deterministic JSON, laid out for reading and diffing: the outer levels are indented and
    each record (a finding, a function, a file ...) sits on one line.

    ``json.dumps(indent=...)`` would do the same job with CPython's pure-Python encoder, which
    took most of a warm re-scan's time on large monorepos; here each record goes through the C
    encoder."""
    out: list[str] = []
    _emit(data, 0, out)
    out.append("\n")
    return "".join(out)


# One encoder for every record: ``json.dumps`` with options builds a new encoder per call, a third
# of the rendering time of a 13 MB report; ``JSONEncoder.encode`` still builds a C encoder per call,
# so the C encoder is made once (issue #8; a 13 MB Django report: 0.18 s instead of 0.31 s). The
# output is exactly ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))``.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
_make: Any = getattr(json.encoder, "c_make_encoder", None)  # absent from the type stubs
_encode_str: Any = getattr(json.encoder, "c_encode_basestring", None)
_C_ENCODER: Any = (
    _make(None, _ENCODER.default, _encode_str, None, ": ", ", ", True, False, True)
    if _make is not None and _encode_str is not None
    else None
)


def _leaf(value: Any) -> str:
    if _C_ENCODER is None:  # pragma: no cover - interpreters without the C accelerator
        return _ENCODER.encode(value)
    if isinstance(value, str):
        return str(_encode_str(value))
    return "".join(_C_ENCODER(value, 0))


def _emit(value: Any, depth: int, out: list[str]) -> None:
    if depth >= _PRETTY_DEPTH or not isinstance(value, (dict, list)) or not value:
        out.append(_leaf(value))
        return
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            out.append(("," if i else "") + "\n" + pad + json.dumps(str(key), ensure_ascii=False) + ": ")
            _emit(value[key], depth + 1, out)
        out.append("\n" + "  " * depth + "}")
    else:
        out.append("[")
        for i, item in enumerate(value):  # a list holds records: one per line
            out.append(("," if i else "") + "\n" + pad + _leaf(item))
        out.append("\n" + "  " * depth + "]")
