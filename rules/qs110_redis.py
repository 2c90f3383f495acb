"""QS110 redis-keys and QS114 cache-write-without-ttl."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from qualscan.engine.lazy import lazy_module
from qualscan.engine.rule import Hit, PythonFileContext, PythonRule
from qualscan.model import Confidence, Severity

from ._calls import FileCalls, analyze, kwarg, positional, site_hit, skip_file, string_value

if TYPE_CHECKING:
    import libcst as cst
else:
    cst = lazy_module("libcst", globals(), "cst")  # imported on first use: see _calls


class RedisKeys(PythonRule):
    """
    ## What it does
    Finds the Redis `KEYS` command: `.keys(pattern)` on a redis-py client (also through
    `execute_command("KEYS", ...)`), and `.keys("pattern*")` with a pattern argument in a file
    that uses Redis even when the client object comes from elsewhere.

    ## Why it matters during a sales peak
    `KEYS` walks the whole keyspace in one blocking step: Redis is single-threaded, so every
    other client (sessions, carts, rate limits) waits behind it. At peak the keyspace is largest
    and the pause longest.

    ## Example
    ```python
    for key in r.keys("cart:*"):
        ...
    ```

    ## Use instead
    ```python
    for key in r.scan_iter(match="cart:*", count=500):
        ...
    ```
    """

    code = "QS110"
    name = "redis-keys"
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    summary = "Redis KEYS command"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = frozenset({"redis", "django_redis", "aioredis"})

    VALID = [
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef carts():\n    return list(R.scan_iter(match='cart:*'))\n",
        "import redis\n\ndef names(d):\n    return list(d.keys())\n",
    ]
    INVALID = [
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef carts():\n    return R.keys('cart:*')  # qualscan: expect[QS110]\n",
        "from django_redis import get_redis_connection\n\ndef carts():\n"
        "    return get_redis_connection('default').keys('cart:*')  # qualscan: expect[QS110]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        lines: set[int] = set()
        for site in fc.calls:
            if site.kind == "redis" and (
                site.method == "keys"
                or (site.method == "execute_command" and positional(site.node)
                    and (string_value(positional(site.node)[0].value) or "").upper() == "KEYS")
            ):
                lines.add(site.line)
                yield site_hit(site, fc=fc, message=f"Redis KEYS on {site.upstream or 'redis'} blocks the server while it "
                               "scans every key: use SCAN (scan_iter)")
        for raw in fc.raw:
            call = raw.node
            if raw.line in lines or not isinstance(call.func, cst.Attribute) or call.func.attr.value != "keys":
                continue
            args = positional(call)
            pattern = string_value(args[0].value) if args else None
            if pattern is None and args and isinstance(args[0].value, cst.FormattedString):
                pattern = "*"
            if pattern is not None and ("*" in pattern or "?" in pattern or "[" in pattern):
                lines.add(raw.line)
                yield Hit(
                    message=f"Redis KEYS {pattern!r} blocks the server while it scans every key: use SCAN",
                    line=raw.line,
                    column=raw.column,
                    key=f"keys@{fc.code(call.func)}",
                    details={"upstream": "redis", "client": "redis"},
                )


# Django cache API: method -> index of the positional timeout argument
_DJANGO_TIMEOUT_ARG = {"set": 2, "add": 2, "get_or_set": 2, "set_many": 1}


def _django_cache_forever(fc: FileCalls) -> Iterator[Hit]:
    """``cache.set(key, value, None)`` / ``timeout=None``: Django's way to say "never expire"."""
    for raw in fc.raw:
        call = raw.node
        if not isinstance(call.func, cst.Attribute) or call.func.attr.value not in _DJANGO_TIMEOUT_ARG:
            continue
        owner = call.func.value
        names = fc.qualified(owner.value if isinstance(owner, cst.Subscript) else owner)
        if not names & {"django.core.cache.cache", "django.core.cache.caches"}:
            continue
        method = call.func.attr.value
        arg = kwarg(call, "timeout")
        args = positional(call)
        value = arg.value if arg is not None else (
            args[_DJANGO_TIMEOUT_ARG[method]].value if len(args) > _DJANGO_TIMEOUT_ARG[method] else None
        )
        if value is not None and isinstance(value, cst.Name) and value.value == "None":
            yield Hit(
                message=f"Django cache.{method} with timeout=None never expires: keys accumulate until the "
                "cache evicts what you need; pass a timeout",
                line=raw.line,
                column=raw.column,
                key=f"django.cache.{method}@{fc.code(call.func)}",
                details={"upstream": "cache", "client": "cache", "missing": "ttl"},
            )


