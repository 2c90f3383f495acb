"""Graph analyses on hand-built graphs (tables) and a property check against networkx."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualscan.graph import analysis
from qualscan.model import Journey


def G(edges: str, kinds: dict[str, str] | None = None, async_edges: str = "") -> nx.DiGraph:
    """``"a>b b>c"`` -> DiGraph; nodes default to kind service."""
    g = nx.DiGraph()
    for spec, sync in ((edges, True), (async_edges, False)):
        for pair in spec.split():
            u, v = pair.split(">")
            g.add_edge(u, v, sync=sync)
    for n in g:
        g.nodes[n]["kind"] = (kinds or {}).get(n, "service")
    return g


@pytest.mark.parametrize(
    ("edges", "kinds", "aps"),
    [
        ("a>b b>c", {}, ["b"]),
        ("a>b b>c c>a", {}, []),
        ("a>b b>db", {"db": "datastore"}, []),  # a private database does not make b a SPOF
        ("a>b b>pay", {"pay": "external"}, ["b"]),  # the only path to a payment provider does
        ("a>b a>c b>d c>d", {}, []),
        ("gw>a gw>b a>x", {}, ["a", "gw"]),
    ],
)
def test_articulation_points(edges: str, kinds: dict[str, str], aps: list[str]) -> None:
    assert analysis.articulation_points(G(edges, kinds)) == aps


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ("a>b b>c", []),  # leaves are not worth a bridge finding
        ("x>a a>b b>c", [("a", "b")]),
        ("x>a a>b b>c c>a", []),
        ("x>a a>b b>c b>d", [("a", "b")]),
    ],
)
def test_bridges_need_two_services_per_side(edges: str, expected: list[tuple[str, str]]) -> None:
    assert analysis.bridges(G(edges)) == expected


def test_async_edges_do_not_count_for_spofs_or_cycles() -> None:
    g = G("a>b", async_edges="b>c b>a")
    assert analysis.articulation_points(g) == []
    assert analysis.cycles(g) == []


@pytest.mark.parametrize(
    ("edges", "cycles"),
    [("a>b b>a", [["a", "b"]]), ("c>b b>a a>c x>y y>x", [["a", "c", "b"], ["x", "y"]]), ("a>b b>c", [])],
)
def test_cycles_one_per_component_in_call_order(edges: str, cycles: list[list[str]]) -> None:
    assert analysis.cycles(G(edges)) == cycles


def test_longest_chain_and_journey_chain() -> None:
    g = G("gw>cart gw>search cart>checkout checkout>pay pay>risk search>es")
    assert analysis.longest_chain(g, ["gw"]) == ["gw", "cart", "checkout", "pay", "risk"]
    assert analysis.journey_chain(g, ["gw", "cart"]) == ["gw", "cart", "checkout", "pay", "risk"]
    assert analysis.journey_chain(g, ["gw", "search"]) == ["gw", "search", "es"]
    cyc = G("a>b b>c c>b c>d")
    chain = analysis.longest_chain(cyc, ["a"])
    assert chain[0] == "a" and chain[-1] == "d" and all(cyc.has_edge(u, v) for u, v in zip(chain, chain[1:]))


def test_blast_radius_breaks_through_sync_and_degrades_through_async() -> None:
    g = G("gw>cart gw>search cart>redis", async_edges="cart>bus bus>mail")
    g.add_edge("bus", "mail", sync=True)
    g.nodes["bus"]["kind"] = "broker"
    br = analysis.blast(g, [Journey("checkout", ("gw", "cart")), Journey("browse", ("gw", "search"))])
    assert br["redis"] == {"broken": ["checkout"], "degraded": []}
    assert br["gw"] == {"broken": ["browse", "checkout"], "degraded": []}
    assert br["search"] == {"broken": ["browse"], "degraded": []}
    assert br["bus"] == {"broken": [], "degraded": ["checkout"]}
    assert br["mail"] == {"broken": [], "degraded": ["checkout"]}


def test_fan_out_and_shared() -> None:
    g = G("f>a f>b f>c gw>a gw>b gw>c a>db b>db", {"gw": "gateway", "db": "datastore"})
    assert analysis.fan_out(g, 3) == [("f", ["a", "b", "c"])]  # a gateway routes, it is no hub
    assert analysis.shared(g, 2) == [("db", ["a", "b"])]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=40), st.lists(st.integers(0, 12), max_size=4))
def test_reported_spofs_are_true_articulation_points(pairs: list[tuple[int, int]], leaves: list[int]) -> None:
    g = nx.DiGraph()
    for u, v in pairs:
        if u != v:
            g.add_edge(f"n{u}", f"n{v}", sync=True)
    for n in g:
        g.nodes[n]["kind"] = "datastore" if int(n[1:]) in leaves else "service"
    ug = g.to_undirected()
    assert set(analysis.articulation_points(g)) <= set(nx.articulation_points(ug))
    assert {frozenset(b) for b in analysis.bridges(g)} <= {frozenset(b) for b in nx.bridges(ug)}
    for cyc in analysis.cycles(g):
        assert all(g.has_edge(cyc[i], cyc[(i + 1) % len(cyc)]) for i in range(len(cyc)))
