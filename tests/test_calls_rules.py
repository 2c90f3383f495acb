"""QS1xx rules on real Python source: recognition through imports, aliases and objects, the
precision cases of issue #5 that must stay clean, locations, and the upstream given to the graph.

Each case asserts the exact set of (line, code) of one rule; the examples carried by the rules
themselves run through the real pipeline in test_rule_examples.py."""

from __future__ import annotations

import textwrap

import pytest
from _calls_support import expected, findings, load, make_ctx, run_rule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualscan.config import parse_config
from qualscan.engine.pipeline import scan_sources

timeouts = load("qs101_timeouts")
retries = load("qs103_retries")
breaker = load("qs107_breaker")
fanout = load("qs109_fanout")
redis_rules = load("qs110_redis")
async_rules = load("qs111_async")
dual = load("qs113_dual_write")
cache = load("qs115_cache")
calls = load("_calls")

QS101 = timeouts.NoTimeout
QS102 = timeouts.TimeoutOverBudget


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- recognition -------------------------------------------------------------------------------

RECOGNISED = [
    # import alias of the module
    """
    import requests as rq

    def f():
        return rq.get("http://cart/x")  # qualscan: expect[QS101]
    """,
    # from-import with alias
    """
    from requests import post as send

    def f(body):
        send("http://payment/charge", json=body)  # qualscan: expect[QS101]
    """,
    # a session kept in a module global, used in another function
    """
    import requests

    SESSION = requests.Session()

    def f():
        return SESSION.get("http://catalog/p")  # qualscan: expect[QS101]

    def g():
        return SESSION.get("http://catalog/q", timeout=2)
    """,
    # a session kept in an attribute and used in another method
    """
    from requests import Session

    class PaymentClient:
        def __init__(self):
            self._http = Session()

        def charge(self, body):
            return self._http.post(  # qualscan: expect[QS101]
                "http://payment/charge",
                json=body,
            )
    """,
    # a factory function of the same module
    """
    import requests

    def make_session():
        s = requests.Session()
        return s

    def f():
        return make_session().get("http://stock/x")  # qualscan: expect[QS101]
    """,
    # with ... as
    """
    import requests

    def f():
        with requests.Session() as s:
            return s.delete("http://cart/1")  # qualscan: expect[QS101]
    """,
    # gRPC stub in a module global built in the __main__ block (microservices-demo style)
    """
    import grpc
    import demo_pb2
    import demo_pb2_grpc

    class RecommendationService(demo_pb2_grpc.RecommendationServiceServicer):
        def ListRecommendations(self, request, context):
            return product_catalog_stub.ListProducts(demo_pb2.Empty())  # qualscan: expect[QS101]

    if __name__ == "__main__":
        channel = grpc.insecure_channel("productcatalogservice:3550")
        product_catalog_stub = demo_pb2_grpc.ProductCatalogServiceStub(channel)
    """,
    # stub.Method.future(...)
    """
    import grpc
    from demo_pb2_grpc import CurrencyServiceStub

    STUB = CurrencyServiceStub(grpc.insecure_channel("currency:7000"))

    def f(req):
        return STUB.Convert.future(req)  # qualscan: expect[QS101]
    """,
    # urllib3 pool manager
    """
    import urllib3

    http = urllib3.PoolManager(num_pools=4)  # qualscan: expect[QS101]

    def f():
        return http.request("GET", "http://shipping/quote")
    """,
    # redis from_url without socket_timeout in the URL
    """
    import redis

    CACHE = redis.Redis.from_url("redis://cache:6379/0")  # qualscan: expect[QS101]
    """,
    # boto3 session client
    """
    import boto3

    def f():
        s3 = boto3.Session().client("s3")  # qualscan: expect[QS101]
        return s3.get_object(Bucket="b", Key="k")
    """,
    # urlopen through the module
    """
    import urllib.request

    def f():
        return urllib.request.urlopen("http://stock/x").read()  # qualscan: expect[QS101]
    """,
    # stubs from a star import of the generated module
    """
    import grpc
    from demo_pb2_grpc import *

    STUB = CartServiceStub(grpc.insecure_channel("cart:7070"))

    def f(req):
        return STUB.GetCart(req)  # qualscan: expect[QS101]
    """,
    # an injectable session whose default the class builds
    """
    import requests

    class Api:
        def __init__(self, session=None):
            self.session = session or requests.Session()

        def cart(self, cid):
            return self.session.get(f"http://cart/{cid}")  # qualscan: expect[QS101]
    """,
    # pika parameters kept in an attribute (robot-shop style publisher)
    """
    import pika

    class Publisher:
        def __init__(self):
            self._params = pika.connection.ConnectionParameters(host="rabbitmq")

        def _connect(self):
            self._conn = pika.BlockingConnection(self._params)  # qualscan: expect[QS101]
            self._channel = self._conn.channel()
    """,
    # redis pools and the legacy aioredis package
    """
    import aioredis
    import redis

    POOL = redis.ConnectionPool(host="cache")  # qualscan: expect[QS101]
    R = redis.Redis(connection_pool=POOL)
    A = aioredis.from_url("redis://cache")  # qualscan: expect[QS101]
    """,
]


