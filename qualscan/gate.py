"""The pre-merge quality gate: pure verdict logic (no disk, no git).

Inputs are a ``ScanResult``, the gate policy resolved from the configuration (and an optional
profile such as the event freeze), an optional baseline (parsed from bytes), the lines changed since
the merge base (computed by ``discovery.changed_lines``) and line coverage (parsed from the bytes of
coverage files). The output is a ``GateVerdict`` whose ``to_json()`` goes into
``ScanResult.extra["gate"]`` (shape documented in ``docs/ci.md``).

Conditions, each evaluated per service with ``[tool.qualscan.gate.services.NAME]`` overrides:

* ``new_findings`` -- a finding in scope at or above ``fail_on``. In scope: not in the baseline (when
  one is given) and on a changed line (in diff mode; file-level findings reported on line 1, such
  as QS311 oversized-file, when the file changed at all). ``new_findings_only = false`` puts every
  finding in scope.
* ``complexity`` -- a *changed* function whose cyclomatic complexity is over ``max_cyclomatic`` or
  whose cognitive complexity is over ``max_cognitive``; with ``critical_services_only`` (default)
  only in journey-critical services. Changed: its ``def``..end lines intersect the diff (diff mode);
  else, with a baseline, new since the baseline or more complex than it was; else every function.
* ``diff_coverage`` -- covered / executable changed lines of non-test Python files, below
  ``min_diff_coverage`` percent (diff mode and coverage data needed; skipped otherwise).
* ``sync_dependency_timeout`` -- a new synchronous call from a journey-critical service with no
  timeout: a ``QS101`` finding in scope in a critical service, or a sync graph edge whose source is
  on a journey, whose ``attrs["timeout"]`` is explicitly ``None`` and which is new (evidence on a
  changed line in diff mode; not in the baseline's edges otherwise).

Profiles: ``--profile NAME`` or, automatically, ``freeze`` within ``event.freeze_days`` days before
``event.date``. A profile's gate settings are merged with the configured ones taking the *stricter*
value key by key, so a freeze never relaxes a service's own stricter override. ``freeze`` has
built-in stricter defaults (``FREEZE_DEFAULTS``) under whatever ``[tool.qualscan.profiles.freeze]``
sets.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import PurePosixPath
from typing import Any

from qualscan.config import Config
from qualscan.model import Diagnostic, Finding, Level, ScanResult, Severity

BASELINE_FORMAT = 1

GATE_DEFAULTS: dict[str, Any] = {
    "fail_on": "high",
    "new_findings_only": True,
    "max_cyclomatic": 15,
    "max_cognitive": 15,
    "min_diff_coverage": None,
    "fail_on_new_sync_dependency_without_timeout": True,
    "critical_services_only": True,
}
FREEZE_DEFAULTS: dict[str, Any] = {
    "fail_on": "medium",
    "max_cyclomatic": 10,
    "max_cognitive": 10,
    "min_diff_coverage": 80.0,
    "fail_on_new_sync_dependency_without_timeout": True,
    "critical_services_only": False,
}
FREEZE = "freeze"
# file-level findings reported on line 1 (internals.md): in diff mode any change to the file touches them
FILE_LEVEL_RULES = frozenset({"QS303", "QS307", "QS308", "QS311", "QS312"})


class GateError(ValueError):
    """Bad gate input (unknown profile, unreadable baseline): exit code 2."""


# --- policy ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateSettings:
    fail_on: Severity | None = Severity.HIGH
    new_findings_only: bool = True
    max_cyclomatic: int | None = 15
    max_cognitive: int | None = 15
    min_diff_coverage: float | None = None
    fail_on_new_sync_dependency_without_timeout: bool = True
    critical_services_only: bool = True

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> GateSettings:
        sev = table.get("fail_on")
        cov = table.get("min_diff_coverage")
        return cls(
            fail_on=Severity.parse(str(sev)) if sev else None,
            new_findings_only=bool(table.get("new_findings_only", True)),
            max_cyclomatic=_opt_int(table.get("max_cyclomatic")),
            max_cognitive=_opt_int(table.get("max_cognitive")),
            min_diff_coverage=float(cov) if cov is not None else None,
            fail_on_new_sync_dependency_without_timeout=bool(
                table.get("fail_on_new_sync_dependency_without_timeout", True)
            ),
            critical_services_only=bool(table.get("critical_services_only", True)),
        )

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        d["fail_on"] = self.fail_on.value if self.fail_on else None
        return d


def _opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def stricter(table: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two raw gate tables keeping, key by key, the stricter value."""
    out = dict(table)
    for key, value in over.items():
        if key not in out or out[key] is None:
            out[key] = value
            continue
        cur = out[key]
        if value is None:
            continue
        if key == "fail_on":
            out[key] = value if Severity.parse(str(value)) < Severity.parse(str(cur)) else cur
        elif key in ("max_cyclomatic", "max_cognitive"):
            out[key] = min(cur, value)
        elif key == "min_diff_coverage":
            out[key] = max(cur, value)
        elif key in ("new_findings_only", "critical_services_only"):
            out[key] = bool(cur) and bool(value)
        elif key == "fail_on_new_sync_dependency_without_timeout":
            out[key] = bool(cur) or bool(value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class GatePolicy:
    base: GateSettings
    services: Mapping[str, GateSettings] = field(default_factory=dict)
    profile: str | None = None
    profile_reason: str = ""

    def for_service(self, name: str | None) -> GateSettings:
        if name is not None and name in self.services:
            return self.services[name]
        return self.base

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "profile_reason": self.profile_reason,
            "thresholds": self.base.to_json(),
            "services": {k: v.to_json() for k, v in sorted(self.services.items())},
        }


