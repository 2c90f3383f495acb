"""Function- and file-level complexity from the one shared ``ast`` tree, in one fused walk.

The definitions of cyclomatic complexity and Halstead are radon's (``radon.visitors``
``ComplexityVisitor`` and ``HalsteadVisitor``, radon >= 6); ``measure`` computes them, together with
cognitive complexity, nesting, parameters, lengths and qualified names, in ONE iterative walk over
the tree instead of radon's ``ast.NodeVisitor`` passes (one per function for cyclomatic, one per
statement of every function body for Halstead) and a walk per function for cognitive complexity.
The results are equal to radon's AST-level visitors: tests/test_metrics_fastwalk.py checks them on
a sample of CPython's standard library, radon's sources and ours, and benchmarks/compare_radon.py
on Django.

* **Cyclomatic complexity** (radon's) -- per function: 1 + the decision points of its body
  (decorators, parameters, defaults and annotations are not counted; nested functions and classes
  are reported on their own and not added): +1 per ``if``/``elif``, conditional expression,
  ``assert`` (whose own expression is not looked into), ``for``/``async for``/``while`` (+1 more
  for a loop ``else``), ``except`` handler of a ``try`` (+1 for its ``else``; radon does not count
  ``try``/``except*``), comprehension (+1 per comprehension ``if``), (n-1) per boolean operation of
  n operands, and ``len(cases)`` per ``match`` minus 1 when a case is a bare capture or ``case _``.
  Lambdas are transparent. The file's total (radon's ``total_complexity``, fed to MI) is 1 + the
  decision points at module level + (cc - 1) of every module-level function + for every
  module-level class its class-body decision points and the cc of each of its methods (closures and
  inner classes are not in the total).
* **Halstead** (radon's ``h_visit_ast``) -- operators and operands of ``BinOp``, ``UnaryOp``,
  ``BoolOp``, ``AugAssign`` and ``Compare``; function decorators, parameters and annotations are not
  visited. Distinct operators: the operator class names; distinct operands: (innermost enclosing
  function name or None, operand) where the operand is a name's id, an attribute's name, a
  constant's value (so ``1``, ``1.0`` and ``True`` are one operand) or the node itself. Volume
  V = N log2 h, difficulty D = h1/2 * N2/h2, effort E = D * V (radon's ``halstead_visitor_report``).
* **Cognitive complexity** -- SonarSource's definition (G. Ann Campbell, *Cognitive Complexity*,
  2017), as SonarSource's Python analyzer applies it: +1 plus the current nesting level for
  ``if``, conditional expression, ``for``/``async for``, ``while``, ``except`` and ``match``;
  +1 (no nesting penalty) for ``elif`` and every ``else``; +1 per sequence of like boolean
  operators (``a and b and c`` is 1, ``a and b or c`` is 2). The bodies of ``if``/``elif``/``else``,
  loops, loop and ``try`` ``else`` clauses, ``except`` clauses and ``case`` blocks nest one level
  deeper; ``try``, ``finally`` and ``with`` bodies do not; a conditional expression nests its three
  parts; a nested function nests one level (none for a decorator-style wrapper whose enclosing
  function holds only it and ``return name``) and counts in its enclosing function as well as on
  its own; a class body restarts at level 0. A function's decorators count at level 0; loop
  targets, ``with ... as`` targets, ``except`` types and ``case`` patterns are not looked into.
* **Maintainability index** -- radon's formula (``radon.metrics.mi_compute``) with radon's
  inputs: MI = max(0, (171 - 5.2 ln V - 0.23 G - 16.2 ln L + 50 sin(sqrt(2.4 C))) * 100 / 171),
  where V is the file's Halstead volume, G its total cyclomatic complexity, L its logical lines
  (radon passes LLOC) and C the percentage of comment lines ((comments + multi) / sloc * 100, in
  radians * 2.46 as in radon). 100 when V or L is 0.
* **Nesting depth** -- the deepest stack of compound statements (``if``/``for``/``while``/
  ``with``/``try``/``match``) inside a function body; an ``elif`` stays at its ``if``'s level;
  nested functions and classes are left out.
* **Parameters** -- every parameter (positional-only, regular, ``*args``, keyword-only,
  ``**kwargs``), minus ``self``/``cls`` as the first parameter of a method.
* **Length** -- ``end_line - line + 1`` of the ``def``/``class`` statement (decorators excluded).

How the walk works: one stack holds statement blocks (``_Block``: a statement list and where it
stands -- enclosing function/class, cognitive level, nesting depth, qualified-name prefix) and
expression nodes. Expression nodes carry no state of their own: the stack also holds ``_Frame``
markers, each pushed on top of the expressions it governs, which set the current frame (which scope
receives cyclomatic decision points, the Halstead context, the cognitive owner and level) when
popped; a conditional expression pushes a marker restoring the frame under its children. Cognitive
increments are counted in the innermost function only, with the number of nesting-penalised ones,
and added to the enclosing functions at the end (shifted by the level of the nested ``def``).
"""

