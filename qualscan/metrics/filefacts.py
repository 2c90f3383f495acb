"""Per-file facts computed in a worker process from the one shared ``ast`` tree and one tokenize pass."""

from __future__ import annotations

import ast
import tokenize
from typing import Any

from qualscan.metrics.complexity import maintainability_index, measure
from qualscan.metrics.encoding import encode_clone_text, encode_lines
from qualscan.metrics.raw import raw_and_tokens

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
# bumped whenever the shape of the per-file facts changes: facts of another version (an engine
# cache written by an older qualscan) are ignored by the project pass, with a diagnostic
# 3: clone tokens in printable ASCII; 4: clone tokens with their lines, and statement lines, as
# compact strings (encoding.py)
FACTS_VERSION = 4


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(tree: ast.Module) -> list[dict[str, Any]]:
    """Every import: module, imported names, line, relative level, and whether it runs at import time.

    ``toplevel`` is False for imports inside functions and under ``if TYPE_CHECKING:`` -- they create
    a dependency but cannot close an import-time cycle. Only statement bodies are walked.
    """
    out: list[dict[str, Any]] = []
    stack: list[tuple[list[ast.stmt], bool]] = [(tree.body, True)]
    while stack:
        body, top = stack.pop()
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    out.append({"module": alias.name, "names": [], "line": node.lineno, "level": 0, "toplevel": top})
            elif isinstance(node, ast.ImportFrom):
                out.append(
                    {
                        "module": node.module or "",
                        "names": sorted({a.name for a in node.names if a.name != "*"}),
                        "line": node.lineno,
                        "level": node.level,
                        "toplevel": top,
                    }
                )
            elif isinstance(node, _FUNCS):
                stack.append((node.body, False))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                stack.append((node.body, False))
                stack.append((node.orelse, top))
            else:
                for name in _BODIES:
                    sub = getattr(node, name, None)
                    if sub:
                        stack.append((sub, top))
                for h in getattr(node, "handlers", None) or ():
                    stack.append((h.body, top))
                for case in getattr(node, "cases", None) or ():
                    stack.append((case.body, top))
    out.sort(key=lambda i: (i["line"], i["module"]))
    return out


def statement_lines(tree: ast.Module) -> list[int]:
    """Lines coverage.py calls executable statements (first line of each statement).

    Docstrings are left out; a decorated definition counts on its first decorator line. Only
    statement bodies are walked, never expressions.
    """
    lines: list[int] = []
    stack: list[list[ast.stmt]] = [tree.body]
    while stack:
        body = stack.pop()
        for node in body:
            if isinstance(node, (*_FUNCS, ast.ClassDef)):
                lines.append(node.decorator_list[0].lineno if node.decorator_list else node.lineno)
                inner = node.body
                if inner and _is_docstring(inner[0]):
                    inner = inner[1:]
                stack.append(inner)
                continue
            lines.append(node.lineno)
            for name in _BODIES:
                sub = getattr(node, name, None)
                if sub:
                    stack.append(sub)
            for h in getattr(node, "handlers", None) or ():
                stack.append(h.body)
            for case in getattr(node, "cases", None) or ():
                stack.append(case.body)
    if tree.body and _is_docstring(tree.body[0]):
        lines.remove(tree.body[0].lineno)
    return sorted(set(lines))


_BODIES = ("body", "orelse", "finalbody")


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def analyze_file_facts(path: str, text: str, tree: ast.Module, *, want_tokens: bool = True) -> dict[str, Any]:
    functions, classes, total_cc, hal = measure(tree)
    facts: dict[str, Any] = {
        "version": FACTS_VERSION,
        "path": path,
        "functions": functions,
        "classes": classes,
        "halstead": hal,
        "cyclomatic_total": total_cc,
        "imports": imports_of(tree),
        "statements": encode_lines(statement_lines(tree)),
    }
    try:
        raw, tokens, runs = raw_and_tokens(text)
    except (tokenize.TokenError, SyntaxError) as exc:
        facts["raw"] = None
        facts["mi"] = None
        facts["problem"] = f"cannot tokenize for raw metrics: {exc}"
        facts["clone"] = ""
        return facts
    facts["raw"] = raw
    facts["mi"] = round(maintainability_index(hal["volume"], total_cc, raw), 4)
    facts["clone"] = encode_clone_text(tokens, runs) if want_tokens else ""
    return facts
