"""The indexed lookups of the deployment model and of the import resolver (issue #8: selector
matching and module resolution were scans of every resource / every service per query) must give
exactly what the scans gave. Each lookup is compared with the original formulation, query by query,
on real inputs: the fixture monorepos, every example of every rule, and a synthetic monorepo of 60
services (benchmarks/synth.py)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from _graph_support import graph_of

from qualscan.config import Config
from qualscan.discovery import build_inventory
from qualscan.engine.registry import all_rules
from qualscan.graph.deployment import DeploymentModel, _same_ns, selects
from qualscan.metrics import analyze_file, modularity
from qualscan.model import FileKind
from qualscan.parsers import k8s as k8s_p

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import synth  # noqa: E402

SKIP_DIRS = {".git", "__pycache__", "node_modules"}


def _read_tree(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not SKIP_DIRS & set(p.relative_to(root).parts):
            try:
                out[p.relative_to(root).as_posix()] = p.read_text()
            except (UnicodeDecodeError, OSError):
                continue
    return out


def _synthetic(tmp: Path, n: int = 60) -> dict[str, str]:
    synth.generate(tmp, n)
    return _read_tree(tmp)


def _examples() -> Iterator[tuple[str, dict[str, str]]]:
    for rule in all_rules():
        for i, ex in enumerate([*rule.VALID, *rule.INVALID]):
            files = dict(ex) if isinstance(ex, Mapping) else {rule.example_path: ex}
            yield f"{rule.code}-{i}", files


def _repos(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    for name in ("shop", "clean", "hostile"):
        if (ROOT / "fixtures" / name).is_dir():
            yield name, _read_tree(ROOT / "fixtures" / name)
    yield "synth-60", _synthetic(tmp_path / "synth")
    yield from _examples()


def _selectors(dm: DeploymentModel) -> list[tuple[dict[str, str], str]]:
    sels = [(p.selector, p.file) for p in dm.pdbs]
    sels += [(n.pod_selector, n.file) for n in dm.network_policies]
    sels += [(peer.labels, n.file) for n in dm.network_policies for peer in [*n.ingress, *n.egress]]
    sels += [(s.selector, s.file) for s in dm.services]
    sels += [(w.selector, w.file) for w in dm.workloads]
    sels += [({k: v}, w.file) for w in dm.workloads for k, v in w.labels.items()]
    sels += [({"app": "no-such-app"}, "x.yaml"), ({}, "x.yaml")]
    return sels


def test_deployment_lookups_equal_the_scans(tmp_path: Path) -> None:
    checked = {"pdbs_for": 0, "hpa_for": 0, "matching": 0, "named": 0}
    for name, files in _repos(tmp_path):
        model = graph_of(files)
        dm = model.deployment
        k8s = dm.k8s_workloads
        for w in dm.workloads:
            want = [p for p in dm.pdbs if selects(p.selector, p.file, w) and _same_ns(p.namespace, w.namespace)]
            assert dm.pdbs_for(w) == want, (name, w.name)
            want_hpa = next(
                (h for h in dm.hpas
                 if h.target_name == w.name and (not h.target_kind or h.target_kind == w.kind) and _same_ns(h.namespace, w.namespace)),
                None,
            )
            assert dm.hpa_for(w) is want_hpa, (name, w.name)
            checked["pdbs_for"] += len(want)
            checked["hpa_for"] += want_hpa is not None
        for sel, file in _selectors(dm):
            want_m = [w for w in k8s if w.matches(sel)]
            assert dm.k8s_workloads_matching(sel) == want_m, (name, sel)
            assert dm.workloads_selected(sel, file) == [w for w in k8s if selects(sel, file, w)], (name, sel, file)
            checked["matching"] += len(want_m)
        for h in dm.hpas:
            assert dm.k8s_workloads_named(h.target_name) == [w for w in k8s if w.name == h.target_name]
            checked["named"] += 1
    # the inputs really exercise every lookup
    assert all(v > 0 for v in checked.values()), checked


def test_index_follows_a_replaced_list(tmp_path: Path) -> None:
    dm = graph_of(_synthetic(tmp_path / "s", 12)).deployment
    w = next(w for w in dm.k8s_workloads if dm.pdbs_for(w))
    assert dm.pdbs_for(w)
    dm.pdbs = []
    assert dm.pdbs_for(w) == []
    assert dm.k8s_workloads_matching(dict(w.labels)) == [w]
    dm.workloads = [x for x in dm.workloads if x is not w]
    assert dm.k8s_workloads_matching(dict(w.labels)) == []


def test_label_index_on_non_string_selector_values() -> None:
    a = k8s_p.Workload("Deployment", "a", "a.yaml", 1, labels={"tier": "1", "app": "a"})
    b = k8s_p.Workload("Deployment", "b", "b.yaml", 1, labels={"tier": "1", "app": "b"})
    ix = k8s_p.LabelIndex([a, b])
    for sel in ({"tier": 1}, {"tier": "1"}, {"tier": 1, "app": "b"}, {"app": "c"}, {}, {"tier": 2}):
        assert ix.matching(sel) == [w for w in (a, b) if w.matches(sel)]  # type: ignore[arg-type]


def _pick_scan(importer: str, dotted: str, idx: modularity.ModuleIndex) -> str | None:
    """The resolver's choice as first written: a scan of every candidate per import."""
    cands = idx.by_name.get(dotted)
    if not cands:
        return None
    own = idx.service_of.get(importer)
    same = [c for c in cands if idx.service_of.get(c) == own]
    if same:
        return max(same, key=lambda c: (modularity._common(c, importer), c))
    top = dotted.split(".")[0]
    if own is not None and top in idx.top_packages.get(own, set()):
        return None
    shared = [c for c in cands if idx.service_of.get(c) is None]
    if shared:
        return shared[0]
    others = sorted(cands)
    return others[0] if len({idx.service_of.get(c) for c in others}) == 1 or len(others) == 1 else None


@pytest.mark.parametrize("which", ["shop", "synth"])
def test_module_resolution_equals_the_scan(tmp_path: Path, which: str) -> None:
    files = _read_tree(ROOT / "fixtures" / "shop") if which == "shop" else _synthetic(tmp_path / "s", 40)
    config = Config()
    inv = build_inventory(((p, len(t.encode())) for p, t in files.items()), config, root_name="repo")
    py = [f for f in inv.files if f.kind is FileKind.PYTHON]
    idx = modularity.build_index(py, {s.name: s.path for s in inv.services})
    names = sorted(idx.by_name)
    queries = 0
    for f in py:
        facts = analyze_file(f.path, files[f.path], ast.parse(files[f.path]), config)
        dotted = [str(i.get("module") or "") for i in facts.get("imports") or []]
        for d in [*dotted, *names[:: max(1, len(names) // 50)]]:
            assert modularity._pick(f.path, d, idx) == _pick_scan(f.path, d, idx), (f.path, d)
            queries += 1
    assert queries > 100
