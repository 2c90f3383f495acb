"""Graph exports (dot, mermaid, json, graphml) and the --fail what-if, on a real small monorepo."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from _graph_support import deployment, graph_of

from qualscan.graph import export, what_if

FILES = {
    "k8s/frontend.yaml": deployment("frontend", env={"CART": "http://cart:80", "CHECKOUT": "http://checkout:80"}),
    "k8s/cart.yaml": deployment("cart", env={"REDIS": "redis://redis:6379"}),
    "k8s/checkout.yaml": deployment("checkout", env={"PAY": "http://payment:80", "BUS": "amqp://rabbitmq:5672"}),
    "k8s/payment.yaml": deployment("payment"),
    "k8s/redis.yaml": deployment("redis", image="redis:7"),
    "k8s/rabbitmq.yaml": deployment("rabbitmq", image="rabbitmq:3"),
}


@pytest.fixture(scope="module")
def model():
    return graph_of(FILES)


def test_json_export_carries_services_edges_journeys_and_analyses(model) -> None:
    data = json.loads(export(model, "json"))
    assert {s["name"] for s in data["services"]} == {"frontend", "cart", "checkout", "payment", "redis", "rabbitmq"}
    assert {(e["source"], e["target"], e["protocol"], e["sync"]) for e in data["edges"]} == {
        ("frontend", "cart", "http", True),
        ("frontend", "checkout", "http", True),
        ("cart", "redis", "redis", True),
        ("checkout", "payment", "http", True),
        ("checkout", "rabbitmq", "amqp", False),
    }
    assert data["journeys"][0]["path"] == ["frontend", "cart", "checkout", "payment"]
    assert data["analyses"]["articulation_points"] == ["checkout", "frontend"]
    redis = next(s for s in data["services"] if s["name"] == "redis")
    assert (redis["kind"], redis["tier"], redis["blast_radius"], redis["replicas"]) == ("datastore", "middleware", ["checkout"], 2)


def test_graphml_round_trips_through_networkx(model) -> None:
    g = nx.read_graphml(io.BytesIO(export(model, "graphml").encode()))
    assert set(g.nodes) == {"frontend", "cart", "checkout", "payment", "redis", "rabbitmq"}
    assert g.edges["checkout", "rabbitmq"]["sync"] is False
    assert g.edges["cart", "redis"]["evidence"] == "k8s/cart.yaml:20"


def test_dot_and_mermaid(model) -> None:
    dot = export(model, "dot")
    assert dot.startswith("digraph services {") and '"checkout" -> "rabbitmq" [label="amqp", style=dashed];' in dot
    mer = export(model, "mermaid")
    assert mer.startswith("graph LR") and "n_checkout -.->|amqp| n_rabbitmq" in mer and 'n_redis[("redis")]' in mer
    with pytest.raises(ValueError):
        export(model, "svg")


def test_what_if(model) -> None:
    assert what_if(model, "redis") == {
        "node": "redis",
        "kind": "datastore",
        "broken": ["checkout"],
        "degraded": [],
        "affected_services": ["cart", "frontend"],
        "degraded_services": [],
        "unreachable": [],
        "articulation": False,
    }
    assert what_if(model, "rabbitmq")["degraded"] == ["checkout"]
    assert what_if(model, "nosuch")["error"].startswith("no node 'nosuch'")


def test_cli_graph_and_fail(tmp_path: Path) -> None:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "qualscan", "graph", str(tmp_path), "--fail", "redis", "--format", "json", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "unrecognized arguments: --no-cache" in out.stderr:
        out = subprocess.run(
            [sys.executable, "-m", "qualscan", "graph", str(tmp_path), "--fail", "redis", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["broken"] == ["checkout"]
