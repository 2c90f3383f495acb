"""Maintainability metrics: the quality matrix (complexity, modularity, coupling, reuse, coverage,
changeability) for every function, file, module and service.

Two entry points, called by the engine's pipeline:

* ``analyze_file(path, text, tree, config) -> dict`` -- in a worker, once per Python file, on the
  one shared ``ast`` tree and one ``tokenize`` pass; returns picklable, JSON-ready facts. The
  complexity figures (radon's cyclomatic and Halstead, cognitive, nesting, ...) come from one fused
  walk over the tree, ``complexity.measure``, checked equal to radon's visitors.
* ``analyze_project(...) -> ProjectMetrics`` -- in the main process, once per scan.

``GIT_LOG_ARGS`` are the arguments of the single ``git log`` the discovery layer runs for history.
Definitions and formulas: ``docs/metrics.md`` and the docstrings of the submodules.
"""

from __future__ import annotations

import ast
from typing import Any

from qualscan.config import Config
from qualscan.metrics.filefacts import FACTS_VERSION, analyze_file_facts
from qualscan.metrics.history import GIT_LOG_ARGS
from qualscan.metrics.project import DEFAULT_GRADES, ProjectMetrics, analyze_project, grade

__all__ = ["FACTS_VERSION", "GIT_LOG_ARGS", "DEFAULT_GRADES", "ProjectMetrics", "analyze_file", "analyze_project", "grade"]


def analyze_file(path: str, text: str, tree: ast.Module, config: Config, *, want_tokens: bool = True) -> dict[str, Any]:
    """Per-file facts: raw counts, MI, Halstead, functions, classes, imports, statements, clone tokens.

    Keys: ``version`` (``FACTS_VERSION``), ``path``, ``raw`` (loc, lloc, sloc, comments, multi, blank, single_comments -- radon's
    definitions), ``mi``, ``halstead`` (h1, h2, N1, N2, volume, difficulty, effort),
    ``cyclomatic_total``, ``functions`` [{qualname, line, end_line, cyclomatic, cognitive, nesting,
    params, length, is_method}], ``classes`` [{qualname, line, end_line, length, methods,
    abstract}], ``imports`` [{module, names, line, level, toplevel}], ``statements`` (executable
    lines, ``encoding.encode_lines``), ``clone`` (the normalised clone tokens, one character each,
    with their source lines: ``encoding.encode_clone_text``), and ``problem`` when the file could not
    be tokenized.

    ``want_tokens=False`` leaves ``clone`` empty: the project pass never looks for clones in test
    files, so a caller that knows the file is a test (and keys its cache on that) can skip them.
    """
    return analyze_file_facts(path, text, tree, want_tokens=want_tokens)
