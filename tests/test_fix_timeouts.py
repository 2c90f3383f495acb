"""``qualscan fix --rule QS101``: the libcst codemod keeps formatting and comments, is idempotent,
and leaves code it cannot fix (or cannot parse) alone."""

from __future__ import annotations

import textwrap

import pytest
from _calls_support import findings, load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualscan.engine.fix import fix_source, fixable_codes, unified_diff

QS101 = load("qs101_timeouts").NoTimeout


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


BEFORE = src(
    '''
    """Checkout clients."""
    import aiohttp
    import grpc
    import redis
    import requests
    import demo_pb2_grpc

    CACHE = redis.Redis(host="cache")  # sessions live here


    def price(sku):
        # the pricing service is on the checkout path
        return requests.get(f"http://pricing/{sku}")


    def pay(body):
        return requests.post(
            "http://payment/charge",
            json=body,  # the card token
            headers={"X-Trace": "1"},
        )


    def cart(cid):
        return requests.get(
            f"http://cart/{cid}",
        )


    def stock():
        return requests.get("http://stock/x", timeout=None)


    async def recos():
        async with aiohttp.ClientSession() as s:
            return await s.get("http://reco/x")


    def currency(req):
        stub = demo_pb2_grpc.CurrencyServiceStub(grpc.insecure_channel("currency:7000"))
        return stub.Convert(req)
    '''
)

AFTER = src(
    '''
    """Checkout clients."""
    import aiohttp
    import grpc
    import redis
    import requests
    import demo_pb2_grpc

    CACHE = redis.Redis(host="cache", socket_timeout=2.5, socket_connect_timeout=2.5)  # sessions live here


    def price(sku):
        # the pricing service is on the checkout path
        return requests.get(f"http://pricing/{sku}", timeout=2.5)


    def pay(body):
        return requests.post(
            "http://payment/charge",
            json=body,  # the card token
            headers={"X-Trace": "1"},
            timeout=2.5,
        )


    def cart(cid):
        return requests.get(
            f"http://cart/{cid}",
            timeout=2.5,
        )


    def stock():
        return requests.get("http://stock/x", timeout=2.5)


    async def recos():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.5)) as s:
            return await s.get("http://reco/x")


    def currency(req):
        stub = demo_pb2_grpc.CurrencyServiceStub(grpc.insecure_channel("currency:7000"))
        return stub.Convert(req, timeout=2.5)
    '''
)


def test_fix_adds_timeouts_keeping_layout_and_comments() -> None:
    new, changes = fix_source(BEFORE, default_timeout=2.5, rules={"QS101"})
    assert new == AFTER
    assert changes == 8  # 2 redis keywords + 6 timeouts
    assert findings(QS101, new) == set()
    assert findings(QS101, BEFORE) == {(8, "QS101"), (13, "QS101"), (17, "QS101"), (25, "QS101"),
                                       (31, "QS101"), (35, "QS101"), (41, "QS101")}


def test_fix_is_idempotent() -> None:
    once, _ = fix_source(BEFORE, default_timeout=2.5, rules={"QS101"})
    twice, changes = fix_source(once, default_timeout=2.5, rules={"QS101"})
    assert (twice, changes) == (once, 0)


def test_rule_can_be_named() -> None:
    text = "import requests\n\ndef f():\n    return requests.get('http://x')\n"
    assert fix_source(text, default_timeout=3, rules={"no-timeout"}) == (
        "import requests\n\ndef f():\n    return requests.get('http://x', timeout=3)\n",
        1,
    )


def test_diff_output() -> None:
    text = "import requests\n\ndef f():\n    return requests.get('http://x')\n"
    new, _ = fix_source(text, default_timeout=5, rules={"QS101"})
    assert unified_diff("svc/app.py", text, new) == (
        "--- a/svc/app.py\n+++ b/svc/app.py\n@@ -1,4 +1,4 @@\n import requests\n \n def f():\n"
        "-    return requests.get('http://x')\n+    return requests.get('http://x', timeout=5)\n"
    )
    assert unified_diff("svc/app.py", text, text) == ""


def test_unfixable_cases_are_left_alone() -> None:
    text = src(
        """
        import boto3
        from aiohttp import ClientSession

        S3 = boto3.client("s3")

        async def f():
            async with ClientSession() as s:
                return await s.get("http://reco/x")
        """
    )
    # both are reported (QS101) but fixing them needs an import the file does not have
    assert findings(QS101, text) == {(4, "QS101"), (7, "QS101")}
    assert fix_source(text, default_timeout=5, rules={"QS101"}) == (text, 0)


@pytest.mark.parametrize(
    "text",
    ["def f(:\n    pass\n", "print 'python 2'\n", "", "x = 1\n"],
    ids=["syntax-error", "python2", "empty", "no-calls"],
)
def test_unparsable_or_empty_input_is_returned_unchanged(text: str) -> None:
    assert fix_source(text, default_timeout=5, rules={"QS101"}) == (text, 0)


def test_unknown_or_unfixable_rule_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        fix_source("x = 1\n", default_timeout=5, rules={"QS999"})
    with pytest.raises(ValueError, match="has no autofix"):
        fix_source("x = 1\n", default_timeout=5, rules={"QS110"})
    assert "QS101" in fixable_codes()


CALLS = [
    "requests.get(u)",
    "requests.get(u, timeout=None)",
    "requests.post(\n        u,\n        json=b,\n    )",
    "requests.post(u, json=b)  # note",
    "S.get(u)",
    "S.put(\n        u,\n    )",
    "requests.get(u, timeout=3)",
    "requests.get(u, **kw)",
    "urlopen(u)",
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CALLS), min_size=1, max_size=6), st.sampled_from([1, 2.5, 10]))
def test_fix_property_idempotent_and_complete(calls: list[str], seconds: float) -> None:
    text = "import requests\nfrom urllib.request import urlopen\n\nS = requests.Session()\n\n\ndef f(u, b, kw):\n"
    text += "".join(f"    {c}\n" for c in calls)
    new, changes = fix_source(text, default_timeout=seconds, rules={"QS101"})
    compile(new, "<fixed>", "exec")
    assert findings(QS101, new) == set()
    assert changes == len(findings(QS101, text))
    assert fix_source(new, default_timeout=seconds, rules={"QS101"}) == (new, 0)
    # only added keywords: removing them gives the original back
    assert new.replace(f", timeout={seconds:g}", "").replace(f"timeout={seconds:g},", "").count("timeout") <= text.count("timeout")


def test_fix_broker_clients() -> None:
    text = src(
        """
        import pika
        from confluent_kafka import Producer

        conn = pika.BlockingConnection(pika.ConnectionParameters("rabbit"))
        P = Producer({"bootstrap.servers": "kafka:9092"})


        def emit(order):
            P.produce("orders", order)
            P.flush()
        """
    )
    new, changes = fix_source(text, default_timeout=4, rules={"QS101"})
    assert changes == 2
    assert 'pika.ConnectionParameters("rabbit", blocked_connection_timeout=4)' in new
    assert "P.flush(timeout=4)" in new
    assert findings(QS101, text) == {(4, "QS101"), (10, "QS101")}
    assert findings(QS101, new) == set()
