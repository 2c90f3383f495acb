"""The metrics pass's complexity code as it was before the fused walk (qualscan 0.1.0 dev,
commit 5f83e1e): radon's ``ComplexityVisitor`` and ``h_visit_ast`` on the shared tree, then one walk
per function for cognitive complexity and nesting.

Kept out of the package, as the reference the fused walk of ``qualscan.metrics.complexity`` is
tested against (tests/test_metrics_fastwalk.py) and timed against (benchmarks/metrics_components.py).
"""

from __future__ import annotations

import ast
from typing import Any

from radon.metrics import h_visit_ast
from radon.visitors import Class, ComplexityVisitor, Function

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del, ast.alias, ast.arg})
_COMPOUND: tuple[type, ...] = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
if hasattr(ast, "TryStar"):  # Python 3.11+
    _COMPOUND = (*_COMPOUND, ast.TryStar)


def radon_complexities(visitor: ComplexityVisitor) -> dict[tuple[int, int], int]:
    """(lineno, col_offset) -> radon complexity for every function/method/closure radon reports."""
    out: dict[tuple[int, int], int] = {}
    stack: list[Any] = list(visitor.functions) + list(visitor.classes)
    while stack:
        block = stack.pop()
        if isinstance(block, Function):
            out[(block.lineno, block.col_offset)] = block.complexity
            stack.extend(block.closures)
        elif isinstance(block, Class):
            stack.extend(block.methods)
            stack.extend(block.inner_classes)
    return out


def cognitive(func: ast.AST) -> int:
    """Cognitive complexity of a function (nested functions and classes included).

    Follows SonarSource's Python analyzer: the bodies of ``if``/``elif``/``else``, loops, loop and
    ``try`` ``else`` clauses, ``except`` clauses and ``case`` blocks nest one level deeper; ``try``,
    ``finally`` and ``with`` bodies do not; a nested function nests one level (none for a
    decorator-style wrapper whose enclosing function holds only it and ``return name``); a class
    body restarts at level 0; a conditional expression nests its three parts.
    """
    total = 0

    def boolops(node: ast.AST, parent_op: type | None) -> int:
        if isinstance(node, ast.BoolOp):
            own = 0 if type(node.op) is parent_op else 1
            return own + sum(boolops(v, type(node.op)) for v in node.values)
        return 0

    def expr(node: ast.AST | None, nesting: int) -> None:
        nonlocal total
        if node is None:
            return
        stack: list[tuple[ast.AST, int]] = [(node, nesting)]
        push = stack.append
        while stack:
            n, lvl = stack.pop()
            t = type(n)
            if t in _LEAVES:
                continue
            if t is ast.BoolOp:
                total += boolops(n, None)
                # walk operands for conditional expressions, but do not re-count nested BoolOps
                for sub in _flatten_boolop(n):  # type: ignore[arg-type]
                    push((sub, lvl))
                continue
            if t is ast.IfExp:
                total += 1 + lvl
                push((n.test, lvl + 1))  # type: ignore[attr-defined]
                push((n.body, lvl + 1))  # type: ignore[attr-defined]
                push((n.orelse, lvl + 1))  # type: ignore[attr-defined]
                continue
            for name in n._fields:
                if name == "ctx":
                    continue
                v = getattr(n, name, None)
                if type(v) is list:
                    for x in v:
                        if isinstance(x, ast.AST):
                            push((x, lvl))
                elif isinstance(v, ast.AST):
                    push((v, lvl))

    def block(stmts: list[ast.stmt], nesting: int, scope: str, direct: bool = False) -> None:
        """``scope``: kind of the nearest enclosing def/class; ``direct``: ``stmts`` is its body."""
        for s in stmts:
            stmt(s, nesting, scope, stmts if direct else None)

    def else_clause(stmts: list[ast.stmt], nesting: int, scope: str) -> None:
        nonlocal total
        if stmts:
            total += 1
            block(stmts, nesting + 1, scope)

    def if_chain(node: ast.If, nesting: int, scope: str) -> None:
        nonlocal total
        total += 1 + nesting
        while True:  # iterative over elif chains (they can be hundreds long)
            expr(node.test, nesting)
            block(node.body, nesting + 1, scope)
            orelse = node.orelse
            if len(orelse) == 1 and isinstance(orelse[0], ast.If) and _is_elif(node, orelse[0]):
                total += 1  # elif
                node = orelse[0]
                continue
            else_clause(orelse, nesting, scope)
            return

    def stmt(node: ast.stmt, nesting: int, scope: str, siblings: list[ast.stmt] | None) -> None:
        nonlocal total
        if isinstance(node, ast.If):
            if_chain(node, nesting, scope)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            total += 1 + nesting
            expr(node.test if isinstance(node, ast.While) else node.iter, nesting)
            block(node.body, nesting + 1, scope)
            else_clause(node.orelse, nesting, scope)
        elif isinstance(node, _TRY):
            block(node.body, nesting, scope)  # type: ignore[attr-defined]
            for h in node.handlers:  # type: ignore[attr-defined]
                total += 1 + nesting
                block(h.body, nesting + 1, scope)
            else_clause(node.orelse, nesting, scope)  # type: ignore[attr-defined]
            block(node.finalbody, nesting, scope)  # type: ignore[attr-defined]
        elif isinstance(node, ast.Match):
            total += 1 + nesting
            expr(node.subject, nesting)
            for case in node.cases:
                expr(case.guard, nesting + 1)
                block(case.body, nesting + 1, scope)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expr(item.context_expr, nesting)
            block(node.body, nesting, scope)
        elif isinstance(node, _FUNCS):
            for d in node.decorator_list:
                expr(d, nesting)
            if scope == "class":
                inner = 0
            elif siblings is not None and _is_wrapper(node, siblings):
                inner = nesting
            else:
                inner = nesting + 1
            block(node.body, inner, "function", True)
        elif isinstance(node, ast.ClassDef):
            for d in node.decorator_list:
                expr(d, nesting)
            block(node.body, 0, "class", True)
        else:
            expr(node, nesting)

    for d in func.decorator_list:  # type: ignore[attr-defined]
        expr(d, 0)
    block(func.body, 0, "function", True)  # type: ignore[attr-defined]
    return total