class CacheWriteWithoutTtl(PythonRule):
    """
    ## What it does
    Finds cache writes that never expire: `set`/`setnx`/`mset` on a redis-py client with no
    `ex`/`px`/`exat`/`pxat`/`keepttl` and no `expire` on the same client later in the function,
    and Django cache writes with `timeout=None` (`cache.set(key, value, None)`).

    ## Why it matters during a sales peak
    Keys without a TTL accumulate until Redis reaches `maxmemory`; then it evicts keys you need
    (sessions, carts) or refuses writes -- typically in the middle of the peak, when the most
    keys are written.

    ## Example
    ```python
    r.set(f"product:{sku}", payload)
    ```

    ## Use instead
    ```python
    r.set(f"product:{sku}", payload, ex=300)
    ```
    """

    code = "QS114"
    name = "cache-write-without-ttl"
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    summary = "Cache write with no TTL"
    needs_libcst = True
    triggers: ClassVar[frozenset[str]] = frozenset({"redis", "aioredis", "django"})

    VALID = [
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef put(k, v):\n    R.set(k, v, ex=300)\n",
        "from django.core.cache import cache\n\ndef put(k, v):\n    cache.set(k, v)\n    cache.set(k, v, 60)\n",
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef put(k, v):\n    R.set(k, v)\n    R.expire(k, 60)\n",
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef put(k, v):\n    R.setex(k, 60, v)\n",
    ]
    INVALID = [
        "import redis\n\nR = redis.Redis(socket_timeout=1)\n\ndef put(sku, v):\n"
        "    R.set(f'product:{sku}', v)  # qualscan: expect[QS114]\n",
        "import redis\n\nclass Cache:\n    def __init__(self):\n        self.r = redis.Redis(socket_timeout=1)\n\n"
        "    def put(self, k, v):\n        self.r.set(k, v, nx=True)  # qualscan: expect[QS114]\n",
        "from django.core.cache import cache, caches\n\ndef put(k, v):\n"
        "    cache.set(k, v, None)  # qualscan: expect[QS114]\n"
        "    caches['default'].set_many({k: v}, timeout=None)  # qualscan: expect[QS114]\n",
    ]

    def check(self, ctx: PythonFileContext) -> Iterator[Hit]:
        if skip_file(ctx, self.include_tests):
            return
        fc = analyze(ctx)
        yield from _django_cache_forever(fc)
        for site in fc.calls:
            if site.kind != "redis" or site.method not in ("set", "setnx", "mset", "msetnx"):
                continue
            call = site.node
            if site.method == "set":
                if any(kwarg(call, k) is not None for k in ("ex", "px", "exat", "pxat", "keepttl")):
                    continue
                if len(positional(call)) >= 3 or any(a.star for a in call.args):
                    continue
            func = site.func
            later = [
                s for s in fc.calls
                if s.client is site.client and s.method in ("expire", "pexpire", "expireat", "pexpireat")
                and s.func is func and s.line >= site.line
            ]
            if later:
                continue
            yield site_hit(
                site,
                fc=fc,
                message=f"Redis {site.method} with no TTL: keys accumulate until maxmemory evicts what you need; "
                "pass ex=...",
                missing="ttl",
            )