@pytest.mark.parametrize("text", RECOGNISED, ids=range(len(RECOGNISED)))
def test_no_timeout_recognised_through_imports_and_objects(text: str) -> None:
    text = src(text)
    assert findings(QS101, text, path="svc/app.py") == expected(text, "QS101")


CLEAN = [
    # a Session subclass that sets a default timeout
    """
    import requests

    class TimeoutSession(requests.Session):
        def __init__(self, timeout=5):
            super().__init__()
            self.timeout = timeout

        def request(self, method, url, **kwargs):
            kwargs.setdefault("timeout", self.timeout)
            return super().request(method, url, **kwargs)

    http = TimeoutSession()

    def f():
        return http.get("http://payment/status")
    """,
    # an adapter with a timeout mounted on the session
    """
    import requests
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def send(self, request, **kwargs):
            kwargs["timeout"] = kwargs.get("timeout") or 3
            return super().send(request, **kwargs)

    S = requests.Session()
    S.mount("http://", TimeoutAdapter())

    def f():
        return S.get("http://cart/x")
    """,
    # functools.partial on the session's request
    """
    import functools
    import requests

    S = requests.Session()
    S.request = functools.partial(S.request, timeout=4)

    def f():
        return S.get("http://cart/x")
    """,
    # httpx reused clients with timeouts, and the library default
    """
    import httpx

    client = httpx.Client(timeout=10)
    aclient = httpx.AsyncClient(timeout=httpx.Timeout(10))

    def f():
        client.get("http://cart/x")
        httpx.get("http://stock/x")

    async def g():
        await aclient.post("http://order/x", json={})
    """,
    # a call under a tenacity decorator with stop and wait
    """
    import requests
    from tenacity import retry, stop_after_attempt, wait_exponential

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.1))
    def f():
        return requests.get("http://stock/x", timeout=2)
    """,
    # a client factory elsewhere in the package: unknown origin, never reported
    """
    from .http import build_client

    client = build_client()

    def f():
        return client.get("http://cart/x")
    """,
    # wrappers that pass **kwargs along
    """
    import requests

    def get(url, **kwargs):
        kwargs.setdefault("timeout", 5)
        return requests.get(url, **kwargs)
    """,
    # module constants as timeouts
    """
    import requests

    TIMEOUT = (3.05, 10)

    def f():
        return requests.get("http://x", timeout=TIMEOUT)
    """,
    # a dict's get is not an HTTP call
    """
    import requests

    def f(d):
        return d.get("x")
    """,
]


@pytest.mark.parametrize("text", CLEAN, ids=range(len(CLEAN)))
def test_precision_cases_stay_clean(text: str) -> None:
    text = src(text)
    for rule in (QS101, QS102, async_rules.BlockingCallInAsync, async_rules.SwallowedRemoteError, fanout.RemoteCallInLoop):
        assert findings(rule, text, path="svc/app.py") == set(), rule.code


def test_calls_in_test_files_are_skipped() -> None:
    text = "import requests\n\ndef test_it():\n    requests.get('http://x')\n"
    assert findings(QS101, text, path="tests/test_x.py", is_test=True) == set()
    assert findings(QS101, text, path="svc/app.py") == {(4, "QS101")}