def _is_wrapper(inner: ast.AST, siblings: list[ast.stmt]) -> bool:
    """A decorator-style wrapper: the enclosing body holds ``inner`` and ``return <name>`` only."""
    return all(
        s is inner or (isinstance(s, ast.Return) and isinstance(s.value, ast.Name)) for s in siblings
    )


_TRY: tuple[type, ...] = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)


def _flatten_boolop(node: ast.BoolOp) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(node.values)
    while stack:
        v = stack.pop()
        if isinstance(v, ast.BoolOp):
            stack.extend(v.values)
        else:
            out.append(v)
    return out


def _is_elif(parent: ast.If, child: ast.If) -> bool:
    """``elif`` and ``else: if`` share an AST shape; an ``elif`` starts in the ``if``'s column."""
    return child.col_offset == parent.col_offset


def nesting_depth(func: ast.AST) -> int:
    best = 0

    def walk(stmts: list[ast.stmt], depth: int) -> None:
        nonlocal best
        for s in stmts:
            if isinstance(s, (*_FUNCS, ast.ClassDef)):
                continue
            if isinstance(s, _COMPOUND):
                d = depth + 1
                best = max(best, d)
                if isinstance(s, ast.If):
                    walk(s.body, d)
                    orelse = s.orelse
                    if len(orelse) == 1 and isinstance(orelse[0], ast.If) and orelse[0].col_offset == s.col_offset:
                        walk(orelse, depth)  # elif: same level as the if
                    else:
                        walk(orelse, d)
                elif isinstance(s, ast.Match):
                    for case in s.cases:
                        walk(case.body, d)
                else:
                    for field in ("body", "orelse", "finalbody"):
                        walk(getattr(s, field, []) or [], d)
                    for h in getattr(s, "handlers", []) or []:
                        walk(h.body, d)

    walk(func.body, 0)  # type: ignore[attr-defined]
    return best


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


def functions_and_classes(
    tree: ast.Module, visitor: ComplexityVisitor
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every function (methods and nested functions included) and every class, in source order."""
    radon_cc = radon_complexities(visitor)
    functions: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    # statement bodies only: expressions never hold a def or a class
    stack: list[tuple[list[ast.stmt], str, bool]] = [(tree.body, "", False)]
    while stack:
        body, prefix, in_class = stack.pop()
        for child in body:
            if isinstance(child, _FUNCS):
                qual = f"{prefix}{child.name}"
                cc = radon_cc.get((child.lineno, child.col_offset))
                if cc is None:  # e.g. a method of a class defined inside a function: radon skips it
                    cc = ComplexityVisitor.from_ast(child).functions[0].complexity
                end = child.end_lineno or child.lineno
                functions.append(
                    {
                        "qualname": qual,
                        "line": child.lineno,
                        "end_line": end,
                        "cyclomatic": cc,
                        "cognitive": cognitive(child),
                        "nesting": nesting_depth(child),
                        "params": param_count(child, in_class),
                        "length": end - child.lineno + 1,
                        "is_method": in_class,
                    }
                )
                stack.append((child.body, qual + ".<locals>.", False))
            elif isinstance(child, ast.ClassDef):
                qual = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                classes.append(
                    {
                        "qualname": qual,
                        "line": child.lineno,
                        "end_line": end,
                        "length": end - child.lineno + 1,
                        "methods": sum(1 for b in child.body if isinstance(b, _FUNCS)),
                        "abstract": _is_abstract_class(child),
                    }
                )
                stack.append((child.body, qual + ".", True))
            else:
                # functions defined under if/try/except/with/match at this level keep the same prefix
                for name in ("body", "orelse", "finalbody"):
                    sub = getattr(child, name, None)
                    if sub:
                        stack.append((sub, prefix, in_class))
                for h in getattr(child, "handlers", None) or ():
                    stack.append((h.body, prefix, in_class))
                for case in getattr(child, "cases", None) or ():
                    stack.append((case.body, prefix, in_class))
    functions.sort(key=lambda f: (f["line"], f["qualname"]))
    classes.sort(key=lambda c: (c["line"], c["qualname"]))
    return functions, classes


def halstead(tree: ast.Module) -> dict[str, float]:
    total = h_visit_ast(tree).total
    return {
        "h1": total.h1,
        "h2": total.h2,
        "N1": total.N1,
        "N2": total.N2,
        "volume": total.volume,
        "difficulty": total.difficulty,
        "effort": total.effort,
    }


def reference_measures(tree: ast.Module) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, dict[str, float]]:
    """(functions, classes, cyclomatic_total, halstead) exactly as ``analyze_file_facts`` computed them."""
    visitor = ComplexityVisitor.from_ast(tree)
    functions, classes = functions_and_classes(tree, visitor)
    return functions, classes, visitor.total_complexity, halstead(tree)
