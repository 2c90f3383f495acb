"""The scan pipeline: discovery -> per-file pass (process pool) -> graph + metrics -> project rules
-> findings (suppression, fingerprints, targets) -> scoring -> ``ScanResult``.

``scan_path`` reads a directory (through ``discovery``); ``scan_sources`` scans an in-memory mapping
of relative path -> bytes with no disk, git or cache (rule examples and tests use it). Both share
``run``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from qualscan import __version__, parallel
from qualscan.config import Config
from qualscan.discovery import (
    Inventory,
    build_inventory,
    coverage_files,
    discover,
    git_log,
    read_file,
    run_git,
)
from qualscan.engine.cache import CACHE_FORMAT, Cache, code_fingerprint
from qualscan.engine.fingerprint import fingerprint
from qualscan.engine.registry import enabled_rules, rule_options, rule_severity, validate_rule_options
from qualscan.engine.rule import ProjectContext, ProjectRule, PythonRule, Rule
from qualscan.engine.suppress import Suppressions, parse_suppressions
from qualscan.model import (
    Diagnostic,
    Edge,
    FileKind,
    Finding,
    Journey,
    Level,
    ScanResult,
    Service,
    Severity,
    SourceFile,
)

if TYPE_CHECKING:
    from qualscan.engine.worker import FileTask

# The analysis layers (graph: networkx; metrics; the worker and its parsers) are imported when a run
# needs them: a warm re-scan that reuses its stored report never does (issue #8).

# Non-Python files the graph layer reads (other-language sources only up to this size)
GRAPH_KINDS = {
    FileKind.YAML,
    FileKind.HELM_TEMPLATE,
    FileKind.COMPOSE,
    FileKind.DOCKERFILE,
    FileKind.NGINX,
    FileKind.ENVOY,
    FileKind.ENV,
    FileKind.OTHER_SOURCE,
}
OTHER_SOURCE_MAX = 512_000
POOL_MIN_FILES = 24
MAX_JOBS_PER_CORE = 4  # below this, a process pool costs more than it saves

WELL_KNOWN_CHAIN = (
    ("gateway", "frontend", "bff", "api-gateway", "edge", "web"),
    ("cart", "cartservice", "basket", "basket-api", "carts"),
    ("checkout", "checkoutservice", "ordering", "orders"),
    ("payment", "paymentservice", "payments", "payment-api"),
)

Progress = Callable[[int, int], None]


@dataclass
class ScanInputs:
    inventory: Inventory
    read: Callable[[str], bytes | Diagnostic]
    root_name: str
    git_text: str | None = None
    git_problem: str | None = None
    coverage: Sequence[tuple[str, bytes]] = ()
    cache: Cache | None = None
    extra_diagnostics: list[Diagnostic] = field(default_factory=list)
    # sharding (engine/shard.py): when set, only the Python files it accepts go through the per-file
    # pass; everything else (manifests, graph, project phase) still sees the whole inventory
    python_filter: Callable[[SourceFile], bool] | None = None
    # content hash by path, known without reading the file (the cache's stat index; issue #8)
    shas: dict[str, str] = field(default_factory=dict)
    # files whose content, when the run read them, was not what ``shas`` said (edited meanwhile)
    changed_during_run: list[str] = field(default_factory=list)


# --- entry points ---------------------------------------------------------------------------------


def scan_path(root: Path, config: Config, *, progress: Progress | None = None, use_cache: bool | None = None) -> ScanResult:
    return scan_path_detailed(root, config, progress=progress, use_cache=use_cache)[0]


def scan_path_detailed(
    root: Path, config: Config, *, progress: Progress | None = None, use_cache: bool | None = None
) -> tuple[ScanResult, Any, Any]:
    """``scan_path`` plus the graph model and project metrics objects (for ``qualscan graph``)."""
    return run_detailed(prepare_inputs(root, config, use_cache=use_cache), config, progress=progress)


def scan_path_report(
    root: Path,
    config: Config,
    render: Callable[[ScanResult], str],
    render_id: str | None,
    *,
    progress: Progress | None = None,
) -> str:
    """``render(scan_path(root, config))``, reusing the report a previous run stored in the cache
    when every input of the run is unchanged (issue #8).

    ``render_id`` names the rendering (format and options; None: do not store it). The run key
    covers the inventory, the content hash of every file the run reads (the stat index spares
    reading unchanged files), ``git log``, coverage data, the configuration and the qualscan code;
    a stored report under that key is, byte for byte, what the run would render. On a miss the
    run goes on with the inputs already gathered, and its report is stored."""
    inputs = prepare_inputs(root, config, validate=False)
    cache = inputs.cache
    key = run_key(inputs, config, render_id) if cache is not None and render_id is not None else None
    if cache is not None and key is not None:
        stored = cache.get_result(key)
        if stored is not None:
            with contextlib.suppress(UnicodeDecodeError):
                text = stored.decode("utf-8")
                cache.flush()  # the stat index may have learnt files that just left the racy window
                return text
    # the checks the reused report had passed (same configuration and code) run now
    validate_rule_options(config)
    result = run(inputs, config, progress=progress)
    text = render(result)
    if cache is not None and key is not None and not inputs.changed_during_run:
        cache.put_result(key, text.encode("utf-8"))
    return text


# ``metrics.GIT_LOG_ARGS``, repeated here so that a warm run that reuses its report need not import
# the metrics layer (networkx); tests/test_cache_warm.py checks that the two are equal
GIT_LOG_ARGS = ("--numstat", "--no-renames", "--no-merges", "--format=%x1e%H%x1f%at%x1f%aN%x1f%aE")


def _import_analysis_layers() -> None:
    """What ``run`` imports anyway (networkx among them), imported ahead (see ``prepare_inputs``)."""
    import qualscan.engine.worker
    import qualscan.graph
    import qualscan.metrics
    import qualscan.scoring  # noqa: F401


def _git_history(root: Path, config: Config, cache: Cache | None = None) -> tuple[str | None, str | None]:
    return git_log(root, GIT_LOG_ARGS, int(config.metric("churn_days", 365)), memo=cache)


def prepare_inputs(
    root: Path, config: Config, *, use_cache: bool | None = None, history: bool = True, validate: bool = True
) -> ScanInputs:
    """Everything a run needs from the disk under ``root`` (split out for engine/shard.py, which
    swaps the cache for a recording/precomputed one; ``history=False`` skips ``git log``).
    ``validate=False`` leaves the rule options unchecked (``scan_path_report`` checks them unless
    it reuses a stored report)."""
    root = root.resolve()
    # With checks to run, the walk goes to a forked child (the inventory is small to send back)
    # while this process imports the rule modules and the analysis layers and opens the cache
    # (issue #8: ~0.2 s of a one-file gate on Django each); without fork, it is walked here.
    walk_job = parallel.spawn(discover, root, config) if validate else None
    git_text: str | None = None
    git_problem: str | None = None
    try:
        cache, cache_diags = _open_cache(root, config, use_cache)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # git runs in child processes: let it work while this thread walks the tree
            history_job = pool.submit(_git_history, root, config, cache) if history else None
            if validate:
                validate_rule_options(config)
                _import_analysis_layers()
            inventory = walk_job.result() if walk_job is not None else discover(root, config)
            if history_job is not None:
                git_text, git_problem = history_job.result()
    finally:
        if walk_job is not None:
            walk_job.cancel()  # no-op once joined
    coverage, cov_diags = coverage_files(root, inventory, config)
    return ScanInputs(
        inventory=inventory,
        read=lambda rel: read_file(root, rel, config.max_file_size),
        root_name=root.name,
        git_text=git_text,
        git_problem=git_problem,
        coverage=coverage,
        cache=cache,
        extra_diagnostics=[*cov_diags, *cache_diags],
    )


def _open_cache(root: Path, config: Config, use_cache: bool | None) -> tuple[Cache | None, list[Diagnostic]]:
    """The per-file cache under ``root`` (None: not used, with the reason as a diagnostic)."""
    if not (use_cache if use_cache is not None else config.use_cache):
        return None, []
    cache_dir = Path(config.cache_dir)
    cache_dir = cache_dir if cache_dir.is_absolute() else root / cache_dir
    if not (Path(config.cache_dir).is_absolute() or cache_dir.resolve().is_relative_to(root)):
        # a symbolic link in the scanned tree must not redirect our writes out of the root
        return None, [Diagnostic(config.cache_dir, 0, Level.WARNING,
                                 "cache directory resolves outside the scanned root (symbolic link?); cache disabled")]
    planted = _tracked_cache(root, cache_dir)
    if planted:
        return None, [Diagnostic(planted, 0, Level.WARNING,
                                 "cache directory is tracked by git (a committed cache could replay planted "
                                 "results and hide findings); cache not used")]
    return Cache(cache_dir, config, root=root), []  # its directory is created on the first write


def _read_set(inputs: ScanInputs) -> list[SourceFile]:
    """The files a run reads (Python files through the per-file pass, the graph layer's inputs)."""
    out = []
    for f in inputs.inventory.files:
        if f.kind is FileKind.PYTHON:
            if inputs.python_filter is None or inputs.python_filter(f):
                out.append(f)
        elif f.kind in GRAPH_KINDS and not (f.kind is FileKind.OTHER_SOURCE and f.size > OTHER_SOURCE_MAX):
            out.append(f)
    return out


def run_key(inputs: ScanInputs, config: Config, render_id: str) -> str | None:
    """The key of a whole run's report: a digest of everything the run reads and is. Fills
    ``inputs.shas`` (and serves the bytes it had to read to the run through ``inputs.read``)."""
    cache = inputs.cache
    if cache is None:
        return None
    read_before = inputs.read
    kept: dict[str, bytes] = {}
    files = []
    for f in _read_set(inputs):
        sha, data = cache.file_sha(f.path, read_before, config.max_file_size)
        if sha is not None:
            inputs.shas[f.path] = sha
            if data is not None:
                kept[f.path] = data
        files.append([f.path, sha if sha is not None else repr(data)])

    def read(rel: str) -> bytes | Diagnostic:
        earlier = kept.pop(rel, None)
        if earlier is not None:
            return earlier
        data = read_before(rel)
        expected = inputs.shas.get(rel)
        if expected is not None and (not isinstance(data, bytes) or hashlib.sha256(data).hexdigest() != expected):
            inputs.changed_during_run.append(rel)  # edited since it was hashed: the key would lie
        return data

    inputs.read = read
    inv = inputs.inventory
    material = {
        "format": CACHE_FORMAT,
        "version": __version__,
        "code": code_fingerprint(),
        "render": render_id,
        "config": repr(replace(config, jobs=0, use_cache=True)),
        "root": inputs.root_name,
        "inventory": repr((inv.files, inv.services, inv.libraries, inv.diagnostics)),
        "read": files,
        "git": [hashlib.sha256(inputs.git_text.encode("utf-8", "surrogatepass")).hexdigest()
                if inputs.git_text is not None else None, inputs.git_problem],
        "coverage": [[name, hashlib.sha256(data).hexdigest()] for name, data in inputs.coverage],
        "diagnostics": repr(inputs.extra_diagnostics),
        "filter": inputs.python_filter is not None,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()


def _tracked_cache(root: Path, cache_dir: Path) -> str | None:
    """The cache directory's path when git tracks anything in it, else None.

    Entry keys and checksums are computable by anyone, so entries committed in a pull request could
    replay "no findings" for a file; a cache directory under version control is never read.
    """
    try:
        resolved = cache_dir.resolve()
        if not resolved.is_dir() or not resolved.is_relative_to(root):
            return None
        rel = resolved.relative_to(root).as_posix()
    except (OSError, RuntimeError, ValueError):
        return None
    code, out, _ = run_git(root, ["ls-files", "-z", "--", rel], timeout=30)
    return rel if code == 0 and out.strip("\x00") else None


def _reportable(path: str) -> bool:
    pp = PurePosixPath(path)
    if not path or "\\" in path or pp.is_absolute() or any(part in ("", "..", ".") for part in path.split("/")):
        return False
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scan_sources(
    files: Mapping[str, bytes | str],
    config: Config | None = None,
    *,
    root_name: str = "repo",
    git_log: str | None = None,
) -> ScanResult:
    """Scan an in-memory monorepo: no disk, no git, no cache. Used by rule examples and tests.

    ``git_log`` stands in for the history a real repository would have (the text of
    ``git log`` with ``metrics.GIT_LOG_ARGS``), for the history metrics and rules."""
    config = config or Config()
    validate_rule_options(config)
    blobs = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in files.items()}
    # the paths a report can carry (relative, POSIX, UTF-8), as the disk walk guarantees
    refused = sorted(k for k in blobs if not _reportable(k))
    for k in refused:
        del blobs[k]
    inventory = build_inventory(((p, len(b)) for p, b in blobs.items()), config, root_name=root_name,
                                diagnostics=[Diagnostic(".", 0, Level.WARNING,
                                                        f"path {k!r} is not a relative POSIX path inside the root; skipped")
                                             for k in refused])

    def read(rel: str) -> bytes | Diagnostic:
        data = blobs[rel]
        if len(data) > config.max_file_size:
            return Diagnostic(rel, 0, Level.WARNING, f"file of {len(data)} bytes is over max_file_size; skipped")
        return data

    coverage = [(f.path, blobs[f.path]) for f in inventory.files if f.kind is FileKind.COVERAGE]
    inputs = ScanInputs(
        inventory=inventory,
        read=read,
        root_name=root_name,
        coverage=coverage,
        git_text=git_log,
        git_problem=None if git_log is not None else "in-memory scan: no git history",
    )
    return run(inputs, config.with_overrides(jobs=1))


# --- the run --------------------------------------------------------------------------------------


def infer_journeys(service_names: Iterable[str]) -> tuple[Journey, ...]:
    """Default checkout journey from well-known names, when none are configured."""
    names = set(service_names)
    path = []
    for candidates in WELL_KNOWN_CHAIN:
        hit = next((c for c in candidates if c in names), None)
        if hit:
            path.append(hit)
    if len(path) >= 2:
        return (Journey(name="checkout", path=tuple(path), weight=1.0, inferred=True),)
    return ()


def service_facts(services: Sequence[Service], journeys: Sequence[Journey], config: Config) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for svc in services:
        on = [j for j in journeys if svc.name in j.path]
        budgets = [j.budget_s for j in on if j.budget_s is not None]
        facts[svc.name] = {
            "critical": bool(on) or bool(config.services.get(svc.name, {}).get("critical")),
            "journeys": sorted(j.name for j in on),
            "budget_s": min(budgets) if budgets else None,
        }
    return facts


def _jobs(config: Config) -> int:
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    if config.jobs > 0:
        # ``jobs`` may come from the scanned repository's own configuration: never a fork bomb
        return min(config.jobs, MAX_JOBS_PER_CORE * cores)
    return cores


def run(inputs: ScanInputs, config: Config, *, progress: Progress | None = None) -> ScanResult:
    return run_detailed(inputs, config, progress=progress)[0]


def run_detailed(inputs: ScanInputs, config: Config, *, progress: Progress | None = None) -> tuple[ScanResult, Any, Any]:
    inv = inputs.inventory
    diagnostics: list[Diagnostic] = list(inv.diagnostics) + list(inputs.extra_diagnostics)
    rules = enabled_rules(config)
    python_rules = [r for r in rules if issubclass(r, PythonRule)]
    project_rules = [r for r in rules if issubclass(r, ProjectRule)]
    journeys = config.journeys or infer_journeys(s.name for s in inv.services)
    svc_facts = service_facts(inv.services, journeys, config)

    # -- per-file pass over Python files
    from qualscan.engine.worker import _internal, hit_to_json

    py_files = [f for f in inv.files if f.kind is FileKind.PYTHON and (inputs.python_filter is None or inputs.python_filter(f))]
    outcomes = _per_file_pass(inputs, py_files, svc_facts, config, python_rules, diagnostics, progress)
    for out in outcomes:
        diagnostics.extend(_diag_from_json(d) for d in out["diagnostics"])

    # -- non-Python inputs for the graph layer
    texts: dict[str, bytes] = {}
    for f in inv.files:
        if f.kind in GRAPH_KINDS:
            if f.kind is FileKind.OTHER_SOURCE and f.size > OTHER_SOURCE_MAX:
                continue
            data = inputs.read(f.path)
            if isinstance(data, Diagnostic):
                diagnostics.append(data)
            else:
                texts[f.path] = data
    python_facts = {o["path"]: o["graph"] for o in outcomes if o.get("graph") is not None}

    # -- graph
    from qualscan import graph as graph_layer
    from qualscan import metrics as metrics_layer
    from qualscan import scoring

    model_graph = None
    services: tuple[Service, ...] = inv.services
    edges: tuple[Edge, ...] = ()
    try:
        model_graph = graph_layer.build_graph(
            root_name=inputs.root_name,
            config=config,
            services=inv.services,
            files=inv.files,
            texts=texts,
            python_facts=python_facts,
        )
        services = tuple(model_graph.services)
        edges = tuple(model_graph.edges)
        journeys = tuple(model_graph.journeys) or tuple(journeys)
        diagnostics.extend(model_graph.diagnostics)
    except Exception as exc:  # noqa: BLE001 - nothing is lost: report and continue
        diagnostics.append(_diag_from_json(_internal(".", "service graph", exc)))
        model_graph = None

    # -- project metrics
    project_metrics = None
    if inputs.git_problem:
        diagnostics.append(Diagnostic(".", 0, Level.INFO, inputs.git_problem))
    try:
        project_metrics = metrics_layer.analyze_project(
            config=config,
            files=inv.files,
            services=inv.services,
            file_facts={o["path"]: o["metrics"] for o in outcomes if o.get("metrics") is not None},
            git_log=inputs.git_text,
            git_problem=inputs.git_problem,
            coverage=inputs.coverage,
            journeys=journeys,
            critical_services=frozenset(n for j in journeys for n in j.path),
        )
        diagnostics.extend(project_metrics.diagnostics)
    except Exception as exc:  # noqa: BLE001
        diagnostics.append(_diag_from_json(_internal(".", "project metrics", exc)))
        project_metrics = None

    # -- project rules
    text_cache: dict[str, str] = {}

    def text_of(path: str) -> str:
        if path not in text_cache:
            raw = texts.get(path)
            text_cache[path] = raw.decode("utf-8", "replace") if raw is not None else ""
        return text_cache[path]

    ctx = ProjectContext(
        root_name=inputs.root_name,
        config=config,
        services=services,
        files=inv.files,
        journeys=journeys,
        deployment=getattr(model_graph, "deployment", None),
        graph=model_graph,
        metrics=project_metrics,
        python_facts=python_facts,
        texts={p: text_of(p) for p in texts if p.endswith((".yaml", ".yml")) or "compose" in p},
    )
    project_hits: list[dict[str, Any]] = []
    for rule in project_rules:
        ctx.options = rule_options(rule, config)
        try:
            for hit in rule().check(ctx):
                if not hit.file:
                    diagnostics.append(Diagnostic(".", 0, Level.ERROR, f"internal error: rule {rule.code} reported no file"))
                    continue
                lines = text_of(hit.file).splitlines() if hit.file in texts else None
                project_hits.append(hit_to_json(rule.code, hit, lines))
        except Exception as exc:  # noqa: BLE001
            diagnostics.append(_diag_from_json(_internal(".", f"rule {rule.code}", exc)))

    # -- findings
    by_path = inv.by_path()
    suppressions: dict[str, Suppressions] = {o["path"]: Suppressions.from_json(o["suppressions"] or {}) for o in outcomes}
    rule_by_code = {r.code: r for r in rules}
    raw: list[tuple[str, dict[str, Any]]] = [(o["path"], h) for o in outcomes for h in o["hits"]]
    raw += [(h["file"], h) for h in project_hits]
    findings = _make_findings(raw, rule_by_code, by_path, suppressions, texts, config, model_graph)

    result = ScanResult(
        root=inputs.root_name,
        tool_version=__version__,
        services=tuple(sorted(services, key=lambda s: s.name)),
        edges=tuple(sorted(edges, key=lambda e: (e.source, e.target, e.protocol))),
        findings=findings,
        diagnostics=tuple(sorted(set(diagnostics), key=lambda d: (d.file, d.line, d.level.value, d.message))),
        journeys=tuple(journeys),
        rules=tuple(r.info() for r in rules),
        metrics=project_metrics.to_json() if project_metrics is not None else {},
        event=_event_json(config),
        extra=_extra(model_graph, inputs.cache),
    )
    try:
        result = replace(result, weak_points=tuple(scoring.rank(result, config)))
    except Exception as exc:  # noqa: BLE001
        result = _with_diag(result, _diag_from_json(_internal(".", "scoring", exc)))
    return result, model_graph, project_metrics


def _with_diag(result: ScanResult, diag: Diagnostic) -> ScanResult:
    return replace(result, diagnostics=tuple(sorted({*result.diagnostics, diag}, key=lambda d: (d.file, d.line, d.message))))


def _event_json(config: Config) -> dict[str, Any]:
    ev = dict(config.event)
    if "date" in ev and hasattr(ev["date"], "isoformat"):
        ev["date"] = ev["date"].isoformat()
    return ev


def _extra(model_graph: Any, cache: Cache | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if model_graph is not None and hasattr(model_graph, "analyses"):
        with contextlib.suppress(Exception):  # analyses are a bonus section; never fail the scan
            extra["graph"] = model_graph.analyses()
    return extra


def _diag_from_json(d: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(d["file"], int(d["line"]), Level(d["level"]), d["message"])


def _per_file_pass(
    inputs: ScanInputs,
    py_files: Sequence[SourceFile],
    svc_facts: Mapping[str, Mapping[str, Any]],
    config: Config,
    python_rules: Sequence[type[PythonRule]],
    diagnostics: list[Diagnostic],
    progress: Progress | None,
) -> list[dict[str, Any]]:
    """Every Python file's outcome: from the cache (a file whose content hash the stat index knows
    is not even read), else analysed (in a process pool when there are enough of them)."""
    from qualscan.engine.worker import FileTask

    cache = inputs.cache
    results: dict[str, dict[str, Any]] = {}
    pending: list[tuple[FileTask, str | None]] = []
    # a file's key material besides its path and content is its service's facts: encoded once per
    # (service, test) instead of once per file (Cache.keyer)
    keyers: dict[tuple[str | None, bool], Callable[[str, str], str]] = {}
    for f in py_files:
        key = None
        sha = inputs.shas.get(f.path)
        keyer = None
        if cache is not None:
            keyer = keyers.get((f.service, f.is_test))
            if keyer is None:
                facts = {"service": f.service, "test": f.is_test, "info": dict(svc_facts.get(f.service or "", {}))}
                keyer = keyers[(f.service, f.is_test)] = cache.keyer(facts)
        if cache is not None and sha is None:
            sha = cache.known_sha(f.path, config.max_file_size)
        if cache is not None and keyer is not None and sha is not None:
            key = keyer(f.path, sha)
            cached = cache.get(key)
            if cached is not None and cached.get("path") == f.path:
                results[f.path] = cached
                continue
        data = inputs.read(f.path)
        if isinstance(data, Diagnostic):
            diagnostics.append(data)
            continue
        task = FileTask(f.path, data, service=f.service, is_test=f.is_test, service_info=svc_facts.get(f.service or "", {}))
        if cache is not None:
            actual = task.sha
            cache.note_read(f.path, data, actual)
            if sha is not None and actual != sha:
                inputs.changed_during_run.append(f.path)
            if actual != sha and keyer is not None:  # not known before (or changed since the stat): look it up now
                key = keyer(f.path, actual)
                cached = cache.get(key)
                if cached is not None and cached.get("path") == f.path:
                    results[f.path] = cached
                    continue
        pending.append((task, key))
    outcomes = _run_tasks(pending, results, len(results) + len(pending), config, cache, progress)
    for c in (cache, getattr(cache, "inner", None)):  # engine/shard.py's RecordingCache wraps the disk cache
        if isinstance(c, Cache):
            c.flush()
    return outcomes


def _run_tasks(
    pending: list[tuple[FileTask, str | None]],
    results: dict[str, dict[str, Any]],
    total: int,
    config: Config,
    cache: Cache | None,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    """Analyse ``pending`` (no process pool for a few files: a warm run starts none), add to ``results``."""
    from qualscan.engine.worker import init_worker, run_task

    done = len(results)
    if progress:
        progress(done, total)
    jobs = min(_jobs(config), max(1, len(pending)))
    if jobs > 1 and len(pending) >= POOL_MIN_FILES:
        ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        if ctx is not None and any(getattr(r, "needs_libcst", False) for r in enabled_rules(config)):
            # imported once here and inherited by the forked workers, instead of once in each of
            # them (~0.2 s CPU apiece); rule modules import it lazily (engine/lazy.py)
            import libcst.metadata  # noqa: F401
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=init_worker, initargs=(config,)) as pool:
            # biggest files first, small chunks: no worker is left with one huge file at the end
            # (results are keyed by path and sorted below, so the order never shows; issue #8)
            pending.sort(key=lambda tk: (-len(tk[0].data), tk[0].path))
            chunk = max(1, min(8, len(pending) // (jobs * 16) or 1))
            for (task, key), out in zip(pending, pool.map(run_task, [t for t, _ in pending], chunksize=chunk)):
                results[task.path] = out
                if cache and key:
                    cache.put(key, out)
                done += 1
                if progress:
                    progress(done, total)
    elif pending:
        init_worker(config)
        for task, key in pending:
            out = run_task(task)
            results[task.path] = out
            if cache and key:
                cache.put(key, out)
            done += 1
            if progress:
                progress(done, total)
    return [results[p] for p in sorted(results)]


def _make_findings(
    raw: list[tuple[str, dict[str, Any]]],
    rules: Mapping[str, type[Rule]],
    by_path: Mapping[str, SourceFile],
    suppressions: dict[str, Suppressions],
    texts: Mapping[str, bytes],
    config: Config,
    model_graph: Any,
) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    seen_keys: dict[tuple[str, str, str], int] = {}
    for path, h in sorted(raw, key=lambda ph: (ph[0], ph[1]["line"], ph[1]["column"], ph[1]["rule"], ph[1]["message"])):
        rule = rules[h["rule"]]
        if path not in suppressions:
            text = texts.get(path)
            is_yaml = PurePosixPath(path).suffix in (".yaml", ".yml")
            suppressions[path] = parse_suppressions(text.decode("utf-8", "replace"), yaml=is_yaml) if text else Suppressions()
        if suppressions[path].suppressed(int(h["line"]), rule.code):
            continue
        sf = by_path.get(path)
        service = h.get("service") or (sf.service if sf else None)
        target = h.get("target")
        upstream = (h.get("details") or {}).get("upstream")
        if target is None and upstream and model_graph is not None:
            try:
                node = model_graph.resolve_upstream(service, str(upstream))
            except Exception:  # noqa: BLE001
                node = None
            if node:
                target = f"{service}->{node}" if service else node
        ident = (rule.code, path, h["key"])
        occurrence = seen_keys.get(ident, 0)
        seen_keys[ident] = occurrence + 1
        findings.append(
            Finding(
                rule=rule.code,
                name=rule.name,
                severity=_severity(rule, config, h.get("severity")),
                message=h["message"],
                file=path,
                line=int(h["line"]),
                column=int(h["column"]),
                end_line=h.get("end_line"),
                service=service,
                confidence=rule.confidence,
                target=target,
                fingerprint=fingerprint(rule.code, path, h["key"], occurrence),
                details=h.get("details") or {},
            )
        )
    findings.sort(key=lambda f: f.sort_key)
    return tuple(findings)


def _severity(rule: type[Rule], config: Config, hit_severity: str | None) -> Severity:
    """A severity configured for the rule wins; else the hit's own (e.g. raised on a journey); else the rule's."""
    if hit_severity and "severity" not in config.rule_options.get(rule.code, {}):
        return Severity.parse(hit_severity)
    return rule_severity(rule, config)
