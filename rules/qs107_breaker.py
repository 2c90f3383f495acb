"""QS107 no-circuit-breaker and QS108 remote-call-in-transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from qualscan.engine.lazy import lazy_module
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import (
    CLIENT_MODULES,
    DEFAULT_CRITICAL_NAMES,
    TRANSACTION_CALLS,
    CallSite,
    FileCalls,
    FuncFrame,
    WithFrame,
    analyze,
    caller_is_critical,
    decorator_call,
    dotted,
    fallback_around,
    has_breaker,
    matches_names,
    site_hit,
    skip_file,
)

if TYPE_CHECKING:
    import libcst as cst
else:
    cst = lazy_module("libcst", globals(), "cst")  # imported on first use: see _calls

DEFAULT_NON_CRITICAL = (
    "recommend",
    "review",
    "rating",
    "ad",
    "ads",
    "advert",
    "email",
    "mail",
    "notification",
    "notify",
    "analytics",
    "tracking",
    "marketing",
    "loyalty",
    "wishlist",
    "personaliz",
    "suggest",
    "feedback",
    "survey",
    "newsletter",
    "social",
    "assistant",
)


class NoCircuitBreaker(PythonRule):
    """
    ## What it does
    Finds calls from a journey-critical service (on a configured journey, marked `critical`, or
    named like one: checkout, cart, payment...) to a non-critical dependency (recommendations,
    reviews, ads, email, analytics... the `non_critical_upstreams` option) that have neither a
    circuit breaker (pybreaker, circuitbreaker, aiobreaker, purgatory: decorator, `with` block or
    `breaker.call(func)`) nor a fallback (a `try/except` that returns or sets a default).

    ## Why it matters during a sales peak
    A recommendation widget is optional; the checkout is not. Without a breaker or a fallback, a
    slow or failing optional service makes every checkout request slow or failing too.

    ## Example
    ```python
    def checkout_page(cart):
        recos = RECO.ListRecommendations(req, timeout=1)
        return render(cart, recos)
    ```

    ## Use instead
    ```python
    @reco_breaker  # pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
    def recommendations(req):
        try:
            return RECO.ListRecommendations(req, timeout=1)
        except grpc.RpcError:
            return EMPTY
    ```
    """

    code = "QS107"
    name = "no-circuit-breaker"
    severity = Severity.MEDIUM
    confidence = Confidence.LOW
    summary = "Critical service calls a non-critical dependency with no breaker or fallback"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES
    options = {
        "critical_services": list(DEFAULT_CRITICAL_NAMES),
        "non_critical_upstreams": list(DEFAULT_NON_CRITICAL),
    }
    example_path = "checkout/app.py"

    VALID = [
        "import pybreaker\nimport requests\n\nreco_breaker = pybreaker.CircuitBreaker(fail_max=5)\n\n"
        "@reco_breaker\ndef recos(uid):\n    return requests.get(f'http://recommendation/u/{uid}', timeout=1).json()\n",
        "import requests\n\ndef recos(uid):\n    try:\n"
        "        return requests.get(f'http://recommendation/u/{uid}', timeout=1).json()\n"
        "    except requests.RequestException:\n        return []\n",
        # a critical dependency is not the subject of this rule
        "import requests\n\ndef pay(o):\n    return requests.post('http://payment/charge', json=o, timeout=3)\n",
    ]
    INVALID = [
        "import requests\n\ndef recos(uid):\n"
        "    return requests.get(f'http://recommendation/u/{uid}', timeout=1).json()  # qualscan: expect[QS107]\n",
        "import grpc\nimport demo_pb2_grpc\n\nADS = demo_pb2_grpc.AdServiceStub(grpc.insecure_channel('adservice:9555'))\n\n"
        "def ads(req):\n    return ADS.GetAds(req, timeout=0.5)  # qualscan: expect[QS107]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        opts = {**self.options, **ctx.options}
        if not caller_is_critical(ctx, opts["critical_services"]) and not matches_names(
            ctx.path.split("/")[0], opts["critical_services"]
        ):
            return
        fc = analyze(ctx)
        for site in fc.calls:
            if site.kind not in ("http", "grpc"):
                continue
            target = site.upstream or (site.client.upstream if site.client else None)
            if not matches_names(target, opts["non_critical_upstreams"]):
                continue
            if matches_names(target, opts["critical_services"]):
                continue
            if has_breaker(fc, site) or fallback_around(fc, site):
                continue
            source = ctx.service or ctx.path.split("/")[0]
            yield site_hit(
                site,
                fc=fc,
                message=f"{source} -> {target}: no circuit breaker and no fallback around {site.callee}; a slow "
                f"{target} slows every {source} request",
                missing="breaker",
            )


def _transaction_frames(fc: FileCalls, site: CallSite) -> list[int]:
    """Lines of the transactions (with blocks or @atomic functions) the call runs in."""
    lines: list[int] = []
    for frame in site.stack:
        if isinstance(frame, WithFrame):
            for item in frame.items:
                call = item if isinstance(item, cst.Call) else None
                target = call.func if call is not None else item
                names = fc.qualified(target)
                if names & TRANSACTION_CALLS or isinstance(target, cst.Attribute) and call is not None and target.attr.value in (
                    "begin",
                    "begin_nested",
                    "transaction",
                    "atomic",
                ):
                    lines.append(frame.line)
                elif call is None:
                    name = dotted(item)
                    if name and _is_db_connection(fc, name):
                        lines.append(frame.line)
        elif isinstance(frame, FuncFrame):
            for dec in frame.decorators:
                target, _call = decorator_call(dec)
                if fc.qualified(target) & TRANSACTION_CALLS:
                    lines.append(frame.line)
    return lines


def _is_db_connection(fc: FileCalls, name: str) -> bool:
    return any(c.kind == "db" and c.node is not None and name in fc.code(c.node) for c in fc.clients) or any(
        s.kind == "db" and fc.code(s.node.func).startswith(name + ".") for s in fc.calls
    )


class RemoteCallInTransaction(PythonRule):
    """
    ## What it does
    Finds remote calls (HTTP, gRPC, broker publish, AWS) made inside a database transaction:
    `with transaction.atomic():`, a function decorated with `@transaction.atomic`, SQLAlchemy
    `with session.begin():` / `engine.begin()`, or `with conn:` on a DB-API connection.

    ## Why it matters during a sales peak
    The transaction keeps its row locks and its pooled connection for as long as the remote call
    takes. When the upstream slows down at peak, locks pile up (deadlocks, lock wait timeouts)
    and the DB connection pool runs dry for every other request.

    ## Example
    ```python
    with transaction.atomic():
        order.save()
        requests.post(PAYMENT_URL, json=payload, timeout=5)
    ```

    ## Use instead
    ```python
    payment = requests.post(PAYMENT_URL, json=payload, timeout=5)
    with transaction.atomic():
        order.mark_paid(payment)
    ```
    """

    code = "QS108"
    name = "remote-call-in-transaction"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    summary = "Remote call inside a database transaction"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES

    VALID = [
        "import requests\nfrom django.db import transaction\n\ndef place(order):\n"
        "    r = requests.post('http://payment/charge', json={}, timeout=3)\n"
        "    with transaction.atomic():\n        order.save()\n",
    ]
    INVALID = [
        "import requests\nfrom django.db import transaction\n\ndef place(order):\n"
        "    with transaction.atomic():\n        order.save()\n"
        "        requests.post('http://payment/charge', json={}, timeout=3)  # qualscan: expect[QS108]\n",
        "import requests\nfrom django.db import transaction\n\n@transaction.atomic\ndef place(order):\n"
        "    order.save()\n    requests.post('http://payment/charge', json={}, timeout=3)  # qualscan: expect[QS108]\n",
        "import boto3\nfrom botocore.config import Config\n\nSQS = boto3.client('sqs', config=Config(read_timeout=2))\n\n"
        "def place(session, order):\n    with session.begin():\n        session.add(order)\n"
        "        SQS.send_message(QueueUrl='orders', MessageBody='x')  # qualscan: expect[QS108]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        for site in fc.calls:
            if site.kind not in ("http", "grpc", "kafka", "amqp", "pubsub", "aws", "broker"):
                continue
            lines = _transaction_frames(fc, site)
            if lines:
                yield site_hit(
                    site,
                    fc=fc,
                    message=f"{site.callee} to {site.upstream or site.kind} inside the transaction opened on line "
                    f"{lines[-1]}: locks and a DB connection are held while waiting on the network",
                    transaction_line=lines[-1],
                )
