"""QS115 unbounded-in-process-cache (on the shared ``ast`` tree: no libcst needed)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

_REMOVERS = {"pop", "popitem", "clear", "__delitem__"}
_GROWERS = {"setdefault", "update"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _aliases(tree: ast.Module) -> dict[str, str]:
    """local name -> qualified name for functools imports."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "functools":
            for a in node.names:
                out[a.asname or a.name] = f"functools.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "functools":
                    out[a.asname or a.name] = "functools"
    return out


def _unbounded_cache_decorator(dec: ast.expr, aliases: dict[str, str]) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    name = _dotted(target)
    head, _, rest = name.partition(".")
    qual = aliases.get(head, head) + ("." + rest if rest else "")
    if qual == "functools.cache":
        return True
    if qual == "functools.lru_cache" and isinstance(dec, ast.Call):
        for kw in dec.keywords:
            if kw.arg == "maxsize" and isinstance(kw.value, ast.Constant) and kw.value.value is None:
                return True
        if dec.args and isinstance(dec.args[0], ast.Constant) and dec.args[0].value is None:
            return True
    return False


def _module_dicts(tree: ast.Module) -> dict[str, int]:
    out: dict[str, int] = {}
    for node in tree.body:
        value: ast.expr | None = None
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            value, targets = node.value, [node.target]
        if value is None:
            continue
        is_dict = (isinstance(value, ast.Dict) and not value.keys) or (
            isinstance(value, ast.Call)
            and _dotted(value.func).split(".")[-1] in ("dict", "defaultdict", "OrderedDict")
            and not value.args[1:]
            and not value.keywords
        )
        if not is_dict:
            continue
        for t in targets:
            if isinstance(t, ast.Name):
                out[t.id] = node.lineno
    return out


class _Uses(ast.NodeVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.grows: dict[str, list[tuple[list[ast.FunctionDef | ast.AsyncFunctionDef], ast.AST]]] = {}
        self.shrinks: set[str] = set()
        self.rebinds: set[str] = set()
        self.func: list[ast.FunctionDef | ast.AsyncFunctionDef] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._func(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._func(node)

    def _func(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.func.append(node)
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Global):
                self.rebinds.update(n for n in stmt.names if n in self.names)
        self.generic_visit(node)
        self.func.pop()

    def _grow(self, name: str, key: ast.AST) -> None:
        if self.func:
            self.grows.setdefault(name, []).append((list(self.func), key))

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in self.names:
                self._grow(t.value.id, t.slice)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        t = node.target
        if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in self.names:
            self._grow(t.value.id, t.slice)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in self.names:
                self.shrinks.add(t.value.id)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in self.names:
            if f.attr in _REMOVERS:
                self.shrinks.add(f.value.id)
            elif f.attr in _GROWERS and node.args:
                self._grow(f.value.id, node.args[0])
        self.generic_visit(node)


def _is_registration(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    name = func.name.lower()
    if "register" in name or name.startswith(("_register", "add_", "setup", "init", "__init__", "configure", "load")):
        return True
    # decorators that register what they wrap: return their argument or an inner function
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in func.body)


class UnboundedInProcessCache(PythonRule):
    """
    ## What it does
    Finds in-process caches with no bound: `@functools.lru_cache(maxsize=None)` or
    `@functools.cache` on methods (they also keep every `self` alive), and module-level dicts
    that functions fill with computed keys (`CACHE[key] = value`, `setdefault`) but never remove
    from (`pop`, `del`, `clear`). Reported on the decorator or the dict's assignment line.
    Registries filled by `register*`/decorator functions or constructors are not reported, nor
    caches the code empties itself (`method.cache_clear()`) or keyed by class (`cls`).

    ## Why it matters during a sales peak
    Every distinct key (user, cart, product, session) adds an entry that is never freed. Memory
    grows with traffic until the container is OOM-killed -- at the busiest moment, all replicas
    at about the same time.

    ## Example
    ```python
    _PRICES = {}

    def price(sku):
        if sku not in _PRICES:
            _PRICES[sku] = fetch_price(sku)
        return _PRICES[sku]
    ```

    ## Use instead
    ```python
    @functools.lru_cache(maxsize=10_000)
    def price(sku):
        return fetch_price(sku)
    # or cachetools.TTLCache(maxsize=10_000, ttl=300)
    ```
    """

    code = "QS115"
    name = "unbounded-in-process-cache"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Unbounded in-process cache"

    VALID = [
        "import functools\n\n@functools.lru_cache(maxsize=1024)\ndef price(sku):\n    return sku\n",
        "HANDLERS = {}\n\ndef register(name):\n    def deco(fn):\n        HANDLERS[name] = fn\n        return fn\n    return deco\n",
        "SEEN = {}\n\ndef add(k, v):\n    SEEN[k] = v\n\ndef drop(k):\n    SEEN.pop(k, None)\n",
        "CONFIG = {}\n\ndef f():\n    CONFIG['mode'] = 'x'\n",
        "import functools\n\nclass Apps:\n    @functools.cache\n    def get_models(self, x):\n        return x\n\n"
        "    def clear(self):\n        self.get_models.cache_clear()\n",
    ]
    INVALID = [
        "from functools import lru_cache\n\nclass Catalog:\n    @lru_cache(maxsize=None)  # qualscan: expect[QS115]\n"
        "    def product(self, sku):\n        return sku\n",
        "_PRICES = {}  # qualscan: expect[QS115]\n\ndef price(sku):\n    if sku not in _PRICES:\n"
        "        _PRICES[sku] = len(sku)\n    return _PRICES[sku]\n",
        "import functools\n\nclass Cart:\n    @functools.cache  # qualscan: expect[QS115]\n    def total(self, cid):\n        return cid\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if ctx.is_test and not self.include_tests:
            return
        tree = ctx.tree
        aliases = _aliases(tree)
        if aliases:
            for cls in ast.walk(tree):
                if not isinstance(cls, ast.ClassDef):
                    continue
                for item in cls.body:
                    if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        continue
                    if any(
                        isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in item.decorator_list
                    ):
                        continue
                    args = item.args.posonlyargs + item.args.args
                    if args and args[0].arg == "cls":
                        continue  # a per-class cache: bounded by the number of classes
                    if f"{item.name}.cache_clear(" in ctx.text:
                        continue  # the code empties it itself
                    for dec in item.decorator_list:
                        if _unbounded_cache_decorator(dec, aliases):
                            yield Hit(
                                message=f"unbounded cache on method {cls.name}.{item.name}: it grows with every "
                                "distinct argument and keeps every instance alive; set maxsize",
                                line=dec.lineno,
                                key=f"{cls.name}.{item.name}",
                                details={"cache": "lru_cache"},
                            )
        dicts = _module_dicts(tree)
        if not dicts:
            return
        uses = _Uses(set(dicts))
        uses.visit(tree)
        for name, line in sorted(dicts.items(), key=lambda kv: kv[1]):
            if name in uses.shrinks or name in uses.rebinds:
                continue
            writes = [
                (funcs[-1], key)
                for funcs, key in uses.grows.get(name, [])
                if not isinstance(key, ast.Constant) and not any(_is_registration(f) for f in funcs)
            ]
            if not writes:
                continue
            yield Hit(
                message=f"module-level dict {name} only grows (filled in {writes[0][0].name}(), never pruned): "
                "memory grows with traffic; use a bounded LRU/TTL cache",
                line=line,
                key=name,
                details={"cache": "dict"},
            )
