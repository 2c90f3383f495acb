"""QS109 remote-call-in-loop and QS116 publish-per-item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from qualscan.engine.lazy import lazy_module
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import (
    CLIENT_MODULES,
    CallSite,
    FileCalls,
    LoopFrame,
    analyze,
    dotted,
    iter_root,
    loop_facts,
    site_hit,
    skip_file,
)

if TYPE_CHECKING:
    import libcst as cst
else:
    cst = lazy_module("libcst", globals(), "cst")  # imported on first use: see _calls

REQUEST_WORDS = ("request", "payload", "data", "items", "lines", "ids", "cart", "order", "basket", "skus", "products")


def _is_request_data(fc: FileCalls, site: CallSite, loop: LoopFrame) -> bool:
    it = loop.iter_node
    if it is None:
        return False
    if isinstance(it, cst.Call) and dotted(it.func) == "range":
        args = [a for a in it.args if not a.star]
        if all(isinstance(a.value, cst.Integer) for a in args):
            return False  # range(3): a fixed count, not request data
    root = iter_root(it)
    func = site.func
    if root is not None and func is not None and root in func.params and root not in ("self", "cls"):
        return True
    text = fc.code(it).lower()
    return any(w in text for w in REQUEST_WORDS) or ".objects." in text or ".all()" in text


def _fanout_loop(fc: FileCalls, site: CallSite) -> LoopFrame | None:
    for loop in site.loops:
        if loop.kind == "while":
            continue
        if loop.kind == "for" and loop_facts(fc, loop)["retry"]:
            continue
        return loop
    return None


class RemoteCallInLoop(PythonRule):
    """
    ## What it does
    Finds remote calls (HTTP, gRPC, Redis, AWS) made once per element of a loop or comprehension
    over request data: a parameter of the function, the request/cart/order/ids being processed,
    or a queryset. Loops over a fixed `range(3)` and retry loops are not fan-out.

    ## Why it matters during a sales peak
    N+1 calls multiply the load on the upstream by the size of the cart or the page: a customer
    with 40 items makes 40 calls, and at 10x traffic the upstream sees 400x. Latency adds up per
    item, so the biggest (most valuable) carts time out first.

    ## Example
    ```python
    def cart_total(item_ids):
        return sum(requests.get(f"{PRICING}/price/{i}", timeout=1).json()["price"] for i in item_ids)
    ```

    ## Use instead
    ```python
    def cart_total(item_ids):
        prices = requests.post(f"{PRICING}/prices", json={"ids": item_ids}, timeout=1).json()
        return sum(p["price"] for p in prices)
    ```
    """

    code = "QS109"
    name = "remote-call-in-loop"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Remote call inside a loop over request data (N+1 fan-out)"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES

    VALID = [
        "import requests\n\ndef prices(ids):\n    return requests.post('http://pricing/prices', json=ids, timeout=1)\n",
        "import time\nimport requests\n\ndef f(url):\n    for attempt in range(3):\n        try:\n"
        "            return requests.get(url, timeout=2)\n        except requests.RequestException:\n"
        "            time.sleep(2 ** attempt)\n",
    ]
    INVALID = [
        "import requests\n\ndef cart_total(item_ids):\n    total = 0\n    for i in item_ids:\n"
        "        total += requests.get(f'http://pricing/price/{i}', timeout=1).json()['price']  # qualscan: expect[QS109]\n"
        "    return total\n",
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef stock(request):\n"
        "    return [R.get(f'stock:{sku}') for sku in request.skus]  # qualscan: expect[QS109]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        for site in fc.calls:
            if site.kind not in ("http", "grpc", "redis", "aws") or site.is_publish:
                continue
            loop = _fanout_loop(fc, site)
            if loop is None or not _is_request_data(fc, site, loop):
                continue
            yield site_hit(
                site,
                fc=fc,
                message=f"{site.callee} to {site.upstream or site.kind} runs once per element of "
                f"`{fc.code(loop.iter_node)[:60] if loop.iter_node is not None else 'the loop'}` (line {loop.line}): "
                "batch it or fetch in one call",
                loop_line=loop.line,
            )


class PublishPerItem(PythonRule):
    """
    ## What it does
    Finds broker publishes (Kafka `send`/`produce`, pika `basic_publish`, Google Pub/Sub
    `publish`, SNS `publish`, SQS `send_message`, Redis `publish`/`xadd`) made once per element
    of a loop or comprehension.

    ## Why it matters during a sales peak
    One message per item turns a 50-line order into 50 broker round trips; at peak the producer
    blocks on its buffer, the request latency grows with the order size, and a failure half-way
    leaves a partial set of events.

    ## Example
    ```python
    for line in order.lines:
        producer.send("order-lines", value=line.to_json())
    ```

    ## Use instead
    ```python
    producer.send("orders", value=order.to_json())  # one event, or a batch API (send_message_batch)
    ```
    """

    code = "QS116"
    name = "publish-per-item"
    severity = Severity.LOW
    confidence = Confidence.MEDIUM
    summary = "One broker publish per item in a loop"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES

    VALID = [
        "from kafka import KafkaProducer\n\nP = KafkaProducer(bootstrap_servers='kafka:9092')\n\n"
        "def emit(order):\n    P.send('orders', value=order)\n",
    ]
    INVALID = [
        "from kafka import KafkaProducer\n\nP = KafkaProducer(bootstrap_servers='kafka:9092')\n\n"
        "def emit(order):\n    for line in order['lines']:\n"
        "        P.send('order-lines', value=line)  # qualscan: expect[QS116]\n",
        "import pika\n\nconn = pika.BlockingConnection(pika.ConnectionParameters('rabbit'))\nch = conn.channel()\n\n"
        "def notify(users):\n    for u in users:\n"
        "        ch.basic_publish(exchange='', routing_key='mail', body=u)  # qualscan: expect[QS116]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        for site in fc.calls:
            if not site.is_publish:
                continue
            loop = _fanout_loop(fc, site)
            if loop is None:
                continue
            yield site_hit(
                site,
                fc=fc,
                message=f"one {site.callee} to {site.upstream or site.kind} per element of the loop on line "
                f"{loop.line}: publish one event or use a batch API",
                loop_line=loop.line,
            )
