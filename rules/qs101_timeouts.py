"""QS101 no-timeout and QS102 timeout-over-budget."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from qualscan.engine.fix import KeywordEdit
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import CLIENT_MODULES, analyze, client_hit, service_budget, site_hit, skip_file

_CTOR_ADVICE = {
    "aiohttp": "pass timeout=aiohttp.ClientTimeout(total=...)",
    "urllib3": "pass timeout=urllib3.Timeout(connect=..., read=...)",
    "redis": "pass socket_timeout=... (and socket_connect_timeout=...)",
    "redis.asyncio": "pass socket_timeout=... (and socket_connect_timeout=...)",
    "boto3": "pass config=botocore.config.Config(connect_timeout=..., read_timeout=...)",
    "pika": "set blocked_connection_timeout=... in the ConnectionParameters (a broker alarm blocks publishers forever)",
    "httpx": "pass timeout=httpx.Timeout(...) instead of None",
}


class NoTimeout(PythonRule):
    """
    ## What it does
    Finds remote calls that can wait forever: `requests` calls and `requests.Session` calls with no
    `timeout=`, any call with `timeout=None`, `urlopen` without a timeout, gRPC stub calls with no
    `timeout=`, and clients built without a default timeout: `aiohttp.ClientSession` without a
    `ClientTimeout`, urllib3 `PoolManager` without `timeout=`, redis clients without
    `socket_timeout`, boto3 clients without a botocore `Config` setting timeouts, `httpx` clients
    with `timeout=None`, Kafka producers' `flush()` with no timeout (it waits forever), pika
    connections whose parameters have no `blocked_connection_timeout`. Calls are recognised through imports, aliases, and objects kept in
    variables, attributes, module globals or returned by a factory of the same module. A
    `Session` subclass or an adapter that sets a default timeout counts as a timeout.

    ## Why it matters during a sales peak
    When an upstream slows down under peak traffic, every call without a timeout keeps a worker,
    a thread and a connection busy until the socket gives up (minutes, or never). The pool drains
    and the caller fails too: one slow dependency takes the whole checkout down.

    ## Example
    ```python
    import requests

    def get_price(sku):
        return requests.get(f"http://pricing/{sku}").json()
    ```

    ## Use instead
    ```python
    import requests

    def get_price(sku):
        return requests.get(f"http://pricing/{sku}", timeout=2).json()
    ```
    `qualscan fix --rule QS101` adds the configured default timeout (`[tool.qualscan.fix]
    default_timeout`) to the calls and constructors it can fix.
    """

    code = "QS101"
    name = "no-timeout"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    summary = "Remote call or client with no timeout (or timeout=None)"
    needs_libcst = True
    fixable = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES

    VALID = [
        "import requests\n\ndef f(url):\n    return requests.get(url, timeout=3)\n",
        # a Session subclass that sets a default timeout
        "import requests\n\n"
        "class TimeoutSession(requests.Session):\n"
        "    def request(self, *args, **kwargs):\n"
        "        kwargs.setdefault('timeout', 5)\n"
        "        return super().request(*args, **kwargs)\n\n"
        "SESSION = TimeoutSession()\n\n"
        "def f():\n    return SESSION.get('http://payment/health')\n",
        # httpx clients have a 5 s default; explicit values are fine too
        "import httpx\n\nCLIENT = httpx.Client(timeout=10)\nACLIENT = httpx.AsyncClient(timeout=httpx.Timeout(10))\n\n"
        "async def f():\n    CLIENT.get('http://cart/x')\n    await ACLIENT.get('http://cart/y')\n",
        # a wrapper passing **kwargs: the timeout is decided elsewhere
        "import requests\n\ndef call(url, **kwargs):\n    return requests.get(url, **kwargs)\n",
        "import aiohttp\n\nasync def f():\n"
        "    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:\n"
        "        await s.get('http://reco/x')\n",
        "import redis\n\nR = redis.Redis(host='cache', socket_timeout=0.5)\n\ndef f():\n    return R.get('k')\n",
        "import boto3\nfrom botocore.config import Config\n\n"
        "S3 = boto3.client('s3', config=Config(connect_timeout=2, read_timeout=5))\n",
        "import grpc\nimport demo_pb2_grpc\n\n"
        "def f(req):\n    stub = demo_pb2_grpc.PaymentServiceStub(grpc.insecure_channel('payment:50051'))\n"
        "    return stub.Charge(req, timeout=2)\n",
        "import pika\n\nPARAMS = pika.ConnectionParameters('rabbit', blocked_connection_timeout=5)\n"
        "conn = pika.BlockingConnection(PARAMS)\n",
        "from confluent_kafka import Producer\n\nP = Producer({})\n\ndef f():\n    P.flush(5)\n",
        # an object whose origin is unknown is never reported
        "import requests\nfrom .clients import make_session\n\nS = make_session()\n\ndef f():\n    return S.get('http://x')\n",
    ]
    INVALID = [
        "import requests\n\ndef f(sku):\n"
        "    return requests.get(f'http://pricing/{sku}')  # qualscan: expect[QS101]\n",
        "from requests import post as send\n\ndef pay(body):\n"
        "    send('http://payment/charge', json=body, timeout=None)  # qualscan: expect[QS101]\n",
        "import requests\n\nclass Api:\n    def __init__(self):\n        self.session = requests.Session()\n\n"
        "    def cart(self, cid):\n        return self.session.get(f'http://cart/{cid}')  # qualscan: expect[QS101]\n",
        "import aiohttp\n\nasync def f():\n"
        "    async with aiohttp.ClientSession() as s:  # qualscan: expect[QS101]\n"
        "        await s.get('http://reco/x')\n",
        "import redis\n\nR = redis.Redis(host='cache')  # qualscan: expect[QS101]\n\ndef f():\n    return R.get('k')\n",
        "import boto3\n\nS3 = boto3.client('s3')  # qualscan: expect[QS101]\n",
        "from urllib.request import urlopen\n\ndef f():\n    return urlopen('http://stock/x').read()  # qualscan: expect[QS101]\n",
        "import grpc\nimport demo_pb2_grpc\n\nchannel = grpc.insecure_channel('productcatalog:3550')\n"
        "catalog = demo_pb2_grpc.ProductCatalogServiceStub(channel)\n\n"
        "def f(req):\n    return catalog.ListProducts(req)  # qualscan: expect[QS101]\n",
        "import httpx\n\nCLIENT = httpx.Client(timeout=None)  # qualscan: expect[QS101]\n\n"
        "def f():\n    return CLIENT.get('http://cart/x')\n",
        "import urllib3\n\nHTTP = urllib3.PoolManager()  # qualscan: expect[QS101]\n\n"
        "def f():\n    return HTTP.request('GET', 'http://shipping/quote')\n",
        "from confluent_kafka import Producer\n\nP = Producer({'bootstrap.servers': 'kafka:9092'})\n\n"
        "def emit(order):\n    P.produce('orders', order)\n    P.flush()  # qualscan: expect[QS101]\n",
        "import pika\n\nconn = pika.BlockingConnection(pika.ConnectionParameters('rabbit'))  # qualscan: expect[QS101]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        for hit, _edit in self._findings(ctx, None):
            yield hit

    @classmethod
    def fixes(cls, ctx: PythonFileContext, options: Mapping[str, Any]) -> Iterator[KeywordEdit]:
        """The autofix: an explicit timeout of ``options["default_timeout"]`` seconds."""
        seconds = float(options.get("default_timeout", 5.0))
        for _hit, edit in cls._findings(ctx, seconds):
            if edit is not None:
                yield edit

    @classmethod
    def _findings(cls, ctx: PythonFileContext, seconds: float | None) -> Iterator[tuple[Hit, KeywordEdit | None]]:
        fc = analyze(ctx)
        value = f"{seconds:g}" if seconds is not None else "5"
        for site in fc.calls:
            if site.kind not in ("http", "grpc") and not (site.kind == "kafka" and site.method == "flush"):
                continue
            if site.timeout in ("missing", "none"):
                what = "timeout=None" if site.timeout == "none" else "no timeout"
                hit = site_hit(
                    site,
                    fc=fc,
                    message=f"{site.callee} to {site.upstream or site.kind} has {what}: a slow upstream holds "
                    "this worker until the socket gives up",
                    missing="timeout",
                    fixable=True,
                )
                yield hit, KeywordEdit(site.node, {"timeout": value})
        module_imports_aiohttp = "import aiohttp" in ctx.text
        for client in fc.clients:
            if client.default_timeout not in ("missing", "none"):
                continue
            if client.kind == "http" and client.library in ("requests",):
                continue  # requests sessions have no default: each call is checked instead
            if client.kind not in ("http", "redis", "aws", "amqp-connection"):
                continue
            if client.kind == "http" and client.library in ("aiohttp", "urllib3"):
                own = [s for s in fc.calls if s.client is client]
                if own and all(s.timeout in ("value", "unknown") for s in own):
                    continue  # every call passes its own timeout
            advice = _CTOR_ADVICE.get(client.library, "set a timeout")
            what = "timeout=None" if client.default_timeout == "none" else "no timeout"
            edit: KeywordEdit | None = None
            if client.node is not None and client.fixable:
                if client.library == "aiohttp":
                    if module_imports_aiohttp:
                        edit = KeywordEdit(client.node, {"timeout": f"aiohttp.ClientTimeout(total={value})"})
                elif client.kind == "redis":
                    edit = KeywordEdit(client.node, {"socket_timeout": value, "socket_connect_timeout": value})
                elif client.library in ("urllib3", "httpx"):
                    edit = KeywordEdit(client.node, {"timeout": value})
                elif client.kind == "amqp-connection" and client.fix_node is not None:
                    edit = KeywordEdit(client.fix_node, {"blocked_connection_timeout": value})
            hit = client_hit(
                client,
                f"{client.ctor} client for {client.upstream or client.kind} built with {what}: {advice}",
                missing="timeout",
                fixable=edit is not None,
            )
            yield hit, edit


class TimeoutOverBudget(PythonRule):
    """
    ## What it does
    Finds timeouts longer than the journey budget: the `budget_s` of the journey the service is on
    (from `[tool.qualscan.journeys]`), else `critical_budget_s` (10 s) for a service on a journey
    or marked critical, else `max_timeout_s` (30 s). Reads literal numbers, module constants,
    `(connect, read)` tuples, `httpx.Timeout`, `aiohttp.ClientTimeout`, redis `socket_timeout` and
    botocore `Config` timeouts.

    ## Why it matters during a sales peak
    A 60-second timeout on a call inside a checkout request that users abandon after 10 seconds
    only keeps workers busy for requests nobody waits for. Under peak load the time spent waiting
    multiplies the threads needed and the service saturates.

    ## Example
    ```python
    requests.post(PAYMENT_URL, json=body, timeout=120)
    ```

    ## Use instead
    ```python
    requests.post(PAYMENT_URL, json=body, timeout=(1, 5))  # connect, read: within the budget
    ```
    """

    code = "QS102"
    name = "timeout-over-budget"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Timeout longer than the journey budget"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES
    options = {"max_timeout_s": 30.0, "critical_budget_s": 10.0}

    VALID = [
        "import requests\n\ndef f(url):\n    return requests.get(url, timeout=(2, 5))\n",
        "import httpx\n\nC = httpx.Client(timeout=httpx.Timeout(10))\n",
        "import requests\n\nT = 3\n\ndef f(url):\n    return requests.get(url, timeout=T * 2)\n",
    ]
    INVALID = [
        "import requests\n\ndef f(url):\n    return requests.post(url, json={}, timeout=120)  # qualscan: expect[QS102]\n",
        "import requests\n\nPAYMENT_TIMEOUT = 90\n\ndef f(url):\n"
        "    return requests.post(url, timeout=(3, PAYMENT_TIMEOUT))  # qualscan: expect[QS102]\n",
        "import aiohttp\n\nasync def f():\n"
        "    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as s:  # qualscan: expect[QS102]\n"
        "        await s.get('http://reco/x')\n",
        "import redis\n\nR = redis.Redis(host='cache', socket_timeout=60)  # qualscan: expect[QS102]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        budget = service_budget(ctx, {**self.options, **ctx.options})
        for site in fc.calls:
            if site.timeout == "value" and site.timeout_value is not None and site.timeout_value > budget:
                yield site_hit(
                    site,
                    fc=fc,
                    message=f"{site.callee} to {site.upstream or site.kind} waits up to {site.timeout_value:g} s, "
                    f"over the {budget:g} s budget",
                    timeout_s=site.timeout_value,
                    budget_s=budget,
                )
        for client in fc.clients:
            if client.default_timeout == "value" and client.timeout_value is not None and client.timeout_value > budget:
                yield client_hit(
                    client,
                    f"{client.ctor} client for {client.upstream or client.kind} waits up to "
                    f"{client.timeout_value:g} s, over the {budget:g} s budget",
                    timeout_s=client.timeout_value,
                    budget_s=budget,
                )
