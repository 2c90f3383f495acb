"""Performance rewrites (issue #8) must give exactly what the straightforward code gives."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import pytest

from qualscan.parsers.python import imported_modules

REPO = Path(__file__).resolve().parents[1]


def reference_imports(tree: ast.AST) -> frozenset[str]:
    """The obvious version: every Import / absolute ImportFrom found by a full ``ast.walk``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".", 1)[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".", 1)[0])
    return frozenset(names)


NESTED = '''
import a1, a2.sub as x
from b1.c import d
from . import rel
from .. rel2 import y
def f():
    import c1
    async def g():
        from c2 import z
class K:
    import k1
    def m(self):
        if x:
            import i1
        elif y:
            import i2
        else:
            import i3
for i in []:
    import f1
else:
    import f2
while False:
    import w1
else:
    import w2
try:
    import t1
except ImportError:
    import t2
else:
    import t3
finally:
    import t4
try:
    pass
except* ValueError:
    import ts1
with open("x") as fh:
    import wi1
async def h():
    async with a as b:
        import aw1
    async for q in b:
        import af1
    else:
        import af2
match cmd:
    case [x]:
        import m1
    case _:
        import m2
lam = lambda: __import__("dyn")
'''


def test_imports_anywhere_in_the_statement_tree() -> None:
    tree = ast.parse(NESTED)
    expected = {"a1", "a2", "b1", "c1", "c2", "k1", "i1", "i2", "i3", "f1", "f2", "w1", "w2", "t1", "t2", "t3", "t4",
                "ts1", "wi1", "aw1", "af1", "af2", "m1", "m2"}
    assert imported_modules(tree) == expected == reference_imports(tree)


@pytest.mark.parametrize("root", ["qualscan", "rules", "fixtures", "tests"])
def test_same_as_a_full_walk_on_real_code(root: str) -> None:
    checked = 0
    for path in sorted((REPO / root).rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        assert imported_modules(tree) == reference_imports(tree), path
        checked += 1
    assert checked > 0


# --- the per-file cache, format 3 (one pack; a CRC over key + stored bytes, no re-serialisation) ---
# Tampering with single entries is covered by tests/test_cache_incremental.py through whole scans.


def _cache(tmp_path: Path) -> Any:
    from qualscan.config import Config
    from qualscan.engine.cache import Cache

    return Cache(tmp_path / "cache", Config())


def test_cache_round_trip_through_the_pack(tmp_path: Path) -> None:
    from _cache_support import entry_bytes, read_pack, write_pack

    from qualscan.engine.cache import CACHE_FORMAT

    cache = _cache(tmp_path)
    key = cache.key("app/x.py", "0" * 64, {"service": "app"})
    payload = {"path": "app/x.py", "hits": [{"line": 3, "rule": "QS101"}], "metrics": {"n": 1.5, "u": "é", "t": "$(0)"}}
    cache.put(key, payload)
    cache.flush()
    fresh = _cache(tmp_path)
    assert fresh.get(key) == payload and fresh.hits == 1
    header, body = read_pack(tmp_path / "cache")
    assert header["format"] == CACHE_FORMAT and key in header["entries"]
    assert json.loads(entry_bytes(tmp_path / "cache", key)) == payload  # stored as plain JSON, nothing else
    # one changed byte of the stored payload: a miss, counted as rejected, never an error
    write_pack(tmp_path / "cache", header, body.replace(b"QS101", b"QS102"))
    tampered = _cache(tmp_path)
    assert tampered.get(key) is None and tampered.rejected == 1


def test_cache_pack_symlinked_out_is_not_read(tmp_path: Path) -> None:
    from qualscan.engine.cache import PACK_NAME

    cache = _cache(tmp_path)
    key = cache.key("app/x.py", "2" * 64, {})
    cache.put(key, {"path": "app/x.py"})
    cache.flush()
    pack = tmp_path / "cache" / PACK_NAME
    planted = tmp_path / "planted.pack"
    planted.write_bytes(pack.read_bytes())
    pack.unlink()
    os.symlink(planted, pack)
    assert _cache(tmp_path).get(key) is None


# --- model.jsonable: exact-type fast paths give what the general conversion gives -------------------


def _reference_jsonable(value: Any) -> Any:
    import enum
    from collections.abc import Mapping

    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _reference_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_reference_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_reference_jsonable(v) for v in value)
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def test_jsonable_fast_paths_match_the_general_conversion() -> None:
    import enum
    import types

    from qualscan.model import Diagnostic, Level, Severity, jsonable

    class Code(enum.IntEnum):
        A = 7

    class Text(str):
        pass

    cases = [
        None, True, 0, 1.5, "x", Text("sub"), Severity.HIGH, Code.A,
        {1: (2, {3}), "a": [Level.INFO], None: {"n": frozenset({"b", "a"})}},
        types.MappingProxyType({"k": (1, 2)}),
        Diagnostic("f.py", 3, Level.ERROR, "m"),
        [{"x": {"y": [None, Severity.LOW, (Code.A, 2.0)]}}],
    ]
    for value in cases:
        got, want = jsonable(value), _reference_jsonable(value)
        assert got == want and json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True), value
        assert type(got) is type(want), value


