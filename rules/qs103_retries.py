"""QS103 no-retry, QS104 retry-without-backoff, QS105 unbounded-retry, QS106 retry-non-idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import (
    CLIENT_MODULES,
    DEFAULT_CRITICAL_NAMES,
    DEFAULT_NON_IDEMPOTENT_NAMES,
    SAFE_VERBS,
    FileCalls,
    RetryInfo,
    analyze,
    matches_names,
    retry_decorators,
    retry_mechanisms,
    site_hit,
    skip_file,
)

RETRY_TRIGGERS = CLIENT_MODULES | {"tenacity", "backoff", "retrying"}


def _all_retries(fc: FileCalls) -> dict[int, RetryInfo]:
    """Every retry mechanism of the file by line: decorators, retry loops around remote calls, urllib3 Retry."""
    out: dict[int, RetryInfo] = {}
    for func in fc.funcs.values():
        for info in retry_decorators(fc, func):
            out.setdefault(info.line, info)
    for site in fc.calls:
        if not site.remote:
            continue
        for info in retry_mechanisms(fc, site):
            if info.library in ("loop", "urllib3", "tenacity"):
                out.setdefault(info.line, info)
    for info in fc.retry_objects.values():
        out.setdefault(info.line, info)
    for client in fc.clients:
        if client.retry is not None:
            out.setdefault(client.retry.line, client.retry)
    return out


class NoRetry(PythonRule):
    """
    ## What it does
    Finds idempotent reads (HTTP GET/HEAD, gRPC `Get*`/`List*`/`Check*`...) to a journey-critical
    upstream (payment, cart, catalog, pricing, inventory... see the `critical_upstreams` option)
    that have no retry: no tenacity/backoff/retrying decorator, no retry loop, no urllib3 `Retry`
    mounted through an `HTTPAdapter`, no httpx transport with `retries=`.

    ## Why it matters during a sales peak
    At peak, transient failures (a pod being rescheduled, a connection reset by an overloaded
    proxy) become frequent. An idempotent read that fails once turns into a failed page view or
    an abandoned cart, when one retry with backoff would have succeeded.

    ## Example
    ```python
    def product(sku):
        return SESSION.get(f"http://catalog/products/{sku}", timeout=2).json()
    ```

    ## Use instead
    ```python
    @tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_random_exponential(max=1))
    def product(sku):
        return SESSION.get(f"http://catalog/products/{sku}", timeout=2).json()
    ```
    """

    code = "QS103"
    name = "no-retry"
    severity = Severity.LOW
    confidence = Confidence.LOW
    summary = "Idempotent call to a journey-critical upstream with no retry"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES
    options = {"critical_upstreams": list(DEFAULT_CRITICAL_NAMES)}

    VALID = [
        "import requests\nimport tenacity\n\n"
        "@tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_exponential())\n"
        "def product(sku):\n    return requests.get(f'http://catalog/p/{sku}', timeout=2)\n",
        "import requests\nfrom requests.adapters import HTTPAdapter\nfrom urllib3.util.retry import Retry\n\n"
        "S = requests.Session()\nS.mount('http://', HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0.2)))\n\n"
        "def product(sku):\n    return S.get(f'http://catalog/p/{sku}', timeout=2)\n",
        # a POST is not an idempotent read; an unknown upstream is not journey-critical
        "import requests\n\ndef pay(b):\n    return requests.post('http://payment/charge', json=b, timeout=2)\n",
        "import requests\n\ndef weather():\n    return requests.get('http://weather/today', timeout=2)\n",
    ]
    INVALID = [
        "import requests\n\ndef product(sku):\n"
        "    return requests.get(f'http://catalog/p/{sku}', timeout=2)  # qualscan: expect[QS103]\n",
        "import grpc\nimport demo_pb2_grpc\n\nstub = demo_pb2_grpc.CartServiceStub(grpc.insecure_channel('cart:7070'))\n\n"
        "def cart(req):\n    return stub.GetCart(req, timeout=1)  # qualscan: expect[QS103]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        names = ctx.options.get("critical_upstreams", self.options["critical_upstreams"])
        for site in fc.calls:
            if site.kind not in ("http", "grpc") or site.http_verb not in SAFE_VERBS:
                continue
            target = site.upstream or (site.client.upstream if site.client else None)
            if not matches_names(target, names):
                continue
            if retry_mechanisms(fc, site):
                continue
            yield site_hit(
                site,
                fc=fc,
                message=f"idempotent {site.callee} to {target} has no retry: one transient failure under peak "
                "load fails the user's request",
                missing="retry",
            )


class RetryWithoutBackoff(PythonRule):
    """
    ## What it does
    Finds retries that hammer the upstream: tenacity `@retry` with no `wait=` (or only
    `wait_fixed`), `retrying.retry` with a fixed wait, hand-written retry loops around a remote
    call with no sleep or a constant sleep, urllib3 `Retry(...)` with no `backoff_factor`.
    Reported on the decorator, the loop header or the `Retry(...)` call.

    ## Why it matters during a sales peak
    When an upstream is overloaded, clients retrying immediately and in lockstep multiply its
    load (a retry storm) and keep it down. Exponential backoff with jitter spreads the retries
    and gives it room to recover.

    ## Example
    ```python
    @retry(stop=stop_after_attempt(5))
    def reserve(item): ...
    ```

    ## Use instead
    ```python
    @retry(stop=stop_after_attempt(5), wait=wait_random_exponential(multiplier=0.2, max=2))
    def reserve(item): ...
    ```
    """

    code = "QS104"
    name = "retry-without-backoff"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Retry with no backoff or jitter"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = RETRY_TRIGGERS

    VALID = [
        "from tenacity import retry, stop_after_attempt, wait_random_exponential\n\n"
        "@retry(stop=stop_after_attempt(3), wait=wait_random_exponential(max=2))\ndef f():\n    pass\n",
        "import time\nimport requests\n\ndef f(url):\n    for attempt in range(3):\n        try:\n"
        "            return requests.get(url, timeout=2)\n        except requests.RequestException:\n"
        "            time.sleep(0.1 * 2 ** attempt)\n    raise RuntimeError('down')\n",
        "import backoff\nimport requests\n\n@backoff.on_exception(backoff.expo, requests.RequestException, max_tries=4)\n"
        "def f(url):\n    return requests.get(url, timeout=2)\n",
    ]
    INVALID = [
        "from tenacity import retry, stop_after_attempt\n\n"
        "@retry(stop=stop_after_attempt(5))  # qualscan: expect[QS104]\ndef f():\n    pass\n",
        "import requests\n\ndef f(url):\n    for attempt in range(3):  # qualscan: expect[QS104]\n        try:\n"
        "            return requests.get(url, timeout=2)\n        except requests.RequestException:\n"
        "            continue\n    raise RuntimeError('down')\n",
        "from urllib3.util.retry import Retry\n\nRETRY = Retry(total=5)  # qualscan: expect[QS104]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        for line, info in sorted(_all_retries(fc).items()):
            if not info.has_backoff:
                yield Hit(
                    message=f"{info.library} retry with no backoff or jitter: retries hit an overloaded "
                    "upstream all at once (retry storm)",
                    line=line,
                    key=f"{info.library}-retry",
                    details={"retry": info.library},
                )


class UnboundedRetry(PythonRule):
    """
    ## What it does
    Finds retries with no limit: tenacity `@retry` with no `stop=`, `backoff.on_exception` with
    neither `max_tries` nor `max_time`, `retrying.retry` with no `stop_max_*`, a `while True` loop
    that retries a remote call until it succeeds, urllib3 `Retry(total=None)`. Reported on the
    decorator or the loop header.

    ## Why it matters during a sales peak
    A request that retries forever never fails fast: it holds its worker, its DB connection and
    the user's browser while the upstream is down, and every new request joins it. The service
    runs out of workers and the outage spreads upstream.

    ## Example
    ```python
    while True:
        try:
            return requests.get(STOCK_URL, timeout=2).json()
        except requests.RequestException:
            time.sleep(1)
    ```

    ## Use instead
    ```python
    for attempt in range(3):
        try:
            return requests.get(STOCK_URL, timeout=2).json()
        except requests.RequestException:
            time.sleep(0.2 * 2 ** attempt)
    raise StockUnavailable()
    ```
    """

    code = "QS105"
    name = "unbounded-retry"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "Retry with no limit"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = RETRY_TRIGGERS

    VALID = [
        "from tenacity import retry, stop_after_attempt, wait_exponential\n\n"
        "@retry(stop=stop_after_attempt(3), wait=wait_exponential())\ndef f():\n    pass\n",
        "import backoff\n\n@backoff.on_exception(backoff.expo, ValueError, max_time=10)\ndef f():\n    pass\n",
        # a consumer loop is not a retry loop
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef run():\n    while True:\n"
        "        item = R.blpop('q', timeout=1)\n        handle(item)\n",
    ]
    INVALID = [
        "from tenacity import retry, wait_exponential\n\n"
        "@retry(wait=wait_exponential())  # qualscan: expect[QS105]\ndef f():\n    pass\n",
        "import backoff\nimport requests\n\n"
        "@backoff.on_exception(backoff.expo, requests.RequestException)  # qualscan: expect[QS105]\n"
        "def f(url):\n    return requests.get(url, timeout=2)\n",
        "import random\nimport time\nimport requests\n\ndef stock(url):\n    while True:  # qualscan: expect[QS105]\n        try:\n"
        "            return requests.get(url, timeout=2).json()\n        except requests.RequestException:\n"
        "            time.sleep(random.random())\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        for line, info in sorted(_all_retries(fc).items()):
            if not info.has_stop:
                yield Hit(
                    message=f"{info.library} retry with no limit: while the upstream is down each "
                    "request keeps its worker forever",
                    line=line,
                    key=f"{info.library}-retry",
                    details={"retry": info.library},
                )


class RetryNonIdempotent(PythonRule):
    """
    ## What it does
    Finds POST/PUT/PATCH calls (and non-read gRPC methods) to payment, order or checkout
    upstreams (the `non_idempotent_upstreams` option) that are retried -- by a decorator, a retry
    loop, or a urllib3 `Retry` whose `allowed_methods` includes the method -- without an
    idempotency key (no `Idempotency-Key` header or `idempotency_key` argument in the call or the
    function around it).

    ## Why it matters during a sales peak
    Under load, a request often succeeds on the server after the client timed out. Retrying a
    charge or an order creation without an idempotency key then charges the customer twice or
    creates duplicate orders -- exactly when support is busiest.

    ## Example
    ```python
    @retry(stop=stop_after_attempt(3), wait=wait_exponential())
    def charge(order):
        return requests.post(f"{PAYMENT}/charges", json=order.payment, timeout=5)
    ```

    ## Use instead
    ```python
    @retry(stop=stop_after_attempt(3), wait=wait_exponential())
    def charge(order):
        return requests.post(f"{PAYMENT}/charges", json=order.payment, timeout=5,
                             headers={"Idempotency-Key": order.token})
    ```
    """

    code = "QS106"
    name = "retry-non-idempotent"
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    summary = "Retried non-idempotent call to payment/order with no idempotency key"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES
    options = {"non_idempotent_upstreams": list(DEFAULT_NON_IDEMPOTENT_NAMES)}

    VALID = [
        "import requests\nfrom tenacity import retry, stop_after_attempt, wait_exponential\n\n"
        "@retry(stop=stop_after_attempt(3), wait=wait_exponential())\ndef charge(o):\n"
        "    return requests.post('http://payment/charges', json=o, timeout=5, headers={'Idempotency-Key': o['id']})\n",
        "import requests\n\ndef charge(o):\n    return requests.post('http://payment/charges', json=o, timeout=5)\n",
    ]
    INVALID = [
        "import requests\nfrom tenacity import retry, stop_after_attempt, wait_exponential\n\n"
        "@retry(stop=stop_after_attempt(3), wait=wait_exponential())\ndef charge(o):\n"
        "    return requests.post('http://payment/charges', json=o, timeout=5)  # qualscan: expect[QS106]\n",
        "import requests\nfrom requests.adapters import HTTPAdapter\nfrom urllib3.util.retry import Retry\n\n"
        "S = requests.Session()\nS.mount('http://', HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0.5, allowed_methods=['GET', 'POST'])))\n\n"
        "def place(o):\n    return S.post('http://order/orders', json=o, timeout=5)  # qualscan: expect[QS106]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        names = ctx.options.get("non_idempotent_upstreams", self.options["non_idempotent_upstreams"])
        for site in fc.calls:
            if site.kind not in ("http", "grpc") or site.http_verb not in ("POST", "PUT", "PATCH"):
                continue
            target = site.upstream or (site.client.upstream if site.client else None)
            if not matches_names(target, names) and not matches_names(site.method, names):
                continue
            retries = []
            for info in retry_mechanisms(fc, site):
                if info.library == "httpx":
                    continue  # httpx transports retry connection failures only
                if info.library == "urllib3" and (
                    info.methods is None or not ({site.http_verb, "*"} & set(info.methods))
                ):
                    continue
                retries.append(info)
            if not retries:
                continue
            func = site.func
            context = fc.code(func.node) if func is not None else fc.code(site.node)
            if "idempot" in context.lower():
                continue
            yield site_hit(
                site,
                fc=fc,
                message=f"{site.http_verb} {site.callee} to {target} is retried ({retries[0].library}, line "
                f"{retries[0].line}) with no idempotency key: a retry after a timeout can charge or "
                "order twice",
                retry=retries[0].library,
            )
