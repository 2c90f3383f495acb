"""JSON report, contract v1 (docs/json-contract.md; schema shipped as qualscan/schema/report.schema.json).

Deterministic: the same input gives byte-identical output (sorted keys, sorted lists, no timestamps
unless asked for).
"""

from __future__ import annotations

import datetime as _dt
import json
import json.encoder
from typing import Any

from qualscan import parallel
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
    encoder. A large report is rendered on both cores: a forked child renders the first part of
    the longest record list while this process renders the rest (``_plan_split``); the text is the
    same either way."""
    out: list[str] = []
    _emit(data, 0, out, _plan_split(data))
    out.append("\n")
    return "".join(out)


# Rendering this much text (estimated) in two processes saves more than the fork and the transfer
# of the child's part cost (~10 ms for 6 MB); a 13 MB Django report: 0.19 -> 0.11 s wall.
PARALLEL_MIN_BYTES = 4 << 20
_SAMPLE = 32


class _Split:
    """The first ``count`` records of ``records`` (a list ``_emit`` renders at ``depth``), rendered
    by a forked child: the text ``_emit`` would write for them."""

    def __init__(self, records: list[Any], count: int, depth: int) -> None:
        self.records = records
        self.count = count
        self.job = parallel.spawn(_render_records, records, count, "  " * (depth + 1))
        self.slot = -1


def _render_records(records: list[Any], count: int, pad: str) -> str:
    return "".join(("," if i else "") + "\n" + pad + _leaf(records[i]) for i in range(count))


def _record_lists(value: Any, depth: int, found: list[tuple[int, list[Any]]]) -> None:
    if depth >= _PRETTY_DEPTH or not value:
        return
    if isinstance(value, dict):
        for item in value.values():
            _record_lists(item, depth + 1, found)
    elif isinstance(value, list):
        found.append((depth, value))


def _estimate(records: list[Any]) -> float:
    step = max(1, len(records) // _SAMPLE)
    sample = records[::step][:_SAMPLE]
    return len(records) * sum(len(_leaf(r)) + 4 for r in sample) / len(sample)


def _plan_split(data: Any) -> _Split | None:
    if not parallel.fork_available():
        return None
    found: list[tuple[int, list[Any]]] = []
    _record_lists(data, 0, found)
    if not found:
        return None
    sizes = [_estimate(records) for _, records in found]
    total = sum(sizes)
    if total < PARALLEL_MIN_BYTES:
        return None
    best = max(range(len(found)), key=lambda i: (sizes[i], -i))
    depth, records = found[best]
    per_record = sizes[best] / len(records)
    count = min(len(records) - 1, int(total / 2 / per_record))
    return _Split(records, count, depth) if count > 0 else None


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


def _emit(value: Any, depth: int, out: list[str], split: _Split | None = None) -> None:
    if depth >= _PRETTY_DEPTH or not isinstance(value, (dict, list)) or not value:
        out.append(_leaf(value))
        return
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            out.append(("," if i else "") + "\n" + pad + json.dumps(str(key), ensure_ascii=False) + ": ")
            _emit(value[key], depth + 1, out, split)
        out.append("\n" + "  " * depth + "}")
        if depth == 0 and split is not None and split.slot >= 0:
            out[split.slot] = split.job.result()
    else:
        out.append("[")
        start = 0
        if split is not None and value is split.records:
            split.slot = len(out)
            out.append("")  # the child's part, filled in once this process is done with the rest
            start = split.count
        for i in range(start, len(value)):  # a list holds records: one per line
            out.append(("," if i else "") + "\n" + pad + _leaf(value[i]))
        out.append("\n" + "  " * depth + "]")
