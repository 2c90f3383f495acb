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


class _BodyFields(dict[type, tuple[str, ...]]):
    def __missing__(self, cls: type) -> tuple[str, ...]:
        fields = self[cls] = tuple(f for f in _BODY_FIELDS if f in (getattr(cls, "_fields", None) or ()))
        return fields


_BODY_FIELDS_OF = _BodyFields()


def imported_modules(tree: ast.Module) -> frozenset[str]:
    """Top-level names of every module imported anywhere in the file (absolute imports only)."""
    names: set[str] = set()
    stack: list[ast.AST] = [tree]
    body_fields = _BODY_FIELDS_OF
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name.split(".", 1)[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module.split(".", 1)[0])
        else:
            for name in body_fields[node.__class__]:
                children = getattr(node, name, None)
                if children:
                    stack.extend(children)
    return frozenset(names)


# --- fast tree walks (issue #8) ------------------------------------------------------------------
# ``ast.walk`` enumerates children through two generators per node (``iter_child_nodes`` and
# ``iter_fields``) and an ``isinstance`` per field value; on Django that is ~1.8 s of CPU just to
# list the nodes. The walks below read, per node class, a precomputed tuple of the fields that can
# hold child nodes (from the class's ASDL signature, e.g. ``Dict(expr* keys, expr* values)``), and
# skip the operator / context singletons (``Load``, ``Add``, ``Eq``...), which carry nothing.

_SINGLE, _LIST, _ANY = 0, 1, 2  # a node (or None) / a list of nodes / anything: check each value
_LEAF = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_LEAF_TYPES = frozenset({"expr_context", "operator", "boolop", "unaryop", "cmpop"})
_SCALAR_TYPES = frozenset({"identifier", "string", "int", "constant"})
# node lists that may hold None: ``{**d}`` keys, keyword-only arguments without a default
_NONE_IN_LIST = frozenset({("Dict", "keys"), ("arguments", "kw_defaults")})
_SIGNATURE = re.compile(r"(\w+)\((.*)\)")

_FieldPlan = tuple[tuple[tuple[str, int], ...], bool]  # ((field, kind)...), has operator/context children


def _field_plan(cls: type) -> _FieldPlan:
    """Child fields of ``cls`` in ``_fields`` order, and whether it has operator/context children.
    Classes whose signature cannot be read (subclasses, deprecated aliases) get the generic,
    per-value check, which is what ``ast.iter_child_nodes`` does."""
    fields: tuple[str, ...] = getattr(cls, "_fields", ()) or ()
    doc = (cls.__doc__ or "").strip()
    m = _SIGNATURE.fullmatch(doc.splitlines()[0]) if doc else None
    sig = [p.split() for p in m.group(2).split(",")] if m and m.group(2).strip() else []
    if m is None or m.group(1) != cls.__name__ or any(len(p) != 2 for p in sig) or tuple(p[1] for p in sig) != fields:
        return tuple((f, _ANY) for f in fields), False
    plan: list[tuple[str, int]] = []
    has_leaf = False
    for typ, name in sig:
        base = typ.rstrip("*?")
        if base in _LEAF_TYPES:
            has_leaf = True
        elif base not in _SCALAR_TYPES:
            if not typ.endswith("*"):
                plan.append((name, _SINGLE))
            else:
                plan.append((name, _ANY if (cls.__name__, name) in _NONE_IN_LIST else _LIST))
    return tuple(plan), has_leaf


class _Plans(dict[type, _FieldPlan]):
    def __missing__(self, cls: type) -> _FieldPlan:
        plan = self[cls] = _field_plan(cls)
        return plan


_PLANS = _Plans()


def _next_level(level: list[ast.AST]) -> tuple[list[ast.AST], bool]:
    """The children of ``level``'s nodes, in ``ast.walk`` order (node by node, field by field),
    operator / context singletons left out; and whether any node of ``level`` had such a child."""
    nxt: list[ast.AST] = []
    append, extend = nxt.append, nxt.extend
    plans = _PLANS
    leafy = False
    for node in level:
        plan, has_leaf = plans[node.__class__]
        if has_leaf:
            leafy = True
        for name, kind in plan:
            if kind == _LIST:
                extend(getattr(node, name, ()))
            elif kind == _SINGLE:
                child = getattr(node, name, None)
                if child is not None:
                    append(child)
            else:
                value = getattr(node, name, None)
                for child in value if isinstance(value, list) else (value,):
                    if isinstance(child, ast.AST):
                        if isinstance(child, _LEAF):
                            leafy = True
                        else:
                            append(child)
    return nxt, leafy


def walk_levels(tree: ast.AST) -> list[list[ast.AST]]:
    """The nodes of ``walk_nodes(tree)`` grouped by depth: ``[[tree], its children, ...]``."""
    levels: list[list[ast.AST]] = []
    level = [tree]
    while level:
        levels.append(level)
        level = _next_level(level)[0]
    return levels


def walk_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node under ``tree`` (itself included) in ``ast.walk`` order (breadth-first), without
    the operator / context singletons (``Load``, ``Store``, ``Add``, ``Eq``, ``And``, ``Not``...)."""
    out: list[ast.AST] = []
    for level in walk_levels(tree):
        out.extend(level)
    return out


def tree_depth(tree: ast.AST, limit: int) -> int:
    """Depth of the deepest node (``tree`` is 1; operator / context singletons count, as with
    ``ast.iter_child_nodes``), level by level; returns ``limit + 1`` as soon as that is reached."""
    depth = 0
    level = [tree]
    while level:
        depth += 1
        if depth > limit:
            return depth
        level, leafy = _next_level(level)
        if leafy and not level:
            return depth + 1
    return depth