# --- QS306: a clone copied into many services keeps each finding O(1) (the 2,000-service benchmark
# produced a quadratic report: every finding listed every copy) -----------------------------------


def test_cross_service_clone_in_many_services_has_bounded_findings() -> None:
    from qualscan.rules.qs304_structure import _ADDRESS  # type: ignore[import-not-found]

    from qualscan.engine.pipeline import scan_sources

    n = 12
    files = {f"services/s{i:02d}/requirements.txt": "" for i in range(n)}
    files.update({f"services/s{i:02d}/app.py": _ADDRESS for i in range(n)})
    result = scan_sources(files)
    hits = sorted((f.file, f.line, f.rule) for f in result.findings if f.rule == "QS306")
    start = next(f.line for f in result.findings if f.rule == "QS306")
    assert hits == [(f"services/s{i:02d}/app.py", start, "QS306") for i in range(n)]
    for f in result.findings:
        if f.rule != "QS306":
            continue
        assert f.message.count("services/") == 8  # 8 other copies named, not 11
        assert f.message.endswith("and 3 more")
        assert "s00, s01, s02, s03, s04, s05, s06, s07 and 4 more" in f.message
        assert f.details["services"] == [f"s{i:02d}" for i in range(8)] and f.details["services_total"] == n
    assert len({f.fingerprint for f in result.findings if f.rule == "QS306"}) == n


@pytest.mark.parametrize("k", [2, 8, 9, 10, 37])
def test_cross_service_clone_messages_equal_the_quadratic_formulation(k: int) -> None:
    import random
    import types

    from qualscan.rules.qs304_structure import _LIST_MAX, CrossServiceClone, _capped

    rng = random.Random(k)
    occ: list[dict[str, Any]] = [
        {"file": f"services/s{rng.randrange(50):02d}/m{i}.py", "line": rng.randrange(1, 400), "end_line": 500}
        for i in range(k)
    ]
    group = {"cross_service": True, "occurrences": occ, "services": sorted({o["file"].split("/")[1] for o in occ}),
             "lines": 9, "tokens": 77}
    ctx = types.SimpleNamespace(metrics=types.SimpleNamespace(clones=[group]))
    hits = list(CrossServiceClone().check(ctx))  # type: ignore[arg-type]
    assert [(h.file, h.line) for h in hits] == [(o["file"], o["line"]) for o in occ]
    for h, o in zip(hits, occ):
        others = sorted(f"{x['file']}:{x['line']}" for x in occ if x is not o)  # the O(k^2) original
        assert h.message.endswith("other copies: " + _capped(others))
        assert len(others) <= _LIST_MAX or h.message.count(".py:") == _LIST_MAX