def choose_profile(config: Config, requested: str | None, today: _dt.date) -> tuple[str | None, str]:
    """The profile to apply and why: the requested one, or ``freeze`` inside the freeze window."""
    if requested:
        if requested != FREEZE and requested not in config.profiles:
            known = ", ".join(sorted({FREEZE, *config.profiles}))
            raise GateError(f"unknown profile {requested!r} (known profiles: {known})")
        return requested, "requested with --profile"
    date = config.event_date
    days = config.event.get("freeze_days")
    if date is not None and isinstance(days, int) and days > 0:
        left = (date - today).days
        if 0 <= left <= days:
            name = config.event.get("name") or "the event"
            return FREEZE, f"{left} day(s) before {name} on {date.isoformat()} (freeze_days = {days})"
    return None, ""


def resolve_policy(config: Config, profile: str | None = None, reason: str = "") -> GatePolicy:
    """Defaults < ``[gate]`` < profile gate (stricter wins); per service: the same over its override."""
    gate = dict(config.gate)
    service_tables: Mapping[str, Any] = gate.pop("services", {}) or {}
    base_table = {**GATE_DEFAULTS, **gate}
    prof_table: dict[str, Any] = {}
    if profile is not None:
        if profile == FREEZE:
            prof_table.update(FREEZE_DEFAULTS)
        prof_table.update(dict(config.profiles.get(profile, {}).get("gate", {}) or {}))
    try:
        base = GateSettings.from_table(stricter(base_table, prof_table))
        services = {
            name: GateSettings.from_table(stricter({**base_table, **dict(over)}, prof_table))
            for name, over in service_tables.items()
        }
    except ValueError as exc:
        raise GateError(f"gate configuration: {exc}") from None
    return GatePolicy(base=base, services=services, profile=profile, profile_reason=reason)


def apply_profile_rules(config: Config, profile: str | None) -> Config:
    """Merge ``[tool.qualscan.profiles.NAME.rules]`` into the rule options (profile wins)."""
    if profile is None:
        return config
    rules = config.profiles.get(profile, {}).get("rules") or {}
    if not rules:
        return config
    merged = {code: dict(opts) for code, opts in config.rule_options.items()}
    for code, opts in rules.items():
        if isinstance(opts, Mapping):
            merged.setdefault(code, {}).update(opts)
    return config.with_overrides(rule_options=merged)


