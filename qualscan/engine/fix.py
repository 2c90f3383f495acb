"""The autofix driver: ``qualscan fix --rule CODE`` as a libcst codemod.

A fixable rule (``fixable = True``) provides ``fixes(ctx, options) -> Iterable[KeywordEdit]``: which
call nodes of ``ctx.cst.module`` get which keyword arguments. This module applies them with a libcst
transformer, so formatting and comments everywhere else are kept byte for byte, and new keywords
follow the call's own layout (one line, or one argument per line with a trailing comma).

Core on text, I/O at the edge: the CLI reads the file, calls :func:`fix_source`, and writes the
result or prints a diff (:func:`unified_diff`). A fix is idempotent: once a call has its timeout
the rule no longer reports it, so a second run changes nothing.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qualscan.config import Config
from qualscan.engine.lazy import lazy_module
from qualscan.engine.registry import all_rules, rule_by_code
from qualscan.engine.rule import PythonFileContext, PythonRule

# QS101 imports KeywordEdit from here, so the rule registry imports this module: libcst is imported
# on first use only (qualscan.engine.lazy), and the transformer class is built when a fix runs.
if TYPE_CHECKING:
    import libcst as cst
    import libcst.metadata as cst_metadata
else:
    cst = lazy_module("libcst", globals(), "cst")
    cst_metadata = lazy_module("libcst.metadata", globals(), "cst_metadata")

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class KeywordEdit:
    """Give ``call`` these keyword arguments (source text of each value); replace existing ones."""

    call: cst.Call
    keywords: Mapping[str, str] = field(default_factory=dict)


def fixable_codes() -> tuple[str, ...]:
    return tuple(r.code for r in all_rules() if r.fixable and hasattr(r, "fixes"))


def _imports(tree: ast.Module) -> frozenset[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return frozenset(out)


def _resolve_rules(codes: Iterable[str]) -> list[type[PythonRule]]:
    out: list[type[PythonRule]] = []
    for code in codes:
        rule = rule_by_code(code)
        if rule is None:
            raise ValueError(f"unknown rule {code!r}")
        if not (rule.fixable and hasattr(rule, "fixes") and issubclass(rule, PythonRule)):
            raise ValueError(f"rule {rule.code} has no autofix (fixable rules: {', '.join(fixable_codes())})")
        out.append(rule)
    return sorted(set(out), key=lambda r: r.code)


def _with_keywords(call: cst.Call, keywords: Mapping[str, str]) -> tuple[cst.Call, int]:
    args = list(call.args)
    changed = 0
    pending = dict(keywords)
    for i, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value in pending:
            source = pending.pop(arg.keyword.value)
            if arg.value.deep_equals(cst.parse_expression(source)):
                continue
            args[i] = arg.with_changes(value=cst.parse_expression(source))
            changed += 1
    for name, source in pending.items():
        new = cst.Arg(
            keyword=cst.Name(name),
            value=cst.parse_expression(source),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
        if not args:
            args = [new]
        else:
            last = args[-1]
            if isinstance(last.comma, cst.Comma):
                # trailing comma: the new argument takes it; the old last one gets the separator
                # used between arguments (or the call's opening layout for a single argument)
                if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
                    sep = _bare(args[-2].comma)
                elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
                    sep = cst.Comma(whitespace_after=call.whitespace_before_args)
                else:
                    sep = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                args[-1] = last.with_changes(comma=sep)
                args.append(new.with_changes(comma=last.comma))
            else:
                args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                args.append(new)
        changed += 1
    return call.with_changes(args=args), changed


def _bare(comma: cst.Comma) -> cst.Comma:
    """The same separator without the comment that may follow it on its line."""
    ws = comma.whitespace_after
    if isinstance(ws, cst.ParenthesizedWhitespace):
        ws = ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return comma.with_changes(whitespace_after=ws)


def _apply_edits(module: cst.Module, edits: Mapping[int, KeywordEdit]) -> tuple[cst.Module, int]:
    """``module`` with the edits (keyed by ``id`` of the original call node) applied, and the number of changes."""
    changes = 0

    class _Apply(cst.CSTTransformer):  # defined here: a module-level subclass would import libcst with the rules
        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            nonlocal changes
            edit = edits.get(id(original_node))
            if edit is None:
                return updated_node
            new, n = _with_keywords(updated_node, edit.keywords)
            changes += n
            return new

    new_module = module.visit(_Apply())
    return new_module, changes


def _apply_rule(text: str, rule: type[PythonRule], options: Mapping[str, Any], config: Config) -> tuple[str, int]:
    try:
        tree = ast.parse(text)
        module = cst.parse_module(text)
    except (SyntaxError, ValueError, cst.ParserSyntaxError, RecursionError):
        return text, 0
    ctx = PythonFileContext(
        "<fix>", text, tree, service=None, is_test=False, config=config, imports=_imports(tree)
    )
    wrapper = cst_metadata.MetadataWrapper(module, unsafe_skip_copy=True)
    ctx._cst = wrapper
    ctx.options = {**rule.options, **config.rule_options.get(rule.code, {})}
    if rule.triggers and not (rule.triggers & ctx.imports):
        return text, 0
    edits = {id(e.call): e for e in rule.fixes(ctx, options)}  # type: ignore[attr-defined]
    if not edits:
        return text, 0
    new_module, changes = _apply_edits(wrapper.module, edits)
    if changes == 0:
        return text, 0
    return new_module.code, changes


def fix_source(
    text: str, *, default_timeout: float = DEFAULT_TIMEOUT, rules: set[str], config: Config | None = None
) -> tuple[str, int]:
    """Apply the autofixes of ``rules`` (codes or names) to ``text``: (new text, number of changes).

    Text that does not parse is returned unchanged with 0 changes. Raises ``ValueError`` for an
    unknown rule or one without an autofix (the CLI turns it into a usage error).
    """
    config = config or Config()
    options = {"default_timeout": float(default_timeout)}
    total = 0
    for rule in _resolve_rules(rules):
        text, n = _apply_rule(text, rule, options, config)
        total += n
    return text, total


def unified_diff(path: str, old: str, new: str) -> str:
    """The ``--diff`` output for one file (empty when nothing changed)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
        )
    )
