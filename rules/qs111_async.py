"""QS111 blocking-call-in-async and QS112 swallowed-remote-error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import (
    CLIENT_MODULES,
    CallSite,
    FuncFrame,
    analyze,
    handler_catches_broadly,
    handler_is_noop,
    site_hit,
    skip_file,
)


def _blocking(site: CallSite) -> str | None:
    if site.kind == "sleep":
        return "time.sleep blocks the event loop: use await asyncio.sleep(...)"
    if site.kind == "http" and site.library in ("requests", "urllib", "urllib3"):
        return f"{site.library} is synchronous: use httpx.AsyncClient or aiohttp"
    if site.kind == "http" and site.library == "httpx" and (site.client is None or not site.client.is_async):
        return "httpx.Client is synchronous: use httpx.AsyncClient"
    if site.kind == "redis" and site.library == "redis":
        return "redis.Redis is synchronous: use redis.asyncio"
    if site.kind == "aws":
        return "boto3 is synchronous: use aioboto3 or run it in a thread"
    if site.kind == "db" and site.library in ("psycopg2", "pymysql", "MySQLdb"):
        return f"{site.library} is synchronous: use an async driver"
    if site.kind in ("kafka", "amqp") and site.library in ("kafka", "pika", "confluent_kafka"):
        return f"{site.library} is synchronous: use an async client"
    return None


def _direct_async(site: CallSite) -> bool:
    """The call runs in the body of an ``async def`` itself (not in a nested def or lambda)."""
    for frame in reversed(site.stack):
        if frame == "lambda":
            return False
        if isinstance(frame, FuncFrame):
            return frame.is_async
    return False


class BlockingCallInAsync(PythonRule):
    """
    ## What it does
    Finds blocking calls made directly in an `async def`: `requests`/`urllib`/urllib3 calls, a
    synchronous `httpx.Client`, `time.sleep`, a synchronous redis-py client, boto3, synchronous
    DB drivers and Kafka/pika producers. Calls inside a nested `def` or a `lambda` (handed to
    `run_in_executor`/`to_thread`) are not reported.

    ## Why it matters during a sales peak
    An async service runs every request on one event loop. One blocking call stops *all* of them
    for its duration: a 200 ms upstream call at 500 requests/s serialises the whole process and
    latency explodes exactly when traffic peaks.

    ## Example
    ```python
    async def product(sku):
        return requests.get(f"{CATALOG}/p/{sku}", timeout=2).json()
    ```

    ## Use instead
    ```python
    async def product(sku):
        r = await CLIENT.get(f"{CATALOG}/p/{sku}")  # httpx.AsyncClient(timeout=2)
        return r.json()
    ```
    """

    code = "QS111"
    name = "blocking-call-in-async"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    summary = "Blocking call inside async def"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES | {"time"}

    VALID = [
        "import asyncio\nimport time\n\nasync def f():\n    await asyncio.sleep(1)\n\ndef g():\n    time.sleep(1)\n",
        "import asyncio\nimport requests\n\nasync def f(url):\n"
        "    return await asyncio.to_thread(lambda: requests.get(url, timeout=2))\n",
        "import httpx\n\nC = httpx.AsyncClient(timeout=3)\n\nasync def f():\n    return await C.get('http://cart/x')\n",
    ]
    INVALID = [
        "import requests\n\nasync def product(sku):\n"
        "    return requests.get(f'http://catalog/p/{sku}', timeout=2).json()  # qualscan: expect[QS111]\n",
        "import time\n\nasync def wait():\n    time.sleep(0.5)  # qualscan: expect[QS111]\n",
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\nasync def cart(cid):\n"
        "    return R.get(f'cart:{cid}')  # qualscan: expect[QS111]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        for site in fc.calls:
            if not _direct_async(site):
                continue
            why = _blocking(site)
            if why is None:
                continue
            func = site.func
            yield site_hit(
                site,
                fc=fc,
                message=f"blocking {site.callee} in async def {func.name if func else '?'}: {why}",
            )


class SwallowedRemoteError(PythonRule):
    """
    ## What it does
    Finds `except:` / `except Exception:` / `except BaseException:` handlers whose body is only
    `pass` (or `...`) around a remote call. Reported on the `except` line.

    ## Why it matters during a sales peak
    The failure is invisible: no log, no metric, no alert. During the event the team sees orders
    missing or prices wrong with nothing in the dashboards, and the call may have left the
    system half-updated.

    ## Example
    ```python
    try:
        requests.post(LOYALTY_URL, json=points, timeout=2)
    except Exception:
        pass
    ```

    ## Use instead
    ```python
    try:
        requests.post(LOYALTY_URL, json=points, timeout=2)
    except requests.RequestException:
        log.warning("loyalty update failed", exc_info=True)
        metrics.incr("loyalty.failed")
    ```
    """

    code = "QS112"
    name = "swallowed-remote-error"
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    summary = "Errors swallowed around a remote call"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = CLIENT_MODULES

    VALID = [
        "import logging\nimport requests\n\nlog = logging.getLogger(__name__)\n\ndef f(url):\n    try:\n"
        "        requests.post(url, timeout=2)\n    except requests.RequestException:\n"
        "        log.warning('failed', exc_info=True)\n",
        "import json\n\ndef f(s):\n    try:\n        return json.loads(s)\n    except Exception:\n        pass\n",
    ]
    INVALID = [
        "import requests\n\ndef f(url):\n    try:\n        requests.post(url, json={}, timeout=2)\n"
        "    except Exception:  # qualscan: expect[QS112]\n        pass\n",
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef f(k):\n    try:\n        R.delete(k)\n"
        "    except:  # qualscan: expect[QS112]\n        pass\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        reported: set[int] = set()
        for site in fc.calls:
            if not site.remote:
                continue
            for t in site.tries:
                for handler in t.node.handlers:
                    if not (handler_catches_broadly(fc, handler) and handler_is_noop(handler)):
                        continue
                    line = fc.line_of(handler)
                    if line in reported:
                        continue
                    reported.add(line)
                    yield site_hit(
                        site,
                        f"errors from {site.callee} to {site.upstream or site.kind} are swallowed "
                        f"(`{fc.code(handler).splitlines()[0].strip()}` pass): failures go unseen",
                        line=line,
                        call_line=site.line,
                    )
