"""QS113 dual-write: publish after commit with no outbox (best effort)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from qualscan.engine.lazy import lazy_module
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import (
    CLIENT_MODULES,
    TRANSACTION_CALLS,
    FileCalls,
    FuncFrame,
    WithFrame,
    analyze,
    site_hit,
    skip_file,
)

if TYPE_CHECKING:
    import libcst as cst
else:
    cst = lazy_module("libcst", globals(), "cst")  # imported on first use: see _calls

COMMIT_METHODS = {"commit", "save", "bulk_create", "create", "update_or_create", "get_or_create", "flush"}


def _commit_before(fc: FileCalls, func: FuncFrame, line: int, site_stack: tuple[object, ...]) -> int | None:
    """Line of the last database write (or transaction block) in ``func`` before ``line``."""
    best: int | None = None
    for raw in fc.raw:
        if raw.line >= line:
            continue
        owner = next((f for f in reversed(raw.stack) if isinstance(f, FuncFrame)), None)
        if owner is None or owner.node is not func.node:
            continue
        call = raw.node
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in COMMIT_METHODS:
            text = fc.code(call.func)
            if call.func.attr.value in ("create", "get_or_create", "update_or_create", "bulk_create") and (
                ".objects" not in text and "session" not in text.lower()
            ):
                continue
            best = raw.line
        elif (
            raw.qnames & TRANSACTION_CALLS
            or (isinstance(call.func, cst.Attribute) and call.func.attr.value in ("begin", "begin_nested"))
        ) and not any(isinstance(f, WithFrame) and any(item is call for item in f.items) for f in site_stack):
            # a transaction block: counts when the publish runs after it, not inside it
            best = raw.line
    return best


class DualWrite(PythonRule):
    """
    ## What it does
    Finds a broker publish (Kafka, AMQP, Pub/Sub, SNS/SQS, Redis `publish`/`xadd`) that follows a
    database write in the same function -- a `.commit()`, `.save()`, `objects.create()`, or the
    end of a `with transaction.atomic()` block -- in a module that never mentions an outbox.
    Best effort: it does not follow calls into other functions.

    ## Why it matters during a sales peak
    The two writes are not atomic. When the broker is slow or the process is killed between them
    (autoscaling, OOM at peak), the order exists but the `OrderPlaced` event is lost: no
    confirmation e-mail, no fulfilment, stock never decremented. Or the reverse when the publish
    happens first.

    ## Example
    ```python
    order.save()
    producer.send("orders", order.to_event())
    ```

    ## Use instead
    ```python
    with transaction.atomic():
        order.save()
        OutboxEvent.objects.create(topic="orders", payload=order.to_event())
    # a relay process publishes outbox rows and marks them sent
    ```
    """

    code = "QS113"
    name = "dual-write"
    severity = Severity.MEDIUM
    confidence = Confidence.LOW
    summary = "Publish after commit with no outbox (dual write)"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES

    VALID = [
        # publishing inside the transaction is QS108's business, not a publish after commit
        "from sqlalchemy.orm import sessionmaker\n\nfrom .events import producer\n\nSession = sessionmaker()\n\n"
        "def place(order):\n    with Session.begin() as s:\n        s.add(order)\n"
        "        producer.send('orders', value=order.id)\n",
        "from kafka import KafkaProducer\n\nP = KafkaProducer()\n\ndef place(order):\n"
        "    order.save()\n    OutboxEvent.objects.create(topic='orders', payload=order.id)\n",
        "from kafka import KafkaProducer\n\nP = KafkaProducer()\n\ndef ping():\n    P.send('pings', b'x')\n",
    ]
    INVALID = [
        "from kafka import KafkaProducer\n\nP = KafkaProducer()\n\ndef place(order):\n    order.save()\n"
        "    P.send('orders', value=order.id)  # qualscan: expect[QS113]\n",
        "import pika\nfrom django.db import transaction\n\nch = pika.BlockingConnection().channel()\n\n"
        "def place(order):\n    with transaction.atomic():\n        order.save()\n"
        "    ch.basic_publish(exchange='', routing_key='orders', body=b'x')  # qualscan: expect[QS113]\n",
        # the producer comes from another module: recognised by its name
        "from sqlalchemy.orm import sessionmaker\n\nfrom .events import producer\n\nSession = sessionmaker()\n\n"
        "def place(order):\n    with Session.begin() as s:\n        s.add(order)\n"
        "    producer.send('orders', value=order.id)  # qualscan: expect[QS113]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        if "outbox" in ctx.text.lower():
            return
        for site in fc.calls:
            if not site.is_publish:
                continue
            func = site.func
            if func is None:
                continue
            commit_line = _commit_before(fc, func, site.line, site.stack)
            if commit_line is None:
                continue
            yield site_hit(
                site,
                fc=fc,
                message=f"{site.callee} to {site.upstream or site.kind} after the database write on line {commit_line}: "
                "the two are not atomic (dual write); use a transactional outbox",
                commit_line=commit_line,
            )