# --- hit contents: upstream for the graph, stable keys --------------------------------------------


def test_hit_carries_upstream_and_stable_key() -> None:
    text = src(
        """
        import os
        import requests

        PAYMENT_URL = os.environ["PAYMENT_URL"]
        CART = os.getenv("CART_SERVICE_ADDR")

        def charge(body):
            return requests.post(f"{PAYMENT_URL}/charge", json=body)

        def cart(cid):
            return requests.get("http://cart-svc:8080/carts/" + cid)

        def stock():
            return requests.get(f"http://{CART}/x")
        """
    )
    hits = {h.line: h for h in run_rule(QS101, make_ctx(text))}
    assert sorted(hits) == [8, 11, 14]
    assert hits[8].details["upstream"] == "$PAYMENT_URL"
    assert hits[8].key == "requests.post@charge"
    assert hits[11].details["upstream"] == "cart-svc"
    assert hits[14].details["upstream"] == "$CART_SERVICE_ADDR"
    assert all(h.details["client"] == "http" for h in hits.values())
    assert hits[8].details["protections_missing"] == ["timeout", "retry", "breaker"]


def test_protections_missing_lists_what_the_call_lacks() -> None:
    text = src(
        """
        import pybreaker
        import requests
        from tenacity import retry, stop_after_attempt, wait_exponential

        pay_breaker = pybreaker.CircuitBreaker(fail_max=5)

        @pay_breaker
        @retry(stop=stop_after_attempt(3), wait=wait_exponential())
        def charge(body):
            return requests.post("http://payment/charge", json=body)
        """
    )
    (hit,) = run_rule(QS101, make_ctx(text))
    assert (hit.line, hit.details["protections_missing"]) == (10, ["timeout"])


def test_analysis_is_cached_on_the_context() -> None:
    ctx = make_ctx("import requests\n\ndef f():\n    requests.get('http://x')\n")
    first = calls.analyze(ctx)
    assert calls.analyze(ctx) is first
    assert [(c.line, c.callee, c.timeout) for c in first.calls] == [(4, "requests.get", "missing")]


# --- budgets from the configuration (through the real pipeline) -----------------------------------

CHECKOUT = src(
    """
    import requests

    def pay(body):
        return requests.post("http://payment/charge", json=body, timeout=15)
    """
)


def test_budget_comes_from_the_journey() -> None:
    config = parse_config(
        b'[journeys.checkout]\npath = ["checkout", "payment"]\nbudget_s = 10\n', source="qualscan.toml"
    ).with_overrides(select=("QS102",))
    files = {"services/checkout/app.py": CHECKOUT, "services/checkout/requirements.txt": "requests\n"}
    result = scan_sources(files, config)
    got = {(f.file, f.line, f.rule) for f in result.findings}
    assert got == {("services/checkout/app.py", 4, "QS102")}
    finding = result.findings[0]
    assert finding.details["budget_s"] == 10.0 and finding.details["timeout_s"] == 15.0


def test_budget_default_for_services_off_the_journeys() -> None:
    # 15 s is over the 10 s critical budget but under the 30 s default
    assert findings(QS102, CHECKOUT, path="app.py") == set()
    assert findings(QS102, CHECKOUT, path="app.py", service_info={"critical": True}) == {(4, "QS102")}
    assert findings(QS102, CHECKOUT, path="app.py", service_info={"budget_s": 20.0}) == set()
    assert findings(QS102, CHECKOUT, path="app.py", options={"max_timeout_s": 12.0}) == {(4, "QS102")}


# --- other rules: locations --------------------------------------------------------------------


def test_retry_locations_are_decorator_and_loop_header() -> None:
    text = src(
        """
        import time
        import requests
        from tenacity import retry

        @retry  # qualscan: expect[QS104,QS105]
        def a():
            return requests.get("http://stock/x", timeout=1)

        def b():
            while True:  # qualscan: expect[QS104,QS105]
                try:
                    return requests.get("http://stock/x", timeout=1)
                except requests.RequestException:
                    time.sleep(1)
        """
    )
    assert findings(retries.RetryWithoutBackoff, text) == expected(text, "QS104")
    assert findings(retries.UnboundedRetry, text) == expected(text, "QS105")


