"""Unrendered Helm templates, rendered best-effort and line-preserving.

``render_template(text, values, chart=..., path=...)`` evaluates the common subset of Go template
syntax found in charts: ``{{ .Values.x.y }}``, ``$.Values``, ``.Release.*``, ``.Chart.*``, pipelines
(``default``, ``quote``, ``toYaml``, ``nindent``, ``printf``, ``upper``/``lower``, ``trunc``, ...),
``if``/``else if``/``else``/``with``/``range``/``end`` and variables (``$x := ...``). It never
executes anything but this interpreter.

The output keeps **one output line per input line** so that YAML line numbers point into the
template: a line holding only an action becomes blank, a ``toYaml ... | nindent N`` expands to a
flow-style (JSON) value on its own line at indent N. Whatever cannot be resolved (an ``include``
of a helper, a missing value) is reported as a :class:`~qualscan.model.Diagnostic` and rendered as
an ``UNRESOLVED`` marker instead of being guessed silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qualscan.model import Diagnostic, Level
from qualscan.parsers.yamlsafe import decode, load_one


class _Unresolved:
    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"UNRESOLVED({self.what})"

    def __bool__(self) -> bool:  # unknown conditions take the first branch (and are diagnosed)
        return True


UNRESOLVED_TEXT = "UNRESOLVED"


@dataclass
class Chart:
    name: str
    version: str = ""
    app_version: str = ""
    values: dict[str, Any] = field(default_factory=dict)


def parse_chart_yaml(data: bytes | str, path: str) -> tuple[Chart, list[Diagnostic]]:
    doc, diags = load_one(decode(data), path)
    if not isinstance(doc, dict):
        return Chart(name=path.rsplit("/", 2)[-2] if "/" in path else "chart"), diags
    return (
        Chart(
            name=str(doc.get("name") or "chart"),
            version=str(doc.get("version") or ""),
            app_version=str(doc.get("appVersion") or ""),
        ),
        diags,
    )


def merge_values(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge_values(base.get(k), v) if k in base else v
        return out
    return override


def parse_values(data: bytes | str, path: str) -> tuple[dict[str, Any], list[Diagnostic]]:
    doc, diags = load_one(decode(data), path)
    return (_plain(doc) if isinstance(doc, dict) else {}), diags


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- tokenizer / evaluator ------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<lp>\()
      | (?P<rp>\))
      | (?P<pipe>\|)
      | (?P<assign>:?=)
      | (?P<comma>,)
      | (?P<word>[^\s()|,]+)
    )""",
    re.VERBOSE,
)


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        kind = m.lastgroup or "word"
        out.append((kind, m.group(kind)))
    return out


class _Ctx:
    def __init__(self, root: dict[str, Any], path: str) -> None:
        self.root = root
        self.vars: dict[str, Any] = {"$": root}
        self.unresolved: list[str] = []
        self.path = path


def _truthy(value: Any) -> bool:
    if isinstance(value, _Unresolved):
        return True
    return bool(value) and value != 0


def _lookup(base: Any, parts: list[str]) -> Any:
    cur = base
    for part in parts:
        if not part:
            continue
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, _Unresolved):
        return UNRESOLVED_TEXT
    return str(value)


def _resolve_word(word: str, dot: Any, ctx: _Ctx) -> Any:
    if word == ".":
        return dot
    if word.startswith("$"):
        name, _, rest = word.partition(".")
        if name not in ctx.vars:
            ctx.unresolved.append(word)
            return _Unresolved(word)
        return _lookup(ctx.vars[name], rest.split(".")) if rest else ctx.vars[name]
    if word.startswith("."):
        parts = word[1:].split(".")
        if parts[0] in ("Values", "Release", "Chart", "Capabilities", "Files", "Template"):
            if parts[0] == "Capabilities":
                return _Unresolved(word)
            value = _lookup(ctx.root, parts)
            if value is None and parts[0] == "Release":
                ctx.unresolved.append(word)
                return _Unresolved(word)
            return value
        return _lookup(dot, parts)
    if word in ("true", "false"):
        return word == "true"
    if word == "nil":
        return None
    return _Unresolved(word)


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        if text.startswith("`"):
            return text[1:-1]
        try:
            return json.loads(text)
        except ValueError:
            return text[1:-1]
    if kind == "num":
        return float(text) if "." in text else int(text)
    return text


