"""Test support for the QS1xx rules: run a rule on one Python source through a real context."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import qualscan
from qualscan.config import Config
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule

ROOT = Path(__file__).resolve().parent.parent
EXPECT = re.compile(r"#\s*qualscan:\s*expect\[([A-Z0-9, ]+)\]")


def rules_package() -> ModuleType:
    """``qualscan.rules`` (the top-level ``rules/`` folder), also in a checkout not installed for it."""
    try:
        return importlib.import_module("qualscan.rules")
    except ModuleNotFoundError:
        spec = importlib.util.spec_from_file_location(
            "qualscan.rules", ROOT / "rules" / "__init__.py", submodule_search_locations=[str(ROOT / "rules")]
        )
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["qualscan.rules"] = mod
        spec.loader.exec_module(mod)
        qualscan.rules = mod  # type: ignore[attr-defined]
        return mod


def load(module: str) -> ModuleType:
    rules_package()
    return importlib.import_module(f"qualscan.rules.{module}")


def imports_of(tree: ast.Module) -> frozenset[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return frozenset(out)


def make_ctx(
    text: str,
    path: str = "app.py",
    *,
    service: str | None = None,
    service_info: dict[str, Any] | None = None,
    is_test: bool = False,
) -> PythonFileContext:
    tree = ast.parse(text)
    return PythonFileContext(
        path,
        text,
        tree,
        service=service,
        is_test=is_test,
        config=Config(),
        imports=imports_of(tree),
        service_info=service_info,
    )


def run_rule(rule_cls: type[PythonRule], ctx: PythonFileContext, options: dict[str, Any] | None = None) -> list[Hit]:
    if rule_cls.triggers and not (rule_cls.triggers & ctx.imports):
        return []
    ctx.options = {**rule_cls.options, **(options or {})}
    return list(rule_cls().check(ctx))


def findings(rule_cls: type[PythonRule], text: str, **kw: Any) -> set[tuple[int, str]]:
    options = kw.pop("options", None)
    kw.setdefault("path", rule_cls.example_path)
    return {(h.line, rule_cls.code) for h in run_rule(rule_cls, make_ctx(text, **kw), options)}


def expected(text: str, code: str) -> set[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    for i, line in enumerate(text.splitlines(), 1):
        m = EXPECT.search(line)
        if m and code in [c.strip() for c in m.group(1).split(",")]:
            out.add((i, code))
    return out