def test_bounded_while_loop_is_not_unbounded() -> None:
    text = src(
        """
        import time
        import requests

        def b():
            attempt = 0
            while True:
                try:
                    return requests.get("http://stock/x", timeout=1)
                except requests.RequestException:
                    attempt += 1
                    if attempt >= 3:
                        raise
                    time.sleep(0.1 * 2 ** attempt)
        """
    )
    assert findings(retries.UnboundedRetry, text) == set()
    assert findings(retries.RetryWithoutBackoff, text) == set()


def test_swallowed_error_reported_on_except_line() -> None:
    text = src(
        """
        import requests

        def f(items):
            for i in items:
                try:
                    requests.post("http://loyalty/points", json=i, timeout=2)
                except Exception:  # qualscan: expect[QS112]
                    pass
        """
    )
    assert findings(async_rules.SwallowedRemoteError, text) == expected(text, "QS112")


def test_breaker_and_fallback_recognised() -> None:
    text = src(
        """
        import aiobreaker
        import httpx
        from circuitbreaker import circuit

        RECO = httpx.Client(timeout=1)
        reviews_breaker = aiobreaker.CircuitBreaker(fail_max=5)

        @circuit(failure_threshold=5)
        def recos(uid):
            return RECO.get(f"http://recommendation/{uid}")

        @reviews_breaker
        def reviews(pid):
            return RECO.get(f"http://reviews/{pid}")

        def ads(ctx):
            return RECO.get("http://ads/x")  # qualscan: expect[QS107]
        """
    )
    got = findings(breaker.NoCircuitBreaker, text, path="checkout/app.py")
    assert got == expected(text, "QS107")
    # not a critical caller: nothing
    assert findings(breaker.NoCircuitBreaker, text, path="reporting/app.py") == set()


def test_transaction_recognised_through_alias_and_connection() -> None:
    text = src(
        """
        import psycopg2
        import requests
        from django.db.transaction import atomic

        conn = psycopg2.connect(host="db", connect_timeout=3)

        def a():
            with atomic():
                requests.post("http://payment/charge", timeout=3)  # qualscan: expect[QS108]

        def b():
            with conn:
                conn.cursor().execute("update stock set n = n - 1")
                requests.post("http://order/orders", timeout=3)  # qualscan: expect[QS108]
        """
    )
    assert findings(breaker.RemoteCallInTransaction, text) == expected(text, "QS108")


def test_fanout_only_over_request_data() -> None:
    text = src(
        """
        import grpc
        import demo_pb2_grpc

        CAT = demo_pb2_grpc.ProductCatalogServiceStub(grpc.insecure_channel("catalog:3550"))

        def cart(request):
            return [CAT.GetProduct(i, timeout=1) for i in request.items]  # qualscan: expect[QS109]

        def warmup():
            for _ in range(3):
                CAT.ListProducts(None, timeout=1)
        """
    )
    assert findings(fanout.RemoteCallInLoop, text) == expected(text, "QS109")


def test_redis_rules() -> None:
    text = src(
        """
        import redis.asyncio as aioredis

        R = aioredis.Redis(host="cache", socket_timeout=1)

        async def f(pattern):
            keys = await R.keys(pattern)  # qualscan: expect[QS110]
            await R.set("x", 1)  # qualscan: expect[QS114]
            await R.set("y", 1, ex=60)
            return keys
        """
    )
    assert findings(redis_rules.RedisKeys, text) == expected(text, "QS110")
    assert findings(redis_rules.CacheWriteWithoutTtl, text) == expected(text, "QS114")
    # redis.asyncio is not blocking
    assert findings(async_rules.BlockingCallInAsync, text) == set()


def test_unbounded_cache_decorator_and_dict() -> None:
    text = src(
        """
        import functools as ft

        SESSIONS = {}  # qualscan: expect[QS115]
        COUNTS = {}

        class Pricing:
            @ft.lru_cache(maxsize=None)  # qualscan: expect[QS115]
            def price(self, sku):
                return sku

            @staticmethod
            @ft.lru_cache(maxsize=None)
            def static(sku):
                return sku

        def login(user, token):
            SESSIONS[user] = token

        def count(k):
            COUNTS[k] = COUNTS.get(k, 0) + 1

        def reset():
            COUNTS.clear()
        """
    )
    assert findings(cache.UnboundedInProcessCache, text) == expected(text, "QS115")