_FUNCS_NOARGS = {"quote", "squote", "upper", "lower", "trim", "toString", "toYaml", "toJson", "int", "b64enc"}


def _call(name: str, args: list[Any], ctx: _Ctx) -> Any:
    n = len(args)
    if name == "default":
        if n >= 2:
            return args[1] if _truthy(args[1]) and not isinstance(args[1], _Unresolved) else args[0]
        return args[0] if n else None
    if name in ("quote", "squote"):
        return "" if not n else _to_str(args[-1])
    if name == "upper":
        return _to_str(args[-1]).upper() if n else ""
    if name == "lower":
        return _to_str(args[-1]).lower() if n else ""
    if name in ("trim", "toString", "b64enc"):
        return _to_str(args[-1]).strip() if n else ""
    if name in ("toYaml", "toJson", "toPrettyJson"):
        return args[-1] if n else None
    if name in ("nindent", "indent"):
        return args[-1] if n else None
    if name in ("int", "int64", "atoi"):
        try:
            return int(float(_to_str(args[-1])))
        except ValueError:
            return args[-1]
    if name == "printf" and n:
        fmt = _to_str(args[0])
        vals = args[1:]
        out = re.sub(r"%[-+# 0-9.]*[sdvqf]", lambda m: "{}", fmt)
        try:
            return out.format(*[_to_str(v) for v in vals])
        except (IndexError, ValueError):
            return out
    if name in ("print", "cat"):
        return ("" if name == "print" else " ").join(_to_str(a) for a in args)
    if name == "eq" and n >= 2:
        return any(_to_str(args[0]) == _to_str(a) for a in args[1:])
    if name == "ne" and n >= 2:
        return _to_str(args[0]) != _to_str(args[1])
    if name in ("lt", "le", "gt", "ge") and n >= 2:
        try:
            a, b = float(_to_str(args[0])), float(_to_str(args[1]))
        except ValueError:
            return _Unresolved(name)
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[name]
    if name == "not":
        return not _truthy(args[-1]) if n else True
    if name == "and":
        return all(_truthy(a) for a in args)
    if name == "or":
        for a in args:
            if _truthy(a):
                return a
        return args[-1] if args else False
    if name == "empty":
        return not _truthy(args[-1]) if n else True
    if name == "required":
        return args[-1] if n else None
    if name == "coalesce":
        for a in args:
            if _truthy(a):
                return a
        return None
    if name == "ternary" and n == 3:
        return args[0] if _truthy(args[2]) else args[1]
    if name == "hasKey" and n == 2:
        return isinstance(args[0], dict) and _to_str(args[1]) in args[0]
    if name in ("trunc",) and n == 2:
        try:
            return _to_str(args[1])[: int(args[0])]
        except (TypeError, ValueError):
            return args[1]
    if name in ("trimSuffix", "trimPrefix") and n == 2:
        s, affix = _to_str(args[1]), _to_str(args[0])
        if name == "trimSuffix":
            return s[: -len(affix)] if affix and s.endswith(affix) else s
        return s[len(affix) :] if s.startswith(affix) else s
    if name == "replace" and n == 3:
        return _to_str(args[2]).replace(_to_str(args[0]), _to_str(args[1]))
    if name == "list":
        return list(args)
    if name == "dict":
        return {_to_str(args[i]): args[i + 1] for i in range(0, n - 1, 2)}
    if name in ("include", "template", "tpl", "lookup", "fromYaml", "semverCompare", "randAlphaNum", "uuidv4"):
        what = f"{name} {_to_str(args[0]) if args else ''}".strip()
        if name in ("include", "template") and args:
            tname = _to_str(args[0])
            if tname.endswith((".fullname", ".name", ".chart.name")) or tname in ("fullname", "name"):
                chart = ctx.root.get("Chart", {}).get("Name")
                if chart:
                    return chart
        if name == "tpl" and args and isinstance(args[0], str) and "{{" not in args[0]:
            return args[0]
        ctx.unresolved.append(what)
        return _Unresolved(what)
    ctx.unresolved.append(name)
    return _Unresolved(name)


