"""Modules imported on first use (issue #8: libcst costs ~0.19 s of a one-file gate's start-up).

``cst = lazy_module("libcst", globals(), "cst")`` binds ``cst`` to a stand-in. The first attribute
read on it imports the real module and rebinds the global name to it, so every later read is an
ordinary module attribute read (no per-access cost once loaded). A run that never reads an attribute
never imports the module. Type checkers should see the real import::

    if TYPE_CHECKING:
        import libcst as cst
    else:
        cst = lazy_module("libcst", globals(), "cst")

Only ``importlib.import_module`` runs, at the first read, so the module is found on ``sys.path`` as it
is then (``python -m qualscan`` has already dropped the scanned directory from it).
"""

from __future__ import annotations

import importlib
from typing import Any


class _LazyModule:
    def __init__(self, name: str, namespace: dict[str, Any], binding: str) -> None:
        self._lazy_name = name
        self._lazy_namespace = namespace
        self._lazy_binding = binding

    def __getattr__(self, attr: str) -> Any:  # only called for names not set in __init__
        if attr.startswith("__") and attr.endswith("__"):
            # introspection (copy, pickle, inspect.unwrap, doctest finders) must not import the module
            raise AttributeError(attr)
        module = importlib.import_module(self._lazy_name)
        if self._lazy_namespace.get(self._lazy_binding) is self:
            self._lazy_namespace[self._lazy_binding] = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._lazy_name!r}>"


def lazy_module(name: str, namespace: dict[str, Any], binding: str) -> Any:
    """A stand-in for module ``name``, bound as ``namespace[binding]``; see the module docstring."""
    return _LazyModule(name, namespace, binding)