# --- baseline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    findings: Mapping[str, Mapping[str, Any]]  # fingerprint -> entry
    functions: Mapping[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (file, qualname)
    edges: frozenset[str] = frozenset()
    source: str = ""
    has_functions: bool = False
    has_edges: bool = False


def complexity_floor(policies: Iterable[GatePolicy]) -> int:
    """The lowest complexity limit any of these policies applies (0 when none is set)."""
    limits = [
        limit
        for policy in policies
        for s in (policy.base, *policy.services.values())
        for limit in (s.max_cyclomatic, s.max_cognitive)
        if limit is not None
    ]
    return max(0, min(limits)) if limits else 0


def make_baseline(result: ScanResult, *, complexity_floor: int = 0) -> dict[str, Any]:
    """The JSON document ``qualscan baseline`` writes: today's findings, sync edges, and the functions
    more complex than ``complexity_floor`` (simpler ones cannot be over any limit; one that grows
    past a limit later is absent from the baseline, hence judged)."""
    findings = [
        {
            "fingerprint": f.fingerprint,
            "rule": f.rule,
            "severity": f.severity.value,
            "file": f.file,
            "line": f.line,
            "message": f.message,
        }
        for f in sorted(result.findings, key=lambda f: (f.file, f.line, f.rule, f.fingerprint))
    ]
    functions = [
        {"file": fn["file"], "qualname": fn["qualname"], "cyclomatic": fn["cyclomatic"], "cognitive": fn["cognitive"]}
        for fn in _functions(result)
        if fn["cyclomatic"] > complexity_floor or fn["cognitive"] > complexity_floor
    ]
    return {
        "qualscan_baseline": BASELINE_FORMAT,
        "tool_version": result.tool_version,
        "root": result.root,
        "findings": findings,
        "functions": sorted(functions, key=lambda d: (d["file"], d["qualname"])),
        "edges": sorted({_edge_id(e.source, e.target, e.protocol) for e in result.edges if e.sync}),
    }


def _edge_id(source: str, target: str, protocol: str) -> str:
    return f"{source}->{target}:{protocol}"


def load_baseline(data: bytes, source: str = "<baseline>") -> Baseline:
    """Parse a baseline file (or a ``qualscan scan -f json`` report). Raises ``GateError``."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise GateError(f"{source} is not a qualscan baseline (not JSON: {exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise GateError(f"{source} is not a qualscan baseline (no findings list)")
    fmt = doc.get("qualscan_baseline")
    if fmt is not None and fmt != BASELINE_FORMAT:
        raise GateError(f"{source}: baseline format {fmt!r} is not supported (expected {BASELINE_FORMAT})")
    findings: dict[str, Mapping[str, Any]] = {}
    for i, entry in enumerate(doc["findings"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str) or not entry["fingerprint"]:
            raise GateError(f"{source}: findings[{i}] has no fingerprint")
        findings[entry["fingerprint"]] = entry
    functions: dict[tuple[str, str], tuple[int, int]] = {}
    raw_functions = doc.get("functions")
    if isinstance(raw_functions, list):
        for fn in raw_functions:
            if isinstance(fn, dict) and isinstance(fn.get("file"), str) and isinstance(fn.get("qualname"), str):
                functions[(fn["file"], fn["qualname"])] = (int(fn.get("cyclomatic") or 0), int(fn.get("cognitive") or 0))
    raw_edges = doc.get("edges")
    edges = frozenset(e for e in raw_edges if isinstance(e, str)) if isinstance(raw_edges, list) else frozenset()
    return Baseline(
        findings=findings,
        functions=functions,
        edges=edges,
        source=source,
        has_functions=isinstance(raw_functions, list),
        has_edges=isinstance(raw_edges, list),
    )


# --- coverage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineCoverage:
    """Covered lines of one file; ``executable`` is None when the format records executed lines only."""

    covered: frozenset[int]
    executable: frozenset[int] | None = None

    def merge(self, other: LineCoverage) -> LineCoverage:
        if self.executable is None or other.executable is None:
            exe = self.executable or other.executable
        else:
            exe = self.executable | other.executable
        return LineCoverage(self.covered | other.covered, exe)


def read_coverage(
    files: Sequence[tuple[str, bytes]], known: Iterable[str]
) -> tuple[dict[str, LineCoverage], list[Diagnostic]]:
    """Parse and merge coverage files (``.coverage`` SQLite, Cobertura XML, LCOV) with the metrics
    layer's readers, mapped onto the repository's paths; unreadable ones become diagnostics."""
    from qualscan.metrics.coverage_data import CoverageReadError, map_to_files
    from qualscan.metrics.coverage_data import read_coverage as read_one

    known = sorted(set(known))
    merged: dict[str, LineCoverage] = {}
    diags: list[Diagnostic] = []
    for name, data in files:
        try:
            measured = read_one(name, data)
        except (CoverageReadError, ValueError) as exc:
            diags.append(Diagnostic(name, 0, Level.WARNING, f"coverage data not used by the diff coverage gate: {exc}"))
            continue
        parent = str(PurePosixPath(name).parent)
        mapping = map_to_files(measured, known, "" if parent == "." else parent)
        for raw, path in mapping.items():
            fc = measured[raw]
            lc = LineCoverage(
                frozenset(fc.covered), frozenset(fc.executable) if fc.executable is not None else None
            )
            merged[path] = merged[path].merge(lc) if path in merged else lc
    return merged, diags


# --- evaluation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    id: str
    status: str  # pass | fail | skipped
    summary: str
    items: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "summary": self.summary, "items": [dict(i) for i in self.items]}


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    conditions: tuple[Condition, ...]
    policy: GatePolicy
    new: tuple[str, ...] = ()  # fingerprints of findings in scope (new), most severe first
    blocking: tuple[str, ...] = ()  # fingerprints of the new findings that fail the gate
    fixed: tuple[Mapping[str, Any], ...] = ()
    baseline: Mapping[str, Any] | None = None
    diff: Mapping[str, Any] | None = None
    diff_coverage: Mapping[str, Any] | None = None

    @property
    def reasons(self) -> list[str]:
        return [c.summary for c in self.conditions if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "pass" if self.passed else "fail",
            "passed": self.passed,
            **self.policy.to_json(),
            "reasons": self.reasons,
            "conditions": [c.to_json() for c in self.conditions],
            "new": list(self.new),
            "blocking": list(self.blocking),
            "fixed": [dict(f) for f in self.fixed],
            "baseline": dict(self.baseline) if self.baseline is not None else None,
            "diff": dict(self.diff) if self.diff is not None else None,
            "diff_coverage": dict(self.diff_coverage) if self.diff_coverage is not None else None,
        }


def _functions(result: ScanResult, only: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The judged functions (``only``: of these files; a one-file gate on a large repository
    need not build a record for each of its ~30,000 functions)."""
    return list(_judged(result, only))


def _judged(result: ScanResult, only: Collection[str] | None = None) -> Iterator[dict[str, Any]]:
    for fn in (result.metrics or {}).get("functions", []) or []:
        if not isinstance(fn, Mapping):
            continue
        file = fn.get("file")
        if not isinstance(file, str) or (only is not None and file not in only):
            continue
        line = fn.get("line")
        if not isinstance(line, int) or fn.get("is_test"):
            continue  # test code does not run in production: not judged, not recorded
        yield (
            {
                "file": file,
                "qualname": str(fn.get("qualname") or fn.get("name") or f"<line {line}>"),
                "line": line,
                "end_line": int(fn.get("end_line") or line),
                "cyclomatic": int(fn.get("cyclomatic") or 0),
                "cognitive": int(fn.get("cognitive") or 0),
                "service": fn.get("service"),
            }
        )


class _Services:
    """Which service owns a path, and which services are journey-critical."""

    def __init__(self, result: ScanResult) -> None:
        self.dirs = sorted(
            ((s.path, s.name) for s in result.services if s.path is not None), key=lambda d: -len(d[0])
        )
        self.critical = {s.name for s in result.services if s.attrs.get("critical")}
        self.critical |= {n for j in result.journeys for n in j.path}

    def of(self, path: str) -> str | None:
        for d, name in self.dirs:
            if d == "" or path == d or path.startswith(d + "/"):
                return name
        return None


def _touches(changed: Mapping[str, frozenset[int]], file: str, start: int, end: int | None = None) -> bool:
    lines = changed.get(file)
    if not lines:
        return False
    end = max(start, end or start)
    if end - start > len(lines):
        return any(start <= n <= end for n in lines)
    return any(n in lines for n in range(start, end + 1))


def _finding_item(f: Finding) -> dict[str, Any]:
    return {
        "fingerprint": f.fingerprint,
        "rule": f.rule,
        "severity": f.severity.value,
        "file": f.file,
        "line": f.line,
        "service": f.service,
        "message": f.message,
    }


def evaluate(
    result: ScanResult,
    policy: GatePolicy,
    *,
    baseline: Baseline | None = None,
    changed: Mapping[str, frozenset[int]] | None = None,
    diff_info: Mapping[str, Any] | None = None,
    coverage: Mapping[str, LineCoverage] | None = None,
    statements: Mapping[str, frozenset[int] | None] | None = None,
    test_files: Iterable[str] = (),
) -> GateVerdict:
    """Apply the gate. ``changed`` (diff mode) maps files to changed lines; ``coverage`` is line
    coverage by repository path; ``statements`` gives executable lines for files whose coverage
    format records executed lines only (and for changed files absent from the coverage data)."""
    services = _Services(result)

    def service_of(path: str, declared: str | None = None) -> str | None:
        return declared or services.of(path)

    def in_scope(f: Finding) -> bool:
        if baseline is not None and f.fingerprint in baseline.findings:
            return False
        if changed is None:
            return True
        if f.rule in FILE_LEVEL_RULES:
            return bool(changed.get(f.file))
        return _touches(changed, f.file, f.line, f.end_line)

    ordered = sorted(result.findings, key=lambda f: (-f.severity.rank, f.sort_key))
    new = [f for f in ordered if in_scope(f)]
    conditions: list[Condition] = []

    # 1. new findings at or above the severity threshold
    blocking: list[Finding] = []
    for f in ordered:
        s = policy.for_service(service_of(f.file, f.service))
        if s.fail_on is None or f.severity < s.fail_on:
            continue
        if s.new_findings_only and not in_scope(f):
            continue
        blocking.append(f)
    scope = _scope_words(baseline is not None, changed is not None)
    floor = policy.base.fail_on.value if policy.base.fail_on else "off"
    if blocking:
        conditions.append(
            Condition(
                "new_findings",
                "fail",
                f"{len(blocking)} {scope}finding(s) at or above the severity threshold ({floor})",
                tuple(_finding_item(f) for f in blocking),
            )
        )
    else:
        conditions.append(Condition("new_findings", "pass", f"no {scope}finding at or above {floor}"))

    # 2. complexity of changed functions
    funcs = _functions(result, only=changed)
    if not funcs and (changed is None or next(_judged(result), None) is None):
        conditions.append(Condition("complexity", "skipped", "no function metrics in the scan"))
    else:
        over: list[dict[str, Any]] = []
        for fn in funcs:
            svc = service_of(fn["file"], fn["service"])
            s = policy.for_service(svc)
            if s.max_cyclomatic is None and s.max_cognitive is None:
                continue
            if s.critical_services_only and svc not in services.critical:
                continue
            if changed is not None:
                if not _touches(changed, fn["file"], fn["line"], fn["end_line"]):
                    continue
            elif baseline is not None and baseline.has_functions:
                before = baseline.functions.get((fn["file"], fn["qualname"]))
                if before is not None and fn["cyclomatic"] <= before[0] and fn["cognitive"] <= before[1]:
                    continue
            problems = []
            if s.max_cyclomatic is not None and fn["cyclomatic"] > s.max_cyclomatic:
                problems.append(f"cyclomatic {fn['cyclomatic']} > {s.max_cyclomatic}")
            if s.max_cognitive is not None and fn["cognitive"] > s.max_cognitive:
                problems.append(f"cognitive {fn['cognitive']} > {s.max_cognitive}")
            if problems:
                over.append(
                    {
                        "file": fn["file"],
                        "line": fn["line"],
                        "function": fn["qualname"],
                        "service": svc,
                        "cyclomatic": fn["cyclomatic"],
                        "cognitive": fn["cognitive"],
                        "message": f"{fn['qualname']}: " + ", ".join(problems),
                    }
                )
        what = "changed function(s)" if changed is not None or baseline is not None else "function(s)"
        if over:
            conditions.append(Condition("complexity", "fail", f"{len(over)} {what} over the complexity limits", tuple(over)))
        else:
            conditions.append(Condition("complexity", "pass", f"no {what} over the complexity limits"))

    # 3. diff coverage
    diff_cov: dict[str, Any] | None = None
    thresholds = {policy.base.min_diff_coverage, *(s.min_diff_coverage for s in policy.services.values())} - {None}
    if not thresholds:
        pass
    elif changed is None:
        conditions.append(Condition("diff_coverage", "skipped", "diff coverage needs --diff-base"))
    elif not coverage:
        conditions.append(Condition("diff_coverage", "skipped", "no coverage data found; diff coverage not checked"))
    else:
        diff_cov, cond = _diff_coverage(changed, coverage, statements or {}, set(test_files), policy, service_of)
        conditions.append(cond)

    # 4. new synchronous dependency on a journey with no timeout
    if any(s.fail_on_new_sync_dependency_without_timeout for s in (policy.base, *policy.services.values())):
        items: list[dict[str, Any]] = []
        for f in new:
            svc = service_of(f.file, f.service)
            s = policy.for_service(svc)
            if f.rule == "QS101" and svc in services.critical and s.fail_on_new_sync_dependency_without_timeout:
                items.append({**_finding_item(f), "target": f.target})
        seen_edges = {i.get("target") for i in items if i.get("target")}
        for e in result.edges:
            if not e.sync or e.source not in services.critical or "timeout" not in e.attrs or e.attrs["timeout"] is not None:
                continue
            if not policy.for_service(e.source).fail_on_new_sync_dependency_without_timeout:
                continue
            edge = f"{e.source}->{e.target}"
            if edge in seen_edges:
                continue
            if changed is not None:
                is_new = any(_touches(changed, ev.file, ev.line) for ev in e.evidence)
            elif baseline is not None and baseline.has_edges:
                is_new = _edge_id(e.source, e.target, e.protocol) not in baseline.edges
            else:
                is_new = True
            if is_new:
                ev0 = e.evidence[0] if e.evidence else None
                items.append(
                    {
                        "file": ev0.file if ev0 else None,
                        "line": ev0.line if ev0 else None,
                        "service": e.source,
                        "target": edge,
                        "message": f"new synchronous {e.protocol} dependency {edge} with no timeout",
                    }
                )
        if items:
            conditions.append(
                Condition(
                    "sync_dependency_timeout",
                    "fail",
                    f"{len(items)} new synchronous call(s) from a journey-critical service with no timeout",
                    tuple(items),
                )
            )
        else:
            conditions.append(
                Condition("sync_dependency_timeout", "pass", "no new synchronous dependency without a timeout on a journey")
            )

    current = {f.fingerprint for f in result.findings}
    fixed: list[Mapping[str, Any]] = []
    baseline_json = None
    if baseline is not None:
        fixed = [entry for fp, entry in sorted(baseline.findings.items(), key=lambda kv: _entry_key(kv[1])) if fp not in current]
        baseline_json = {"source": baseline.source, "entries": len(baseline.findings), "fixed": len(fixed)}
    return GateVerdict(
        passed=not any(c.status == "fail" for c in conditions),
        conditions=tuple(conditions),
        policy=policy,
        new=tuple(f.fingerprint for f in new),
        blocking=tuple(f.fingerprint for f in blocking),
        fixed=tuple(fixed),
        baseline=baseline_json,
        diff=diff_info if diff_info is not None else ({"files": len(changed)} if changed is not None else None),
        diff_coverage=diff_cov,
    )


def _entry_key(entry: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(entry.get("file", "")), int(entry.get("line", 0) or 0), str(entry.get("rule", "")))


def _scope_words(has_baseline: bool, has_diff: bool) -> str:
    if has_baseline and has_diff:
        return "new changed-line "
    if has_baseline:
        return "new "
    if has_diff:
        return "changed-line "
    return ""




def _diff_coverage(
    changed: Mapping[str, frozenset[int]],
    coverage: Mapping[str, LineCoverage],
    statements: Mapping[str, frozenset[int] | None],
    tests: set[str],
    policy: GatePolicy,
    service_of: Any,
) -> tuple[dict[str, Any], Condition]:
    groups: dict[float, list[int]] = {}  # threshold -> [covered, total]
    group_services: dict[float, set[str]] = {}
    per_file: dict[str, dict[str, Any]] = {}
    unknown: list[str] = []
    for path, lines in sorted(changed.items()):
        if not path.endswith(".py") or path in tests or not lines:
            continue
        svc = service_of(path)
        threshold = policy.for_service(svc).min_diff_coverage
        if threshold is None:
            continue
        lc = coverage.get(path)
        exe = lc.executable if lc is not None and lc.executable is not None else statements.get(path)
        if exe is None:
            unknown.append(path)
            continue
        relevant = lines & exe
        if not relevant:
            continue
        covered = relevant & lc.covered if lc is not None else frozenset()
        g = groups.setdefault(threshold, [0, 0])
        g[0] += len(covered)
        g[1] += len(relevant)
        group_services.setdefault(threshold, set()).add(svc or "(no service)")
        per_file[path] = {
            "covered": len(covered),
            "total": len(relevant),
            "uncovered_lines": sorted(relevant - covered),
        }
    covered_all = sum(g[0] for g in groups.values())
    total_all = sum(g[1] for g in groups.values())
    pct = round(100.0 * covered_all / total_all, 2) if total_all else None
    failing = []
    for threshold, (cov, tot) in sorted(groups.items()):
        got = 100.0 * cov / tot
        if got + 1e-9 < threshold:
            failing.append(f"{got:.1f}% < {threshold:g}% ({cov}/{tot} lines; {', '.join(sorted(group_services[threshold]))})")
    data = {"percent": pct, "covered": covered_all, "total": total_all, "files": per_file, "unknown_files": unknown}
    items = tuple(
        {"file": p, "line": d["uncovered_lines"][0], "uncovered_lines": d["uncovered_lines"],
         "message": f"{len(d['uncovered_lines'])} changed line(s) not covered"}
        for p, d in per_file.items() if d["uncovered_lines"]
    )
    if failing:
        return data, Condition("diff_coverage", "fail", "diff coverage " + "; ".join(failing), items)
    if total_all == 0:
        return data, Condition("diff_coverage", "pass", "no changed executable Python lines")
    return data, Condition("diff_coverage", "pass", f"diff coverage {pct:.1f}% ({covered_all}/{total_all} lines)", items)


def gate_result(result: ScanResult, verdict: GateVerdict, *, all_findings: bool = False) -> ScanResult:
    """The result a ``check`` report renders: the new findings only (unless ``all_findings``) and
    the verdict in ``extra["gate"]``."""
    findings = result.findings
    if not all_findings:
        keep = set(verdict.new) | set(verdict.blocking)
        findings = tuple(f for f in result.findings if f.fingerprint in keep)
    return replace(result, findings=findings, extra={**dict(result.extra), "gate": verdict.to_json()})