def _eval_command(tokens: list[tuple[str, str]], dot: Any, ctx: _Ctx, piped: list[Any]) -> Any:
    """Evaluate one pipeline command (tokens with no top-level ``|``)."""
    args: list[Any] = []
    func: str | None = None
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "lp":
            depth, j = 1, i + 1
            while j < len(tokens) and depth:
                if tokens[j][0] == "lp":
                    depth += 1
                elif tokens[j][0] == "rp":
                    depth -= 1
                j += 1
            args.append(_eval_pipeline(tokens[i + 1 : j - 1], dot, ctx))
            i = j
            continue
        if kind in ("str", "num"):
            args.append(_literal(kind, text))
        elif kind == "word":
            if i == 0 and not text.startswith((".", "$")) and text not in ("true", "false", "nil"):
                func = text
            else:
                args.append(_resolve_word(text, dot, ctx))
        i += 1
    args.extend(piped)
    if func is None:
        return args[0] if args else None
    if func in _FUNCS_NOARGS and not args:
        return None
    return _call(func, args, ctx)


def _split_pipe(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    parts: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for tok in tokens:
        if tok[0] == "lp":
            depth += 1
        elif tok[0] == "rp":
            depth -= 1
        if tok[0] == "pipe" and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def _eval_pipeline(tokens: list[tuple[str, str]], dot: Any, ctx: _Ctx) -> Any:
    value: list[Any] = []
    result: Any = None
    for i, cmd in enumerate(_split_pipe(tokens)):
        result = _eval_command(cmd, dot, ctx, value if i else [])
        value = [result]
    return result


# Each parenthesis level rescans the rest of the expression (and recurses): ``{{ ((((...`` 50,000 deep
# cost 19 s and then a RecursionError. Real templates nest a few levels.
MAX_EXPR_DEPTH = 32


def evaluate(expr: str, dot: Any, ctx: _Ctx) -> Any:
    tokens = _tokens(expr)
    depth = deepest = 0
    for kind, _ in tokens:
        if kind == "lp":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "rp":
            depth -= 1
    if deepest > MAX_EXPR_DEPTH:
        what = f"expression nested deeper than {MAX_EXPR_DEPTH} parentheses"
        ctx.unresolved.append(what)
        return _Unresolved(what)
    # variable assignment: $x := pipeline
    if len(tokens) >= 2 and tokens[0][1].startswith("$") and tokens[1][0] == "assign":
        ctx.vars[tokens[0][1]] = _eval_pipeline(tokens[2:], dot, ctx)
        return None
    return _eval_pipeline(tokens, dot, ctx)


def _nindent_of(expr: str) -> int | None:
    m = re.search(r"\b(n?indent)\s+(\d+)\s*$", expr.strip())
    return int(m.group(2)) if m else None


# --- rendering ------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_KEYWORD = re.compile(r"^\s*(if|else if|else|end|with|range|define|block)\b(.*)$", re.DOTALL)


@dataclass
class _Frame:
    kind: str
    parent_active: bool
    active: bool
    taken: bool
    dot: Any
    saved_dot: Any


def _control(word: str, rest: str, stack: list[_Frame], dot: Any, ctx: _Ctx) -> Any:
    """Apply one control keyword to the block stack; returns the new dot."""
    cur = stack[-1].active if stack else True
    if word == "define" or word == "block":
        stack.append(_Frame("define", cur, False, True, dot, dot))
        return dot
    if word == "range":
        rest_s = rest.strip()
        m2 = re.match(r"^(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*(.*)$", rest_s)
        value = evaluate(m2.group(3) if m2 else rest_s, dot, ctx) if cur else None
        item: Any = None
        if isinstance(value, list) and value:
            item = value[0]
        elif isinstance(value, dict) and value:
            k0 = next(iter(value))
            item = value[k0]
            if m2 and m2.group(2):
                ctx.vars[m2.group(1)] = k0
        if m2:
            ctx.vars[m2.group(2) or m2.group(1)] = item
        taken = cur and bool(value) and not isinstance(value, _Unresolved)
        new_dot = item if (taken and item is not None) else dot
        stack.append(_Frame("range", cur, taken, taken, new_dot, dot))
        return new_dot
    if word in ("if", "with"):
        value = evaluate(rest, dot, ctx) if cur else None
        taken = cur and _truthy(value)
        new_dot = value if word == "with" and taken else dot
        stack.append(_Frame(word, cur, taken, taken, new_dot, dot))
        return new_dot
    if word in ("else", "else if") and stack:
        fr = stack[-1]
        if fr.taken:
            fr.active = False
            return fr.saved_dot
        cond_src = rest.strip()
        if word == "else" and cond_src.startswith(("if ", "with ")):
            cond_src = cond_src.split(" ", 1)[1]
            word = "else if"
        ok = fr.parent_active and (word == "else" or _truthy(evaluate(cond_src, fr.saved_dot, ctx)))
        fr.active = ok
        fr.taken = ok
        return fr.saved_dot
    if word == "end" and stack:
        return stack.pop().saved_dot
    return dot


def render_template(
    text: str,
    values: Mapping[str, Any],
    *,
    chart: Chart | None = None,
    path: str = "<template>",
    release: str | None = None,
    namespace: str = "default",
) -> tuple[str, list[Diagnostic]]:
    """Render a Helm template best-effort; the output has exactly as many lines as ``text``."""
    chart = chart or Chart(name="chart")
    root = {
        "Values": dict(values),
        "Release": {"Name": release or chart.name, "Namespace": namespace, "Service": "Helm"},
        "Chart": {"Name": chart.name, "Version": chart.version, "AppVersion": chart.app_version},
    }
    ctx = _Ctx(root, path)
    diags: list[Diagnostic] = []
    out_lines: list[str] = []
    stack: list[_Frame] = []
    dot: Any = root
    lines = text.split("\n")
    in_comment = False
    pending = ""  # an action spanning several lines
    for lineno, line in enumerate(lines, 1):
        if pending:
            pending += "\n" + line
            if "}}" not in line:
                out_lines.append("")
                continue
            line = pending
            pending = ""
        if in_comment:
            if "*/}}" in line or "*/ -}}" in line:
                in_comment = False
            out_lines.append("")
            continue
        if re.match(r"^\s*\{\{-?\s*/\*", line) and "*/" not in line:
            in_comment = True
            out_lines.append("")
            continue
        if line.count("{{") > line.count("}}"):
            pending = line
            out_lines.append("")
            continue
        active = stack[-1].active if stack else True
        before_unresolved = len(ctx.unresolved)
        pieces: list[str] = []
        pos = 0
        only_actions = True
        block_value: tuple[int, Any] | None = None
        for m in _ACTION.finditer(line):
            literal = line[pos : m.start()]
            if active:
                if literal.strip():
                    only_actions = False
                pieces.append(literal)
            pos = m.end()
            body = m.group(1).strip()
            if body.startswith("/*"):
                continue
            kw = _KEYWORD.match(body)
            if kw:
                dot = _control(kw.group(1), kw.group(2), stack, dot, ctx)
                active = stack[-1].active if stack else True
                continue
            if not active:
                continue
            value = evaluate(body, dot, ctx)
            if value is None and re.match(r"^\$\w+\s*:?=", body):
                continue
            if isinstance(value, (dict, list)) or (
                _nindent_of(body) is not None and re.search(r"\b(toYaml|include|toJson)\b", body)
            ):
                ind = _nindent_of(body)
                block_value = (ind if ind is not None else 0, value)
            else:
                pieces.append(_to_str(value))
        if active:
            tail = line[pos:]
            if tail.strip():
                only_actions = False
            pieces.append(tail)
        if block_value is not None and only_actions:
            ind, value = block_value
            if value is None or isinstance(value, _Unresolved) or value == {} or value == []:
                out_lines.append("")
            else:
                out_lines.append(" " * ind + json.dumps(_plain(value), default=str))
        elif only_actions and "".join(pieces).strip() == "":
            out_lines.append("")
        else:
            rendered = "".join(pieces)
            if block_value is not None:  # inline toYaml: flow value on the same line
                rendered = rendered.rstrip() + " " + json.dumps(_plain(block_value[1]), default=str)
            out_lines.append(rendered)
        if len(ctx.unresolved) > before_unresolved:
            what = ", ".join(dict.fromkeys(ctx.unresolved[before_unresolved:]))
            diags.append(
                Diagnostic(path, lineno, Level.INFO, f"Helm template value not resolved ({what}); rendered as {UNRESOLVED_TEXT}")
            )
    if pending:
        diags.append(Diagnostic(path, len(lines), Level.WARNING, "unterminated Helm action"))
    while len(out_lines) < len(lines):
        out_lines.append("")
    return "\n".join(out_lines[: len(lines)]), diags


def is_template(text: str) -> bool:
    return "{{" in text and "}}" in text
