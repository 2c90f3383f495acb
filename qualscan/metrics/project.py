"""The project-level metrics pass (main process): merge per-file facts, build the import graph, find
clones, read coverage and history, and roll everything up into one quality-matrix row per service.

The matrix (one row per service, test files left out):

| column | raw figure | better | default thresholds A/B, B/C, C/D, D/E |
|---|---|---|---|
| modularity | % of the service's modules inside an import cycle | lower | 0, 5, 10, 25 |
| coupling | other services it is coupled to (imports into their code + change coupling) | lower | 0, 1, 2, 4 |
| complexity | % of functions with cyclomatic complexity over 10 | lower | 2, 5, 10, 20 |
| reuse | % of lines inside a clone occurrence | lower | 3, 5, 10, 20 |
| coverage | % of executable lines covered | higher | 80, 70, 60, 40 |
| changeability | % of SLOC in hotspot files (>= min revisions commits and cyclomatic total >= 20) | lower | 5, 10, 20, 40 |

For "lower is better" columns a value <= the first threshold is A, <= the second B, <= the third
C, <= the fourth D, else E; for "higher is better", >= instead. ``[tool.qualscan.grades]`` replaces
a column's thresholds (``coverage = [90, 80, 70, 50]``). A column with no data (no coverage file,
no git history) has ``value: null`` and ``grade: null`` -- absent, never zero.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qualscan import parallel
from qualscan.config import Config
from qualscan.metrics import clones as clones_mod
from qualscan.metrics import coverage_data, history, modularity
from qualscan.metrics.encoding import decode_lines
from qualscan.metrics.filefacts import FACTS_VERSION
from qualscan.model import Diagnostic, FileKind, Journey, Level, Service, SourceFile

DEFAULT_GRADES: dict[str, tuple[float, float, float, float]] = {
    "modularity": (0, 5, 10, 25),
    "coupling": (0, 1, 2, 4),
    "complexity": (2, 5, 10, 20),
    "reuse": (3, 5, 10, 20),
    "coverage": (80, 70, 60, 40),
    "changeability": (5, 10, 20, 40),
}
HIGHER_IS_BETTER = frozenset({"coverage"})
COLUMNS = ("modularity", "coupling", "complexity", "reuse", "coverage", "changeability")
COMPLEX_FUNCTION = 10  # cyclomatic threshold for the complexity column
HOTSPOT_MIN_COMPLEXITY = 20  # file cyclomatic total for the changeability column
SHARED_FATE_MIN_SERVICES = 3


def grade(column: str, value: float | None, config: Config | None = None) -> str | None:
    if value is None:
        return None
    thresholds = tuple(config.grades.get(column, ())) if config is not None else ()
    if len(thresholds) != 4:
        thresholds = DEFAULT_GRADES[column]
    for letter, limit in zip("ABCD", thresholds):
        if (value >= limit) if column in HIGHER_IS_BETTER else (value <= limit):
            return letter
    return "E"


@dataclass
class ProjectMetrics:
    files: list[dict[str, Any]] = field(default_factory=list)
    functions: list[dict[str, Any]] = field(default_factory=list)
    classes: list[dict[str, Any]] = field(default_factory=list)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: list[dict[str, Any]] = field(default_factory=list)
    import_cycles: list[dict[str, Any]] = field(default_factory=list)
    cross_service_imports: list[dict[str, Any]] = field(default_factory=list)
    clones: list[dict[str, Any]] = field(default_factory=list)
    shared_libraries: list[dict[str, Any]] = field(default_factory=list)
    hotspots: list[dict[str, Any]] | None = None
    change_coupling: dict[str, list[dict[str, Any]]] | None = None
    coverage: dict[str, Any] | None = None
    history: dict[str, Any] = field(default_factory=dict)
    critical_services: frozenset[str] = frozenset()
    diagnostics: tuple[Diagnostic, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "files": self.files,
            "functions": self.functions,
            "classes": self.classes,
            "services": {k: self.services[k] for k in sorted(self.services)},
            "modules": self.modules,
            "import_cycles": self.import_cycles,
            "cross_service_imports": self.cross_service_imports,
            "clones": self.clones,
            "cross_service_clones": [g for g in self.clones if g["cross_service"]],
            "shared_libraries": self.shared_libraries,
            "hotspots": self.hotspots if self.hotspots is not None else [],
            "change_coupling": self.change_coupling if self.change_coupling is not None else [],
            "history": self.history,
        }
        if self.coverage is not None:
            out["coverage"] = self.coverage
        return out

    # lookups for rules
    def file(self, path: str) -> dict[str, Any] | None:
        for f in self.files:
            if f["path"] == path:
                return f
        return None


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


# Clone tokens (characters) past which the clone search runs in a forked child: Django's ~2.5
# million take ~0.1 s, worth the fork; a small repository's few thousand are not.
PARALLEL_CLONE_CHARS = 500_000


def analyze_project(
    *,
    config: Config,
    files: Sequence[SourceFile],
    services: Sequence[Service],
    file_facts: Mapping[str, dict[str, Any]],
    git_log: str | None,
    git_problem: str | None,
    coverage: Sequence[tuple[str, bytes]],
    journeys: Sequence[Journey],
    critical_services: frozenset[str],
) -> ProjectMetrics:
    diags: list[Diagnostic] = []
    py_files = sorted((f for f in files if f.kind is FileKind.PYTHON), key=lambda f: f.path)
    src_of = {f.path: f for f in py_files}
    service_of: dict[str, str | None] = {f.path: f.service for f in files}
    is_test = {f.path: f.is_test for f in files}
    library_of = {f.path: getattr(f, "library", None) for f in files}
    facts: dict[str, dict[str, Any]] = {}
    stale = 0
    for p in sorted(file_facts):
        if p not in src_of and p not in service_of:
            continue
        if not isinstance(file_facts[p], Mapping) or file_facts[p].get("version") != FACTS_VERSION:
            stale += 1
            continue
        facts[p] = file_facts[p]
    if stale:
        diags.append(
            Diagnostic(".", 0, Level.WARNING, f"{stale} file(s) with per-file metrics of another format (stale cache?); "
                       "left out of the metrics -- clear the cache directory")
        )
    critical = frozenset(critical_services) | frozenset(n for j in journeys for n in j.path)

    # ---- clones (non-test files): started first, in a forked child when there is enough to do
    # (the groups are small to send back) while this process builds everything else (issue #8)
    streams = {p: f["clone"] for p, f in facts.items() if not is_test.get(p) and f.get("clone")}
    search_clones = functools.partial(
        clones_mod.find_clones,
        streams,
        service_of,
        min_tokens=int(config.metric("clone_min_tokens", 50)),
        min_lines=int(config.metric("clone_min_lines", 6)),
    )
    clones_job = parallel.spawn(search_clones) if sum(map(len, streams.values())) >= PARALLEL_CLONE_CHARS else None

    # ---- files, functions, classes
    files_json: list[dict[str, Any]] = []
    functions_json: list[dict[str, Any]] = []
    classes_json: list[dict[str, Any]] = []
    for path, f in facts.items():
        svc = service_of.get(path)
        test = is_test.get(path, False)
        if f.get("problem"):
            diags.append(Diagnostic(path, 1, Level.WARNING, str(f["problem"])))
        raw = f.get("raw") or {}
        hal = f.get("halstead") or {}
        fns = f.get("functions") or ()
        cls = f.get("classes") or ()
        files_json.append(
            {
                "path": path,
                "service": svc,
                "is_test": test,
                "loc": raw.get("loc"),
                "lloc": raw.get("lloc"),
                "sloc": raw.get("sloc"),
                "comments": raw.get("comments"),
                "multi": raw.get("multi"),
                "blank": raw.get("blank"),
                "single_comments": raw.get("single_comments"),
                "mi": f.get("mi"),
                "cyclomatic": f.get("cyclomatic_total"),
                "halstead_volume": round(hal.get("volume", 0.0), 3),
                "halstead_difficulty": round(hal.get("difficulty", 0.0), 3),
                "halstead_effort": round(hal.get("effort", 0.0), 3),
                "functions": len(fns),
                "classes": len(cls),
            }
        )
        if fns:
            functions_json.extend([{"file": path, "service": svc, "is_test": test, **fn} for fn in fns])
        if cls:
            classes_json.extend([{"file": path, "service": svc, "is_test": test, **c} for c in cls])
    file_row = {r["path"]: r for r in files_json}

    # ---- imports, coupling, cycles
    service_dirs = {s.name: s.path for s in services}
    idx = modularity.build_index(py_files, service_dirs)
    edges = modularity.build_edges(facts, idx)
    modules = modularity.coupling_table(list(facts), edges, facts, idx)
    cycles = modularity.cycles_to_break(edges)
    in_cycle: set[str] = set()
    for c in cycles:
        in_cycle.update(c["modules"])
    cross: list[dict[str, Any]] = []
    svc_deps: dict[str, set[str]] = defaultdict(set)
    lib_deps: dict[str, set[str]] = defaultdict(set)
    lib_files: dict[str, set[str]] = defaultdict(set)
    for p in facts:
        if service_of.get(p) is None and not is_test.get(p):
            lib_files[library_of.get(p) or _library_name(p, idx)].add(p)
    seen_cross: set[tuple[str, int, str]] = set()
    for e in edges:
        s_src, s_dst = service_of.get(e.source), service_of.get(e.target)
        if s_src is None or is_test.get(e.source):
            continue
        if s_dst is None:
            lib_deps[s_src].add(library_of.get(e.target) or _library_name(e.target, idx))
        elif s_dst != s_src:
            svc_deps[s_src].add(s_dst)
            key = (e.source, e.line, s_dst)
            if key not in seen_cross:
                seen_cross.add(key)
                cross.append(
                    {
                        "file": e.source,
                        "line": e.line,
                        "service": s_src,
                        "target_service": s_dst,
                        "target_file": e.target,
                        "module": e.module,
                    }
                )
    cross.sort(key=lambda c: (c["file"], c["line"], c["target_service"]))
    used_by: dict[str, set[str]] = defaultdict(set)
    for s, libs in lib_deps.items():
        for lib in libs:
            used_by[lib].add(s)
    shared_libraries: list[dict[str, Any]] = [
        {
            "name": lib,
            "files": len(lib_files.get(lib, ())),
            "used_by": sorted(used_by.get(lib, ())),
            "shared_fate": len(used_by.get(lib, ())) >= SHARED_FATE_MIN_SERVICES,
        }
        for lib in sorted(set(lib_files) | set(used_by))
    ]
    shared_libraries.sort(key=lambda r: (-len(r["used_by"]), r["name"]))

    # ---- clones
    groups = clones_job.result() if clones_job is not None else search_clones()
    dup_lines = clones_mod.duplicated_lines(groups)
    for p, lines in dup_lines.items():
        if p in file_row:
            file_row[p]["duplicated_lines"] = len(lines)

    # ---- coverage
    cov_json: dict[str, Any] | None = None
    per_file_cov: dict[str, coverage_data.FileCoverage] = {}
    if coverage:
        known = sorted(facts)
        readable = 0
        for name, data in coverage:
            try:
                measured = coverage_data.read_coverage(name, data)
            except coverage_data.CoverageReadError as exc:
                diags.append(Diagnostic(name, 1, Level.WARNING, str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - a broken data file must not stop the scan
                diags.append(Diagnostic(name, 1, Level.WARNING, f"cannot read coverage data: {exc}"))
                continue
            readable += 1
            cov_dir = name.rsplit("/", 1)[0] if "/" in name else ""
            mapping = coverage_data.map_to_files(measured, known, cov_dir)
            if measured and not mapping:
                diags.append(
                    Diagnostic(name, 1, Level.WARNING, "coverage data names no scanned file (paths from another checkout?)")
                )
            for m, target in mapping.items():
                fc = measured[m]
                if target in per_file_cov:
                    per_file_cov[target].merge(fc)
                else:
                    per_file_cov[target] = coverage_data.FileCoverage(
                        set(fc.executable) if fc.executable is not None else None,
                        set(fc.covered),
                        fc.branches,
                        fc.branches_covered,
                    )
        statements = {  # decoded only for the files whose data leaves the executable lines unknown
            p: decode_lines(facts[p].get("statements") or "")
            for p, fc in per_file_cov.items()
            if fc.executable is None and p in facts
        }
        per_file_cov = coverage_data.apply_statements(per_file_cov, statements)
        if readable:
            cov_json = _coverage_json(per_file_cov, file_row, functions_json, service_of, is_test)

    # ---- history
    hist_json: dict[str, Any] = {"available": git_log is not None}
    if git_problem:
        hist_json["problem"] = git_problem
    hotspots = None
    change_coupling = None
    hist: dict[str, Any] | None = None
    if git_log is not None:
        commits, bad = history.parse_git_log(git_log)
        if bad:
            diags.append(Diagnostic(".", 0, Level.INFO, f"git log: {bad} malformed line(s) ignored"))
        complexity = {p: int(r["cyclomatic"] or 0) for p, r in file_row.items() if not r["is_test"]}
        hist = history.history_metrics(
            commits,
            known_files=set(service_of),
            service_of=lambda p: service_of.get(p),
            complexity=complexity,
            min_revisions=int(config.metric("coupling_min_revisions", 5)),
            min_percent=float(config.metric("coupling_min_percent", 30)),
            max_changeset=int(config.metric("coupling_max_changeset", 30)),
        )
        hist_json["commits"] = hist["commits"]
        hist_json["churn_days"] = int(config.metric("churn_days", 365))
        for p, row in hist["files"].items():
            if p in file_row:
                file_row[p].update(
                    {
                        "commits": row["commits"],
                        "lines_added": row["added"],
                        "lines_removed": row["removed"],
                        "authors": row["authors"],
                        "main_author_share": row["main_author_share"],
                    }
                )
        for r in file_row.values():
            if "commits" not in r and not r["is_test"]:
                r.update({"commits": 0, "lines_added": 0, "lines_removed": 0, "authors": 0, "main_author_share": None})
        hotspots = hist["hotspots"]
        change_coupling = {"files": hist["file_coupling"], "services": hist["service_coupling"]}

    # ---- the matrix
    min_revs = int(config.metric("coupling_min_revisions", 5))
    change_coupled: dict[str, set[str]] = defaultdict(set)
    if change_coupling is not None:
        for c in change_coupling["services"]:
            change_coupled[c["a"]].add(c["b"])
            change_coupled[c["b"]].add(c["a"])
    depended_on_by: dict[str, set[str]] = defaultdict(set)
    for s, deps in svc_deps.items():
        for d in deps:
            depended_on_by[d].add(s)
    # per-service groupings, made once (a scan of every file / function / clone group per
    # service made this loop quadratic in the number of services)
    own_files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in files_json:
        if not r["is_test"]:
            own_files[r["service"]].append(r)
    own_funcs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in functions_json:
        if not f["is_test"]:
            own_funcs[f["service"]].append(f)
    cycles_of = Counter(service_of.get(c["break"]["file"]) for c in cycles)
    cross_of = Counter(c["service"] for c in cross)
    clones_of = Counter(s for g in groups if g["cross_service"] for s in set(g["services"]))
    hotspots_of = Counter(h["service"] for h in hotspots or ())
    matrix: dict[str, dict[str, Any]] = {}
    names = sorted({s.name for s in services} | {s for s in service_of.values() if s is not None})
    for name in names:
        own = own_files.get(name, [])
        if not own and name not in service_dirs:
            continue
        own_paths = {r["path"] for r in own}
        funcs = own_funcs.get(name, [])
        sloc = sum(r["sloc"] or 0 for r in own)
        loc = sum(r["loc"] or 0 for r in own)
        values: dict[str, float | None] = {}
        details: dict[str, Any] = {}
        values["modularity"] = _pct(len(own_paths & in_cycle), len(own_paths)) if own_paths else None
        coupled = svc_deps.get(name, set()) | change_coupled.get(name, set())
        values["coupling"] = float(len(coupled)) if own_paths else None
        over = sum(1 for f in funcs if f["cyclomatic"] > COMPLEX_FUNCTION)
        values["complexity"] = _pct(over, len(funcs)) if funcs else (0.0 if own_paths else None)
        dup = sum(len(dup_lines.get(p, ())) for p in own_paths)
        values["reuse"] = _pct(dup, loc) if loc else (0.0 if own_paths else None)
        svc_cov = (cov_json or {}).get("services", {}).get(name) if cov_json else None
        values["coverage"] = svc_cov["line_rate"] if svc_cov and svc_cov.get("line_rate") is not None else None
        if hist is not None and own_paths:
            hot_sloc = sum(
                (file_row[p]["sloc"] or 0)
                for p in own_paths
                if file_row[p].get("commits", 0) >= min_revs and (file_row[p]["cyclomatic"] or 0) >= HOTSPOT_MIN_COMPLEXITY
            )
            values["changeability"] = _pct(hot_sloc, sloc) if sloc else 0.0
        else:
            values["changeability"] = None
        details["depends_on"] = {"services": sorted(svc_deps.get(name, ())), "libraries": sorted(lib_deps.get(name, ()))}
        details["depended_on_by"] = sorted(depended_on_by.get(name, ()))
        details["change_coupled_with"] = sorted(change_coupled.get(name, ()))
        details["files"] = len(own)
        details["sloc"] = sloc
        details["functions"] = len(funcs)
        details["mean_cyclomatic"] = round(sum(f["cyclomatic"] for f in funcs) / len(funcs), 3) if funcs else None
        details["max_cyclomatic"] = max((f["cyclomatic"] for f in funcs), default=None)
        details["max_cognitive"] = max((f["cognitive"] for f in funcs), default=None)
        mis = [r["mi"] for r in own if r["mi"] is not None]
        details["min_mi"] = round(min(mis), 2) if mis else None
        details["import_cycles"] = cycles_of[name]
        details["cross_service_imports"] = cross_of[name]
        details["duplicated_lines"] = dup
        details["cross_service_clones"] = clones_of[name]
        details["critical"] = name in critical
        if svc_cov:
            details["branch_rate"] = svc_cov.get("branch_rate")
        if hist is not None:
            authors = hist["authors_by_service"].get(name, Counter())
            total = sum(authors.values())
            details["commits"] = total
            details["authors"] = len(authors)
            details["main_author_share"] = round(max(authors.values()) / total, 4) if total else None
            details["hotspots"] = hotspots_of[name]
        row = {
            col: {"value": values[col], "grade": grade(col, values[col], config)} for col in COLUMNS
        }
        row.update(details)
        matrix[name] = row

    return ProjectMetrics(
        files=files_json,
        functions=functions_json,
        classes=classes_json,
        services=matrix,
        modules=modules,
        import_cycles=cycles,
        cross_service_imports=cross,
        clones=groups,
        shared_libraries=shared_libraries,
        hotspots=hotspots,
        change_coupling=change_coupling,
        coverage=cov_json,
        history=hist_json,
        critical_services=critical,
        diagnostics=tuple(sorted(set(diags), key=lambda d: (d.file, d.line, d.message))),
    )


def _library_name(path: str, idx: modularity.ModuleIndex) -> str:
    name = idx.package_root_name.get(path)
    if name:
        return name.split(".")[0]
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _coverage_json(
    per_file: Mapping[str, coverage_data.FileCoverage],
    file_row: Mapping[str, dict[str, Any]],
    functions: list[dict[str, Any]],
    service_of: Mapping[str, str | None],
    is_test: Mapping[str, bool],
) -> dict[str, Any]:
    files_out: dict[str, Any] = {}
    svc_lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    svc_br: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in sorted(per_file):
        fc = per_file[path]
        execs = fc.executable or set()
        covered = fc.covered & execs if execs else fc.covered
        rate = _pct(len(covered), len(execs))
        entry: dict[str, Any] = {"lines": len(execs), "covered": len(covered), "line_rate": rate}
        if fc.branches:
            entry["branches"] = fc.branches
            entry["branches_covered"] = fc.branches_covered or 0
            entry["branch_rate"] = _pct(fc.branches_covered or 0, fc.branches)
        files_out[path] = entry
        if path in file_row:
            file_row[path]["line_rate"] = rate
            if "branch_rate" in entry:
                file_row[path]["branch_rate"] = entry["branch_rate"]
        svc = service_of.get(path)
        if svc is not None and not is_test.get(path):
            svc_lines[svc][0] += len(covered)
            svc_lines[svc][1] += len(execs)
            if fc.branches:
                svc_br[svc][0] += fc.branches_covered or 0
                svc_br[svc][1] += fc.branches
    complex_uncovered = []
    for fn in functions:
        fcov = per_file.get(fn["file"])
        if fcov is None:
            continue
        fexecs = {n for n in (fcov.executable or ()) if fn["line"] <= n <= fn["end_line"]}
        if not fexecs:
            continue
        fcovered = len(fexecs & fcov.covered)
        fn["line_rate"] = _pct(fcovered, len(fexecs))
        uncovered = 1 - fcovered / len(fexecs)
        fn["uncovered_share"] = round(uncovered, 4)
        score = fn["cyclomatic"] * uncovered
        if score > 0 and not fn.get("is_test"):
            complex_uncovered.append(
                {
                    "file": fn["file"],
                    "qualname": fn["qualname"],
                    "line": fn["line"],
                    "service": fn["service"],
                    "cyclomatic": fn["cyclomatic"],
                    "uncovered_share": round(uncovered, 4),
                    "score": round(score, 3),
                }
            )
    complex_uncovered.sort(key=lambda r: (-r["score"], r["file"], r["line"]))
    rated: dict[str | None, list[tuple[float, str]]] = defaultdict(list)
    for p, entry in files_out.items():
        if not is_test.get(p) and entry["line_rate"] is not None:
            rated[service_of.get(p)].append((entry["line_rate"], p))
    services_out = {}
    for svc in sorted(set(svc_lines) | set(svc_br)):
        cov, tot = svc_lines[svc]
        bc, bt = svc_br.get(svc, [0, 0])
        least = rated.get(svc, [])
        services_out[svc] = {
            "lines": tot,
            "covered": cov,
            "line_rate": _pct(cov, tot),
            "branch_rate": _pct(bc, bt) if bt else None,
            "least_covered_file": min(least)[1] if least else None,
        }
    return {"files": files_out, "services": services_out, "complex_uncovered": complex_uncovered[:200]}
