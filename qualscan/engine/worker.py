"""Per-file analysis of one Python file, run in a worker process.

Bytes in, a JSON-ready outcome out: the file is decoded and parsed once, and the one tree is shared
by the metrics, the graph facts and every Python rule; the tree is dropped before returning (keeping
trees alive makes the cyclic GC walk a growing heap). Each analysis is isolated: a failure in one
becomes a diagnostic and the others still run.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import multiprocessing
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qualscan import graph as graph_layer
from qualscan import metrics as metrics_layer
from qualscan.config import Config
from qualscan.engine.fingerprint import line_text
from qualscan.engine.registry import enabled_rules, rule_options
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.engine.suppress import parse_suppressions
from qualscan.model import Diagnostic, Level
from qualscan.parsers import python as pyparser


@dataclass(frozen=True)
class FileTask:
    path: str
    data: bytes
    service: str | None = None
    is_test: bool = False
    service_info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _diag(d: Diagnostic) -> dict[str, Any]:
    return d.to_json()


def _internal(path: str, what: str, exc: BaseException) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    msg = f"internal error in {what}: {type(exc).__name__}: {exc}{where}; the rest of the file was analysed"
    return Diagnostic(path, 0, Level.ERROR, msg).to_json()


def hit_to_json(code: str, hit: Hit, lines: Sequence[str] | None) -> dict[str, Any]:
    """A hit with the fingerprint key resolved (needs the text, which only the worker has)."""
    key = hit.key or (line_text(lines, hit.line) if lines is not None else "") or hit.message
    return {
        "rule": code,
        "message": hit.message,
        "line": int(hit.line),
        "column": int(hit.column),
        "file": hit.file,
        "end_line": hit.end_line,
        "target": hit.target,
        "service": hit.service,
        "severity": hit.severity.value if hit.severity is not None else None,
        "key": key,
        "details": dict(hit.details),
    }


# libcst's native parser is super-linear in expression nesting (1,000 chained attributes: ~0.6 s,
# 2,900: ~8 s, for one line) and its metadata providers recurse; ``ast`` copes. Files nested deeper
# than this skip the libcst rules (real code nests a few dozen levels).
MAX_LIBCST_DEPTH = 300


def ast_depth(tree: ast.AST, limit: int) -> int:
    """Depth of the deepest node (as counted by ``ast.iter_child_nodes``), iteratively; stops
    early, returning ``limit + 1``, once ``limit`` is exceeded."""
    return pyparser.tree_depth(tree, limit)


def analyze_python(task: FileTask, config: Config, rules: Sequence[type[PythonRule]] | None = None) -> dict[str, Any]:
    """Analyse one Python file. Returns a JSON-ready outcome (safe to cache as JSON)."""
    out: dict[str, Any] = {
        "path": task.path,
        "diagnostics": [],
        "metrics": None,
        "graph": None,
        "hits": [],
        "suppressions": {},
        "imports": [],
        "parsed": False,
    }
    text, diag = pyparser.decode(task.path, task.data)
    if diag is not None or text is None:
        out["diagnostics"].append(_diag(diag))  # type: ignore[arg-type]
        return out
    tree, diag = pyparser.parse(task.path, text)
    if tree is None:
        out["diagnostics"].append(_diag(diag))  # type: ignore[arg-type]
        out["suppressions"] = parse_suppressions(text).to_json()
        return out
    out["parsed"] = True
    out["suppressions"] = parse_suppressions(text).to_json()
    imports = pyparser.imported_modules(tree)
    out["imports"] = sorted(imports)

    try:
        # test files are never searched for clones (the cache key holds is_test): no clone text for them
        out["metrics"] = metrics_layer.analyze_file(task.path, text, tree, config, want_tokens=not task.is_test)
    except RecursionError as exc:
        out["diagnostics"].append(_internal(task.path, "metrics (nesting too deep)", exc))
    except Exception as exc:  # noqa: BLE001 - isolate analyses from each other
        out["diagnostics"].append(_internal(task.path, "metrics", exc))
    try:
        out["graph"] = graph_layer.python_facts(task.path, text, tree)
    except RecursionError as exc:
        out["diagnostics"].append(_internal(task.path, "graph facts (nesting too deep)", exc))
    except Exception as exc:  # noqa: BLE001
        out["diagnostics"].append(_internal(task.path, "graph facts", exc))

    if rules is None:
        rules = [r for r in enabled_rules(config) if issubclass(r, PythonRule)]
    ctx = PythonFileContext(
        task.path,
        text,
        tree,
        service=task.service,
        is_test=task.is_test,
        config=config,
        imports=imports,
        service_info=task.service_info,
    )
    too_deep_for_libcst: list[str] = []  # libcst rules share one tree: after one RecursionError, skip the rest
    libcst_ok: bool | None = None
    for rule in rules:
        if task.is_test and not rule.include_tests:
            continue
        if rule.triggers and not (rule.triggers & imports):
            continue
        if rule.needs_libcst:
            if libcst_ok is None:  # checked once, only for files a libcst rule will actually read
                deepest = ast_depth(tree, MAX_LIBCST_DEPTH)
                libcst_ok = deepest <= MAX_LIBCST_DEPTH
                if not libcst_ok:
                    out["diagnostics"].append(Diagnostic(
                        task.path, 0, Level.WARNING,
                        f"expressions nested deeper than {MAX_LIBCST_DEPTH} levels: libcst-based rules skipped",
                    ).to_json())
            if not libcst_ok:
                continue
        if too_deep_for_libcst and rule.needs_libcst:
            too_deep_for_libcst.append(rule.code)
            continue
        ctx.options = rule_options(rule, config)
        try:
            for hit in rule().check(ctx):
                out["hits"].append(hit_to_json(rule.code, hit, ctx.lines))
        except RecursionError as exc:
            out["diagnostics"].append(_internal(task.path, f"rule {rule.code} (nesting too deep)", exc))
            if rule.needs_libcst:
                too_deep_for_libcst.append(rule.code)
        except Exception as exc:  # noqa: BLE001
            out["diagnostics"].append(_internal(task.path, f"rule {rule.code}", exc))
    if len(too_deep_for_libcst) > 1:
        skipped = ", ".join(too_deep_for_libcst[1:])
        out["diagnostics"].append(
            Diagnostic(task.path, 0, Level.ERROR, f"nesting too deep for the libcst rules: {skipped} skipped").to_json()
        )
    return out


# --- process-pool plumbing ------------------------------------------------------------------------

_WORKER_CONFIG: Config | None = None
_WORKER_RULES: list[type[PythonRule]] | None = None


# A worker allocates millions of short-lived AST nodes and dicts, and nothing it builds forms a
# reference cycle that outlives a file; the default gen-0 threshold (700) makes the cyclic GC
# rescan the young objects thousands of times per file. Measured on Django's per-file pass (one
# process, same files): 13-15 % less CPU with the imported modules frozen and a 50,000 threshold.
GC_THRESHOLD = (50_000, 20, 100)


def tune_gc_in_worker_process() -> bool:
    """Freeze what the pool process inherited and raise the GC threshold -- only in a child process.

    The serial path runs in the caller's process (a test runner, an IDE): its GC is left alone.
    """
    if multiprocessing.parent_process() is None:
        return False
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    return True


def init_worker(config: Config) -> None:
    global _WORKER_CONFIG, _WORKER_RULES
    tune_gc_in_worker_process()
    _WORKER_CONFIG = config
    _WORKER_RULES = [r for r in enabled_rules(config) if issubclass(r, PythonRule)]


def run_task(task: FileTask) -> dict[str, Any]:
    assert _WORKER_CONFIG is not None
    try:
        return analyze_python(task, _WORKER_CONFIG, _WORKER_RULES)
    except BaseException as exc:  # noqa: BLE001 - a worker must always answer
        return {
            "path": task.path,
            "diagnostics": [_internal(task.path, "file analysis", exc)],
            "metrics": None,
            "graph": None,
            "hits": [],
            "suppressions": {},
            "imports": [],
            "parsed": False,
        }