# --- robustness ----------------------------------------------------------------------------------

FRAGMENTS = [
    "requests.get(u)",
    "requests.get(u, timeout=None)",
    "S.get(u)",
    "S.post(u, json=b, timeout=3)",
    "R.keys('a*')",
    "R.set(k, v)",
    "time.sleep(1)",
    "stub.GetCart(req)",
    "P.send('t', v)",
    "await A.get(u)",
]
WRAPPERS = [
    "{}",
    "for i in items:\n    {}",
    "while True:\n    try:\n        {}\n        break\n    except Exception:\n        pass",
    "with transaction.atomic():\n    {}",
    "try:\n    {}\nexcept:\n    pass",
]
HEADER = (
    "import time\nimport requests\nimport redis\nimport grpc\nimport demo_pb2_grpc\nimport aiohttp\n"
    "from kafka import KafkaProducer\nfrom django.db import transaction\n\n"
    "S = requests.Session()\nR = redis.Redis()\nP = KafkaProducer()\nA = aiohttp.ClientSession()\n"
    "stub = demo_pb2_grpc.CartServiceStub(grpc.insecure_channel('cart:1'))\n\n"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(WRAPPERS)), min_size=1, max_size=4), st.booleans())
def test_every_rule_runs_on_generated_code_without_raising(parts: list[tuple[str, str]], is_async: bool) -> None:
    body = []
    for frag, wrap in parts:
        body.append(textwrap.indent(wrap.format(frag), "    "))
    text = HEADER + ("async def f(items, u, b, k, v, req):\n" if is_async else "def f(items, u, b, k, v, req):\n")
    text += "\n".join(body).replace("await ", "await " if is_async else "") + "\n"
    if not is_async:
        text = text.replace("await A.get(u)", "A.get(u)")
    ctx = make_ctx(text, path="checkout/app.py")
    rules = [timeouts.NoTimeout, timeouts.TimeoutOverBudget, retries.NoRetry, retries.RetryWithoutBackoff,
             retries.UnboundedRetry, retries.RetryNonIdempotent, breaker.NoCircuitBreaker,
             breaker.RemoteCallInTransaction, fanout.RemoteCallInLoop, fanout.PublishPerItem,
             redis_rules.RedisKeys, redis_rules.CacheWriteWithoutTtl, async_rules.BlockingCallInAsync,
             async_rules.SwallowedRemoteError, dual.DualWrite, cache.UnboundedInProcessCache]
    lines = len(text.splitlines())
    for rule in rules:
        for hit in run_rule(rule, ctx):
            assert 1 <= hit.line <= lines
    # every bare requests.get(u) line is a QS101
    want = {i for i, line in enumerate(text.splitlines(), 1) if "requests.get(u)" in line}
    got = {h.line for h in run_rule(timeouts.NoTimeout, ctx) if h.details.get("callee") == "requests.get"}
    assert want <= got


@pytest.mark.parametrize(
    ("imports", "text", "needed"),
    [
        ({"urllib"}, "from urllib.parse import urljoin\n", False),
        ({"urllib"}, "from urllib.request import urlopen\nurlopen(u)\n", True),
        ({"time"}, "import time\ndef f():\n    time.sleep(1)\n", False),
        ({"time"}, "import time\nasync def f():\n    time.sleep(1)\n", True),
        ({"django"}, "from django.db import models\n", False),
        ({"django"}, "from django.core.cache import cache\ncache.set(k, v, None)\n", True),
        ({"sqlalchemy"}, "from sqlalchemy import select\n", False),
        ({"sqlalchemy"}, "from .events import producer\nproducer.send('t', v)\n", True),
        ({"requests"}, "import requests\n", True),
    ],
)
def test_libcst_runs_only_where_a_call_can_be_found(imports: set[str], text: str, needed: bool) -> None:
    assert calls.needs_analysis(frozenset(imports), text) is needed
    ctx = make_ctx(text)
    analysis = calls.analyze(ctx)
    assert (ctx._cst is not None) is needed
    if not needed:
        assert analysis.calls == [] and analysis.clients == []