from __future__ import annotations

import ast
import re
from types import SimpleNamespace
from typing import Any

from radon.metrics import halstead_visitor_report, mi_compute

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_TRY: tuple[type, ...] = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)
_MATCH: type | None = getattr(ast, "Match", None)

# ASDL types whose fields never hold anything the walk needs: context and operator singletons (the
# operators are read from their parent), import aliases, type-ignore comments
_LEAF_TYPES = frozenset({"expr_context", "boolop", "operator", "unaryop", "cmpop", "alias", "type_ignore"})
_SIGNATURE = re.compile(r"(\w+)\((.*)\)\Z", re.S)


def _child_fields(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(single-node fields, node-list fields) of an AST class, from the ASDL signature in its docstring.

    None when the docstring is not a signature (then the walk falls back to checking every value).
    """
    if not cls._fields:  # type: ignore[attr-defined]
        return (), ()
    m = _SIGNATURE.match((cls.__doc__ or "").strip())
    if m is None or m.group(1) != cls.__name__:
        return None
    singles: list[str] = []
    lists: list[str] = []
    for part in m.group(2).split(","):
        words = part.split()
        if len(words) != 2:
            return None
        kind, name = words
        base = kind.rstrip("*?")
        node_class = getattr(ast, base, None)
        if not (isinstance(node_class, type) and issubclass(node_class, ast.AST)) or base in _LEAF_TYPES:
            continue  # identifier, string, int, constant, or a leaf type
        (lists if kind.endswith("*") else singles).append(name)
    if (set(singles) | set(lists)) - set(cls._fields):  # type: ignore[attr-defined]
        return None
    return tuple(singles), tuple(lists)


# Expression nodes the walk has nothing to do at but push their children: class -> (single-node
# fields, node-list fields). The node types with work of their own are handled in ``measure``; Dict
# and arguments hold None in a list (``**`` keys, missing keyword-only defaults).
_SPECIAL = frozenset(
    {ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.AugAssign, ast.IfExp, ast.comprehension, ast.Dict, ast.arguments}
)
_PLAIN: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}
for _cls in (c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.AST)):
    _f = _child_fields(_cls)
    if _f is not None and _cls not in _SPECIAL:
        _PLAIN[_cls] = _f


class _Scope:
    """A module, class or function: the counters the walk fills."""

    __slots__ = ("node", "qualname", "is_method", "cc", "cog", "pen", "dcog", "nest", "cc_parent", "cog_parent", "base")

    def __init__(self, node: ast.AST | None, qualname: str, cc: int, cc_parent: _Scope | None) -> None:
        self.node = node
        self.qualname = qualname
        self.is_method = False
        self.cc = cc  # cyclomatic: 1 + decision points of a function body; decision points of a class body
        self.cog = 0  # cognitive increments of the body, at levels relative to the body
        self.pen = 0  # how many of them carry the nesting level (shifted when added to an enclosing def)
        self.dcog = 0  # cognitive increments of the function's own decorators (level 0), not passed up
        self.nest = 0  # nesting depth
        self.cc_parent = cc_parent  # scope whose statements hold the def/class (radon's total)
        self.cog_parent: _Scope | None = None  # innermost enclosing function
        self.base: int | None = None  # level of the body in cog_parent; None behind a class body


class _Frame:
    """Stack marker: sets the frame of the expressions pushed under it."""

    __slots__ = ("cc", "hctx", "cog")

    def __init__(self, cc: _Scope | None, hctx: Any, cog: tuple[Any, ...] | None) -> None:
        self.cc = cc  # scope receiving cyclomatic decision points; None: not counted (assert, decorators)
        self.hctx = hctx  # Halstead context; _SKIP: not visited by Halstead (function decorators)
        self.cog = cog  # (owner, level, penalised, decorated function, its def's level) or None


class _Block:
    """Stack item: a statement list and where it stands."""

    __slots__ = ("stmts", "cc", "hctx", "owner", "lvl", "in_class", "downer", "depth", "prefix", "direct")

    def __init__(
        self, stmts: list[ast.stmt], cc: _Scope, hctx: Any, owner: _Scope | None, lvl: int, in_class: bool,
        downer: _Scope | None, depth: int, prefix: str, direct: bool,
    ) -> None:
        self.stmts = stmts
        self.cc = cc
        self.hctx = hctx
        self.owner = owner  # innermost function, for cognitive complexity (None at module level)
        self.lvl = lvl  # cognitive nesting level of these statements
        self.in_class = in_class  # a class body (or a block inside one) before any def
        self.downer = downer  # function whose nesting depth these statements count in (None in a class)
        self.depth = depth  # compound statements around these, inside downer
        self.prefix = prefix  # qualified-name prefix
        self.direct = direct  # the direct body of a function (decorator-style wrapper check)

    def child(self, stmts: list[ast.stmt], lvl: int, depth: int) -> _Block:
        return _Block(stmts, self.cc, self.hctx, self.owner, lvl, self.in_class, self.downer, depth, self.prefix, False)


_SKIP = object()  # Halstead context of the parts radon's HalsteadVisitor does not visit


def _operand(node: ast.AST) -> Any:
    """radon's HalsteadVisitor operand: a name's id, an attribute's name, a constant's value, else the node."""
    t = type(node)
    if t is ast.Name:
        return node.id  # type: ignore[attr-defined]
    if t is ast.Attribute:
        return node.attr  # type: ignore[attr-defined]
    if t is ast.Constant:
        return node.value  # type: ignore[attr-defined]
    return node


def _is_wrapper(inner: ast.AST, siblings: list[ast.stmt]) -> bool:
    """A decorator-style wrapper: the enclosing body holds ``inner`` and ``return <name>`` only."""
    return all(
        s is inner or (isinstance(s, ast.Return) and isinstance(s.value, ast.Name)) for s in siblings
    )


def _match_cc(node: ast.AST) -> int:
    """radon: one per case, less one when a case's pattern is a bare capture or ``_``."""
    cases = node.cases  # type: ignore[attr-defined]
    return max(0, len(cases) - any(getattr(c.pattern, "pattern", False) is None for c in cases))


def measure(tree: ast.Module) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, dict[str, float]]:
    """(functions, classes, cyclomatic total, Halstead) of a module, in one walk (see the module doc).

    ``functions``: [{qualname, line, end_line, cyclomatic, cognitive, nesting, params, length,
    is_method}] and ``classes``: [{qualname, line, end_line, length, methods, abstract}], every
    function (methods and nested functions included) and class, sorted by line then name.
    """
    module = _Scope(None, "", 0, None)
    funcs: list[_Scope] = []
    classes: list[_Scope] = []
    operators: set[str] = set()
    operands: set[Any] = set()
    n1 = n2 = 0
    plain_fields = _PLAIN
    BinOp, UnaryOp, BoolOp, Compare, AugAssign = ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.AugAssign
    IfExp, comprehension, Dict, arguments = ast.IfExp, ast.comprehension, ast.Dict, ast.arguments
    If, For, AsyncFor, While, With, AsyncWith, Assert = ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Assert
    FunctionDef, AsyncFunctionDef, ClassDef, Try = ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try
    trys, Match = _TRY, _MATCH
    skip = _SKIP
    skip_types = (ast.Pass, ast.Break, ast.Continue, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)

    stack: list[Any] = [_Block(tree.body, module, None, None, 0, False, None, 0, "", False)]
    pop, push, extend = stack.pop, stack.append, stack.extend
    # the current frame (see _Frame)
    ccs: _Scope | None = None
    hctx: Any = skip
    cog: tuple[Any, ...] | None = None
    while stack:
        node = pop()
        t = type(node)
        fields = plain_fields.get(t)
        if fields is not None:
            singles, lists = fields
            for name in singles:
                v = getattr(node, name)
                if v is not None:
                    push(v)
            for name in lists:
                extend(getattr(node, name))
            continue
        if t is _Frame:
            ccs, hctx, cog = node.cc, node.hctx, node.cog
        elif t is Compare:
            if hctx is not skip:
                ops = node.ops
                comparators = node.comparators
                n1 += len(ops)
                n2 += len(comparators) + 1
                for op in ops:
                    operators.add(type(op).__name__)
                for x in comparators:
                    operands.add((hctx, _operand(x)))
                operands.add((hctx, _operand(node.left)))
            push(node.left)
            extend(node.comparators)
        elif t is BinOp:
            if hctx is not skip:
                n1 += 1
                n2 += 2
                operators.add(type(node.op).__name__)
                operands.add((hctx, _operand(node.left)))
                operands.add((hctx, _operand(node.right)))
            push(node.left)
            push(node.right)
        elif t is BoolOp:
            values = node.values
            if ccs is not None:
                ccs.cc += len(values) - 1
            if hctx is not skip:
                n1 += 1
                n2 += len(values)
                operators.add(type(node.op).__name__)
                for x in values:
                    operands.add((hctx, _operand(x)))
            if cog is not None:
                # one per sequence of like operators: a BoolOp directly inside one with the same
                # operator is the same sequence (``a and (b and c)``); subtract it here, it adds 1 itself
                op = type(node.op)
                k = 1 - sum(1 for x in values if type(x) is BoolOp and type(x.op) is op)
                owner, _, _, dfunc, _ = cog
                if owner is not None:
                    owner.cog += k
                if dfunc is not None:
                    dfunc.dcog += k
            extend(values)
        elif t is _Block:
            b = node
            stmts = b.stmts
            ccs = b.cc
            hctx = b.hctx
            owner = b.owner
            lvl = b.lvl
            in_class = b.in_class
            penalised = not in_class
            downer = b.downer
            depth = b.depth
            cog = (owner, lvl, penalised, None, 0) if owner is not None else None
            base_frame = _Frame(ccs, hctx, cog)
            same: list[ast.AST] = []  # expressions of this block's frame
            groups: list[Any] = []  # other expressions, each run followed by its frame
            blocks: list[_Block] = []
            nocog: list[ast.AST] = []  # expressions cognitive complexity does not look into
            for s in stmts:
                ts = type(s)
                if ts is If:
                    assert ccs is not None
                    ccs.cc += 1
                    if owner is not None:
                        owner.cog += 1 + lvl
                        if penalised:
                            owner.pen += 1
                    d = depth + 1
                    if downer is not None and d > downer.nest:
                        downer.nest = d
                    n = s
                    while True:  # iterative over elif chains (they can be hundreds long)
                        same.append(n.test)
                        blocks.append(b.child(n.body, lvl + 1, d))
                        orelse = n.orelse
                        if len(orelse) == 1 and type(orelse[0]) is If and orelse[0].col_offset == n.col_offset:
                            n = orelse[0]  # elif: same level
                            ccs.cc += 1
                            if owner is not None:
                                owner.cog += 1
                            continue
                        if orelse:
                            if owner is not None:
                                owner.cog += 1
                            blocks.append(b.child(orelse, lvl + 1, d))
                        break
                elif ts is FunctionDef or ts is AsyncFunctionDef:
                    qual = b.prefix + s.name
                    f = _Scope(s, qual, 1, ccs)
                    f.is_method = in_class
                    if owner is not None:
                        f.cog_parent = owner
                        if not in_class:
                            f.base = lvl if b.direct and _is_wrapper(s, stmts) else lvl + 1
                    funcs.append(f)
                    if s.decorator_list:
                        groups.extend(s.decorator_list)
                        groups.append(_Frame(None, skip, (owner, lvl, penalised, f, lvl)))
                    blocks.append(_Block(s.body, f, s.name, f, 0, False, f, 0, qual + ".<locals>.", True))
                elif ts in skip_types:
                    continue
                elif ts is ClassDef:
                    qual = b.prefix + s.name
                    c = _Scope(s, qual, 0, ccs)
                    classes.append(c)
                    if s.decorator_list:
                        groups.extend(s.decorator_list)
                        groups.append(_Frame(None, hctx, cog))
                    type_params = getattr(s, "type_params", None)  # Python 3.12+
                    if s.bases or s.keywords or type_params:
                        groups.extend(s.bases)
                        groups.extend(s.keywords)
                        if type_params:
                            groups.extend(type_params)
                        groups.append(_Frame(None, hctx, None))  # seen by Halstead only
                    blocks.append(_Block(s.body, c, hctx, owner, 0, True, None, 0, qual + ".", False))
                elif ts is For or ts is AsyncFor or ts is While:
                    assert ccs is not None
                    orelse = s.orelse
                    ccs.cc += 2 if orelse else 1
                    if owner is not None:
                        owner.cog += 2 + lvl if orelse else 1 + lvl
                        if penalised:
                            owner.pen += 1
                    d = depth + 1
                    if downer is not None and d > downer.nest:
                        downer.nest = d
                    if ts is While:
                        same.append(s.test)
                    else:
                        same.append(s.iter)
                        nocog.append(s.target)
                    blocks.append(b.child(s.body, lvl + 1, d))
                    if orelse:
                        blocks.append(b.child(orelse, lvl + 1, d))
                elif ts is With or ts is AsyncWith:
                    d = depth + 1
                    if downer is not None and d > downer.nest:
                        downer.nest = d
                    for item in s.items:
                        same.append(item.context_expr)
                        if item.optional_vars is not None:
                            nocog.append(item.optional_vars)
                    blocks.append(b.child(s.body, lvl, d))
                elif ts in trys:
                    assert ccs is not None
                    handlers = s.handlers
                    orelse = s.orelse
                    if ts is Try:  # radon counts ``Try`` by its class name: not ``TryStar``
                        ccs.cc += len(handlers) + (1 if orelse else 0)
                    d = depth + 1
                    if downer is not None and d > downer.nest:
                        downer.nest = d
                    blocks.append(b.child(s.body, lvl, d))
                    for h in handlers:
                        if owner is not None:
                            owner.cog += 1 + lvl
                            if penalised:
                                owner.pen += 1
                        if h.type is not None:
                            nocog.append(h.type)
                        blocks.append(b.child(h.body, lvl + 1, d))
                    if orelse:
                        if owner is not None:
                            owner.cog += 1
                        blocks.append(b.child(orelse, lvl + 1, d))
                    if s.finalbody:
                        blocks.append(b.child(s.finalbody, lvl, d))
                elif ts is Match:
                    assert ccs is not None
                    ccs.cc += _match_cc(s)
                    if owner is not None:
                        owner.cog += 1 + lvl
                        if penalised:
                            owner.pen += 1
                    d = depth + 1
                    if downer is not None and d > downer.nest:
                        downer.nest = d
                    same.append(s.subject)
                    guards = []
                    for case in s.cases:
                        nocog.append(case.pattern)
                        if case.guard is not None:
                            guards.append(case.guard)
                        blocks.append(b.child(case.body, lvl + 1, d))
                    if guards:
                        groups.extend(guards)
                        groups.append(_Frame(ccs, hctx, (owner, lvl + 1, penalised, None, 0) if owner is not None else None))
                elif ts is Assert:
                    assert ccs is not None
                    ccs.cc += 1  # radon's visit_Assert: +1, and the assertion is not looked into
                    groups.append(s)
                    groups.append(_Frame(None, hctx, cog))
                else:
                    same.append(s)  # a simple statement: all of it is expressions
            extend(blocks)
            if nocog:
                extend(nocog)
                push(_Frame(ccs, hctx, None))
            extend(groups)  # each run of expressions, then its frame on top of it
            extend(same)
            push(base_frame)
        elif t is IfExp:
            if ccs is not None:
                ccs.cc += 1
            if cog is not None:
                owner, lvl, penalised, dfunc, dlvl = cog
                if owner is not None:
                    owner.cog += 1 + lvl
                    if penalised:
                        owner.pen += 1
                if dfunc is not None:
                    dfunc.dcog += 1 + lvl - dlvl
                push(_Frame(ccs, hctx, cog))  # restored once the three parts are done
                cog = (owner, lvl + 1, penalised, dfunc, dlvl)
            push(node.test)
            push(node.body)
            push(node.orelse)
        elif t is UnaryOp:
            if hctx is not skip:
                n1 += 1
                n2 += 1
                operators.add(type(node.op).__name__)
                operands.add((hctx, _operand(node.operand)))
            push(node.operand)
        elif t is comprehension:
            if ccs is not None:
                ccs.cc += 1 + len(node.ifs)
            push(node.target)
            push(node.iter)
            extend(node.ifs)
        elif t is AugAssign:
            if hctx is not skip:
                n1 += 1
                n2 += 2
                operators.add(type(node.op).__name__)
                operands.add((hctx, _operand(node.target)))
                operands.add((hctx, _operand(node.value)))
            push(node.target)
            push(node.value)
        elif t is Dict:
            extend([k for k in node.keys if k is not None])
            extend(node.values)
        elif t is arguments:
            extend(node.posonlyargs)
            extend(node.args)
            if node.vararg is not None:
                push(node.vararg)
            extend(node.kwonlyargs)
            extend([k for k in node.kw_defaults if k is not None])
            if node.kwarg is not None:
                push(node.kwarg)
            extend(node.defaults)
        elif isinstance(node, ast.AST):  # a node type without a readable signature: check every value
            for name in node._fields:
                if name == "ctx":
                    continue
                v = getattr(node, name, None)
                if type(v) is list:
                    extend([x for x in v if isinstance(x, ast.AST)])
                elif isinstance(v, ast.AST):
                    push(v)

    # cognitive: a nested function counts in its enclosing one, shifted by the level of its body
    # there (children come after their parents in ``funcs``)
    for f in reversed(funcs):
        p = f.cog_parent
        if p is not None:
            if f.base is None:  # behind a class body: levels restart at 0 for every enclosing def
                p.cog += f.cog
            else:
                p.cog += f.cog + f.base * f.pen
                p.pen += f.pen

    # radon's total_complexity
    total = 1 + module.cc
    for f in funcs:
        p = f.cc_parent
        if p is module:
            total += f.cc - 1
        elif p is not None and p.node.__class__ is ClassDef and p.cc_parent is module:
            total += f.cc  # a method of a module-level class
    for c in classes:
        if c.cc_parent is module:
            total += c.cc

    functions: list[dict[str, Any]] = []
    for f in funcs:
        fn: Any = f.node
        end = fn.end_lineno or fn.lineno
        functions.append(
            {
                "qualname": f.qualname,
                "line": fn.lineno,
                "end_line": end,
                "cyclomatic": f.cc,
                "cognitive": f.cog + f.dcog,
                "nesting": f.nest,
                "params": param_count(fn, f.is_method),
                "length": end - fn.lineno + 1,
                "is_method": f.is_method,
            }
        )
    class_facts: list[dict[str, Any]] = []
    for c in classes:
        cn: Any = c.node
        end = cn.end_lineno or cn.lineno
        class_facts.append(
            {
                "qualname": c.qualname,
                "line": cn.lineno,
                "end_line": end,
                "length": end - cn.lineno + 1,
                "methods": sum(1 for x in cn.body if isinstance(x, _FUNCS)),
                "abstract": _is_abstract_class(cn),
            }
        )
    functions.sort(key=lambda x: (x["line"], x["qualname"]))
    class_facts.sort(key=lambda x: (x["line"], x["qualname"]))
    counts = SimpleNamespace(
        distinct_operators=len(operators), distinct_operands=len(operands), operators=n1, operands=n2
    )
    report = halstead_visitor_report(counts)
    hal = {
        "h1": report.h1,
        "h2": report.h2,
        "N1": report.N1,
        "N2": report.N2,
        "volume": report.volume,
        "difficulty": report.difficulty,
        "effort": report.effort,
    }
    return functions, class_facts, total, hal


def param_count(func: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> int:
    a = func.args
    names = [*a.posonlyargs, *a.args]
    n = len(names) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)
    if is_method and names and names[0].arg in ("self", "cls", "mcs", "metacls"):
        n -= 1
    return n


def _is_abstract_class(node: ast.ClassDef) -> bool:
    for base in node.bases:
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name in ("ABC", "Protocol"):
            return True
    for kw in node.keywords:
        if kw.arg == "metaclass":
            name = kw.value.attr if isinstance(kw.value, ast.Attribute) else getattr(kw.value, "id", "")
            if name == "ABCMeta":
                return True
    for item in node.body:
        if isinstance(item, _FUNCS):
            for d in item.decorator_list:
                name = d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", "")
                if name.startswith("abstract"):
                    return True
    return False



def maintainability_index(volume: float, total_cc: int, raw: dict[str, int]) -> float:
    """radon's MI with radon's inputs (LLOC as the size term, comments + multi as comment lines)."""
    sloc = raw["sloc"]
    comments = (raw["comments"] + raw["multi"]) / float(sloc) * 100 if sloc else 0
    return float(mi_compute(volume, total_cc, raw["lloc"], comments))
