"""``cache.entry_keyer`` (a service's facts encoded once, issue #8) gives exactly the keys of
``cache.entry_key``: a different key would miss every stored outcome, an equal key for different
inputs would serve one file's outcome for another."""

from __future__ import annotations

from pathlib import Path

from _cache_support import build_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from qualscan.discovery import discover
from qualscan.engine.cache import Cache, entry_key, entry_keyer
from qualscan.engine.pipeline import infer_journeys, service_facts
from qualscan.model import FileKind

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(['"', "\\", "\n", "\ud800", "é"]),
                max_size=12)
_leaf = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=True) | _text
_facts = st.dictionaries(_text, st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3)
                                             | st.dictionaries(_text, inner, max_size=3), max_leaves=8), max_size=4)


@settings(max_examples=400, deadline=None)
@given(_text, _facts, st.lists(st.tuples(_text, _text), min_size=1, max_size=5))
def test_keyer_equals_entry_key(settings_digest: str, facts: dict[str, object], files: list[tuple[str, str]]) -> None:
    keyer = entry_keyer(settings_digest, facts)
    for path, sha in files:
        assert keyer(path, sha) == entry_key(settings_digest, path, sha, facts)


def test_keyer_of_a_real_scan_matches_the_keys_the_pipeline_stores(tmp_path: Path) -> None:
    config = build_tree(tmp_path, 6)
    inventory = discover(tmp_path, config)
    cache = Cache(tmp_path / ".qualscan_cache", config, root=tmp_path)
    facts_of = service_facts(inventory.services, config.journeys or infer_journeys(s.name for s in inventory.services), config)
    keys = set()
    for f in (f for f in inventory.files if f.kind is FileKind.PYTHON):
        facts = {"service": f.service, "test": f.is_test, "info": dict(facts_of.get(f.service or "", {}))}
        sha = "0" * 63 + str(len(keys))
        assert cache.keyer(facts)(f.path, sha) == cache.key(f.path, sha, facts)
        keys.add(cache.key(f.path, sha, facts))
    assert len(keys) == 6
    # what separates two keys still does: the path, the content, the facts
    keyer = cache.keyer({"service": "checkout", "test": False, "info": {}})
    assert len({keyer("a.py", "0"), keyer("b.py", "0"), keyer("a.py", "1"),
                cache.keyer({"service": "checkout", "test": True, "info": {}})("a.py", "0")}) == 4
