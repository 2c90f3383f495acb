"""The libcst visitors of the call-site analysis (``_calls``), kept apart so that importing
``_calls`` (and so every rule module) does not import libcst: ``_calls`` imports this module inside
the functions that walk a tree, which only run for files that pass ``_calls.needs_analysis``."""

from __future__ import annotations

from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from ._calls import (
    FileCalls,
    FuncFrame,
    LoopFrame,
    RawCall,
    TryFrame,
    WithFrame,
    dotted,
    numeric,
    upstream_of,
)


class Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self, fc: FileCalls, interesting: frozenset[str]) -> None:
        super().__init__()
        self.fc = fc
        self.stack: list[Any] = []
        self.block_frames: dict[int, Any] = {}
        self.pushed: list[int] = []
        self.interesting = interesting
        self.assignments: list[tuple[str, cst.BaseExpression, tuple[Any, ...], int]] = []
        self.classes: dict[str, cst.ClassDef] = {}
        self.returns: dict[str, list[cst.BaseExpression]] = {}
        self.class_stack: list[str] = []

    # scopes
    def _qual(self, name: str) -> str:
        outer = [f.name for f in self.stack if isinstance(f, FuncFrame)]
        return ".".join(self.class_stack[:1] + outer + [name]) if self.class_stack else ".".join(outer + [name])

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes[node.name.value] = node
        self.class_stack.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = {p.name.value for p in node.params.params}
        params |= {p.name.value for p in node.params.kwonly_params}
        params |= {p.name.value for p in node.params.posonly_params}
        if isinstance(node.params.star_arg, cst.Param):
            params.add(node.params.star_arg.name.value)
        in_class = bool(self.class_stack) and not any(isinstance(f, FuncFrame) for f in self.stack)
        frame = FuncFrame(
            name=node.name.value,
            qualname=self._qual(node.name.value),
            is_async=node.asynchronous is not None,
            line=self.fc.line_of(node),
            node=node,
            params=frozenset(params),
            decorators=tuple(node.decorators),
            in_class=in_class,
        )
        self.fc.funcs.setdefault(frame.qualname, frame)
        self.stack.append(frame)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.stack.append("lambda")

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.stack.pop()

    # blocks: loops, with, try push a frame for their body only
    def visit_For(self, node: cst.For) -> None:
        self.block_frames[id(node.body)] = LoopFrame("for", self.fc.line_of(node), node, node.iter, False)

    def visit_While(self, node: cst.While) -> None:
        test = node.test
        wt = (isinstance(test, cst.Name) and test.value == "True") or (
            isinstance(test, cst.Integer) and test.value not in ("0",)
        )
        self.block_frames[id(node.body)] = LoopFrame("while", self.fc.line_of(node), node, None, wt)

    def visit_With(self, node: cst.With) -> None:
        self.block_frames[id(node.body)] = WithFrame(
            self.fc.line_of(node), node, tuple(item.item for item in node.items)
        )
        for item in node.items:
            if isinstance(item.asname, cst.AsName) and isinstance(item.asname.name, (cst.Name, cst.Attribute)):
                target = dotted(item.asname.name)
                if target:
                    self.assignments.append((target, item.item, tuple(self.stack), self.fc.line_of(node)))

    def visit_Try(self, node: cst.Try) -> None:
        self.block_frames[id(node.body)] = TryFrame(self.fc.line_of(node), node)

    def _enter_block(self, node: cst.CSTNode) -> None:
        frame = self.block_frames.pop(id(node), None)
        if frame is not None:
            self.stack.append(frame)
            self.pushed.append(id(node))

    def _leave_block(self, node: cst.CSTNode) -> None:
        if self.pushed and self.pushed[-1] == id(node):
            self.pushed.pop()
            self.stack.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_block(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave_block(original_node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_block(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._leave_block(original_node)

    def _comp(self, node: cst.CSTNode, for_in: cst.CompFor) -> None:
        self.stack.append(LoopFrame("comp", self.fc.line_of(node), node, for_in.iter, False))

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comp(node, node.for_in)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self.stack.pop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._comp(node, node.for_in)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self.stack.pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comp(node, node.for_in)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.stack.pop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._comp(node, node.for_in)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self.stack.pop()

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = dotted(node.module) if node.module is not None else None
        if isinstance(node.names, cst.ImportStar) and module and module.endswith("_pb2_grpc"):
            self.fc.star_grpc = True

    # bindings
    def visit_Assign(self, node: cst.Assign) -> None:
        line = self.fc.line_of(node)
        for target in node.targets:
            name = dotted(target.target)
            if name:
                self.assignments.append((name, node.value, tuple(self.stack), line))
                if isinstance(node.value, (cst.Call, cst.Subscript, cst.SimpleString, cst.FormattedString, cst.BinaryOperation)):
                    up = upstream_of(self.fc, node.value)
                    if up and (up.startswith("$") or "." in up or ":" in up or name.isupper()) and up != name:
                        self.fc.name_upstreams.setdefault(name, up)
                if not self.stack and isinstance(target.target, cst.Name):
                    value = numeric(self.fc, node.value)
                    if value is not None:
                        self.fc.constants[name] = value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = dotted(node.target)
        if name and node.value is not None:
            self.assignments.append((name, node.value, tuple(self.stack), self.fc.line_of(node)))
            if not self.stack and isinstance(node.target, cst.Name):
                value = numeric(self.fc, node.value)
                if value is not None:
                    self.fc.constants[name] = value

    def visit_Return(self, node: cst.Return) -> None:
        func = next((f for f in reversed(self.stack) if isinstance(f, FuncFrame)), None)
        if func is not None and node.value is not None:
            self.returns.setdefault(func.qualname, []).append(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        try:
            pos = self.fc.pos[node]
        except KeyError:
            return
        self.fc.raw.append(
            RawCall(
                node=node,
                line=pos.start.line,
                column=pos.start.column,
                end_line=pos.end.line,
                stack=tuple(self.stack),
                qnames=frozenset(self.fc.qualified(node.func)),
            )
        )


class Finder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.raises = 0
        self.breaks = 0
        self.returns = 0
        self.calls: list[cst.Call] = []
        self.tries: list[cst.Try] = []

    def visit_Raise(self, node: cst.Raise) -> None:
        self.raises += 1

    def visit_Break(self, node: cst.Break) -> None:
        self.breaks += 1

    def visit_Return(self, node: cst.Return) -> None:
        self.returns += 1

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def visit_Try(self, node: cst.Try) -> None:
        self.tries.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False
