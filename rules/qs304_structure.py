"""QS304 import-cycle, QS305 cross-service-import, QS306 cross-service-clone (from ``ctx.metrics``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar

from qualscan.engine.rule import Hit, ProjectContext, ProjectRule
from qualscan.model import Confidence, Severity

_ADDRESS = '''def clean_address(payload):
    street = str(payload.get("street", "")).strip()
    city = str(payload.get("city", "")).strip()
    if not street or not city:
        raise ValueError("street and city are required")
    postcode = str(payload.get("postcode", "")).replace(" ", "").upper()
    country = str(payload.get("country", "DE")).upper()
    return {"street": street, "city": city, "postcode": postcode, "country": country}
'''



_LIST_MAX = 8


def _capped(items: list[str]) -> str:
    """``a, b, c`` -- or the first _LIST_MAX and ``and N more`` for a long list."""
    if len(items) <= _LIST_MAX:
        return ", ".join(items)
    return ", ".join(items[:_LIST_MAX]) + f" and {len(items) - _LIST_MAX:,} more"


class ImportCycle(ProjectRule):
    """
    ## What it does
    Finds cycles among the modules' import-time imports (imports inside functions and under
    `if TYPE_CHECKING:` do not count) and reports, for each cycle to break, the import statement
    that closes it. Cycles are reduced to a small set of imports whose removal makes the graph
    acyclic, not every simple cycle.

    ## Why it matters during a sales peak
    Import cycles make start-up order fragile (a partially initialised module, an `ImportError`
    only on the new pod that the autoscaler just started) and tie modules that should change
    independently.

    ## Example
    ```python
    # pricing.py
    from .promotions import apply_promotions
    # promotions.py
    from . import pricing
    ```

    ## Use instead
    Move the shared piece into a third module both import, or import inside the function that
    needs it.
    """

    code = "QS304"
    name = "import-cycle"
    severity = Severity.LOW
    confidence = Confidence.HIGH
    summary = "Modules import each other in a cycle"
    VALID = (
        {
            "services/shop/requirements.txt": "",
            "services/shop/app/__init__.py": "",
            "services/shop/app/a.py": "from . import b\n",
            "services/shop/app/b.py": "def f():\n    from . import a\n    return a\n",
        },
    )
    INVALID = (
        {
            "services/shop/requirements.txt": "",
            "services/shop/app/__init__.py": "",
            "services/shop/app/a.py": "from . import b\n",
            "services/shop/app/b.py": "from . import a  # qualscan: expect[QS304]\n",
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        for c in m.import_cycles if m is not None else []:
            brk = c["break"]
            chain = " -> ".join(c["modules"])
            yield Hit(
                f"import cycle: {chain}; this import closes it",
                file=brk["file"],
                line=brk["line"],
                key=brk["imports"],
                details={"cycle": c["modules"]},
            )


class CrossServiceImport(ProjectRule):
    """
    ## What it does
    Reports imports of another service's code (`from services.cart.app.models import CartLine` in
    the checkout service), instead of going through a shared library or the other service's API.
    Imports of shared libraries (code owned by no service, e.g. `libs/`) are fine.

    ## Why it matters during a sales peak
    The two services now deploy together whether they know it or not: a change in the cart's
    internals breaks the checkout at import time, and scaling or rolling back one of them alone is
    no longer safe.

    ## Example
    ```python
    from services.cart.app.models import CartLine
    ```

    ## Use instead
    Call the cart's API, or move the shared model into a library both depend on.
    """

    code = "QS305"
    name = "cross-service-import"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Import reaching into another service's internals"
    VALID = (
        {
            "services/cart/requirements.txt": "",
            "services/checkout/requirements.txt": "",
            "libs/common/pyproject.toml": "",
            "libs/common/common/__init__.py": "",
            "libs/common/common/money.py": "def cents(x):\n    return int(x * 100)\n",
            "services/checkout/app.py": "from common.money import cents\n",
        },
    )
    INVALID = (
        {
            "services/cart/requirements.txt": "",
            "services/checkout/requirements.txt": "",
            "services/cart/app/__init__.py": "",
            "services/cart/app/models.py": "class CartLine:\n    pass\n",
            "services/checkout/app/__init__.py": "",
            "services/checkout/app/pricing.py": (
                "from services.cart.app.models import CartLine  # qualscan: expect[QS305]\n"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        for c in m.cross_service_imports if m is not None else []:
            yield Hit(
                f"{c['service']} imports {c['module']} from service {c['target_service']} ({c['target_file']})",
                file=c["file"],
                line=c["line"],
                target=f"{c['service']}->{c['target_service']}",
                key=c["module"],
                details={"target_service": c["target_service"], "target_file": c["target_file"]},
            )


class CrossServiceClone(ProjectRule):
    """
    ## What it does
    Reports code duplicated across services: clone groups (same normalised token sequence, so
    renamed copies count too; at least `clone_min_tokens`/`clone_min_lines` from
    `[tool.qualscan.metrics]`, default 50 tokens and 6 lines) whose occurrences belong to two or
    more services. One finding per occurrence, on its first line.

    ## Why it matters during a sales peak
    A bug fixed in one copy stays in the other: the fix for the checkout's address validation
    shipped before the event, the order service's copy still fails.

    ## Example
    The same `clean_address` function pasted into `checkout` and `order`.

    ## Use instead
    Move it into a shared library, or let one service own it behind an API.
    """

    code = "QS306"
    name = "cross-service-clone"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    summary = "Code duplicated across services"
    options: ClassVar[dict[str, Any]] = {}
    VALID = (
        {
            "services/checkout/requirements.txt": "",
            "services/order/requirements.txt": "",
            "services/checkout/app.py": _ADDRESS,
            "services/order/app.py": "def total(lines):\n    return sum(lines)\n",
        },
    )
    INVALID = (
        {
            "services/checkout/requirements.txt": "",
            "services/order/requirements.txt": "",
            "services/checkout/app.py": _ADDRESS.replace(
                "def clean_address(payload):", "def clean_address(payload):  # qualscan: expect[QS306]"
            ),
            "services/order/app.py": "import json\n\n\n"
            + _ADDRESS.replace("payload", "data").replace(
                "def clean_address(data):", "def normalise(data):  # qualscan: expect[QS306]"
            ),
        },
    )

    def check(self, ctx: ProjectContext) -> Iterator[Hit]:
        m = ctx.metrics
        for i, g in enumerate(m.clones if m is not None else []):
            if not g["cross_service"]:
                continue
            # a group of k copies gives k findings: keep each finding's text O(1), not O(k), or a
            # boilerplate helper copied into 2,000 services makes a quadratic, multi-GB report
            # (issue #8 benchmark); groups of up to _LIST_MAX copies are listed in full as before
            files = "|".join(x["file"] for x in g["occurrences"])
            if len(g["occurrences"]) > _LIST_MAX:
                files = hashlib.sha256(files.encode()).hexdigest()[:20]
            services = _capped(g["services"])
            labels = [f"{x['file']}:{x['line']}" for x in g["occurrences"]]
            order = sorted(range(len(labels)), key=labels.__getitem__)
            head = order[: _LIST_MAX + 1]  # the sorted "other copies" of any occurrence start here
            for j, o in enumerate(g["occurrences"]):
                shown = [labels[i] for i in head if i != j][:_LIST_MAX]
                more = len(labels) - 1 - len(shown)
                others = ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")
                yield Hit(
                    f"{g['lines']} lines ({g['tokens']} tokens) duplicated across services "
                    f"{services}; other copies: {others}",
                    file=o["file"],
                    line=o["line"],
                    end_line=o["end_line"],
                    key=f"clone:{g['tokens']}:{files}",
                    details={"group": i, "services": g["services"][:_LIST_MAX], "services_total": len(g["services"])}
                    if len(g["services"]) > _LIST_MAX else {"group": i, "services": g["services"]},
                )
