"""Python source: bytes -> text -> one ``ast`` tree, with every failure turned into a diagnostic.

The tree built here is the only parse of the file; metrics, graph facts and rules share it.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import sys
import tokenize
import warnings

from qualscan.model import Diagnostic, Level

_PY2_HINTS = (
    re.compile(r"^\s*print\s+[^(=\s]", re.M),
    re.compile(r"^\s*exec\s+[\"']", re.M),
    re.compile(r"except\s+\w+(\.\w+)*\s*,\s*\w+\s*:"),
    re.compile(r"\bur[\"']"),
)
_NEWER_SYNTAX_HINTS = (
    (re.compile(r"^\s*type\s+\w+(\[.*\])?\s*=", re.M), "PEP 695 type alias"),
    (re.compile(r"^\s*(async\s+)?def\s+\w+\[", re.M), "PEP 695 generic function"),
    (re.compile(r"^\s*class\s+\w+\[", re.M), "PEP 695 generic class"),
    (re.compile(r"\bt[\"']|\bt\"\"\"|\bt'''"), "PEP 750 template string"),
    (re.compile(r"except\s+[\w.]+\s*,\s*[\w.]+\s*(as\b|:)"), "PEP 758 except without parentheses"),
)


def decode(path: str, data: bytes) -> tuple[str | None, Diagnostic | None]:
    """Decode source bytes following PEP 263 (coding declaration, BOM), else UTF-8."""
    if b"\x00" in data:
        return None, Diagnostic(path, 1, Level.ERROR, "binary content (NUL bytes) in a Python file; skipped")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        msg = str(exc).split("(", 1)[0].strip() or "invalid coding declaration"
        if "invalid or missing encoding declaration" in msg:
            msg = "not valid UTF-8 and no coding declaration"
        return None, Diagnostic(path, 1, Level.ERROR, f"cannot decode: {msg}; skipped")
    try:
        codecs.lookup(encoding)
        text = data.decode(encoding)
    except LookupError:
        return None, Diagnostic(path, 1, Level.ERROR, f"cannot decode: unknown encoding {encoding!r}")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = "" if encoding != "utf-8" else " and no coding declaration"
        return None, Diagnostic(
            path, line, Level.ERROR, f"not valid {encoding} text{hint} (byte {exc.start}); skipped"
        )
    except (UnicodeError, ValueError) as exc:  # codecs such as punycode or undefined raise plain UnicodeError
        return None, Diagnostic(path, 1, Level.ERROR, f"cannot decode as {encoding}: {str(exc)[:120]}; skipped")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def parse(path: str, text: str) -> tuple[ast.Module | None, Diagnostic | None]:
    """Parse ``text`` once with ``ast``; failures become one diagnostic with the best line we know."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes etc. in scanned code
            return ast.parse(text, filename=path, type_comments=False), None
    except SyntaxError as exc:
        line = exc.lineno or 1
        reason = exc.msg or "invalid syntax"
        for pattern, what in _NEWER_SYNTAX_HINTS:
            if pattern.search(text):
                ver = ".".join(map(str, sys.version_info[:2]))
                return None, Diagnostic(
                    path,
                    line,
                    Level.WARNING,
                    f"syntax newer than Python {ver} ({what}): {reason}; metrics and rules skipped",
                )
        if any(p.search(text) for p in _PY2_HINTS):
            return None, Diagnostic(path, line, Level.ERROR, f"Python 2 syntax? {reason}; skipped")
        return None, Diagnostic(path, line, Level.ERROR, f"syntax error: {reason}; skipped")
    except (RecursionError, MemoryError):
        return None, Diagnostic(path, 1, Level.ERROR, "expression nested too deeply to parse; skipped")
    except ValueError as exc:  # e.g. source code string cannot contain null bytes
        return None, Diagnostic(path, 1, Level.ERROR, f"cannot parse: {exc}; skipped")


# Statement-list fields: imports are statements, so only these need walking (perf, issue #8: a full
# ``ast.walk`` visits every expression node too and was ~9% of the per-file pass on Django).
_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def imported_modules(tree: ast.Module) -> frozenset[str]:
    """Top-level names of every module imported anywhere in the file (absolute imports only)."""
    names: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name.split(".", 1)[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module.split(".", 1)[0])
        else:
            for name in _BODY_FIELDS:
                children = getattr(node, name, None)
                if children:
                    stack.extend(children)
    return frozenset(names)
