"""Service dependency graph: deployment manifests + code facts -> networkx graph, SPOFs, journeys.

Public entry points (called by the engine and the CLI):

* ``python_facts(path, text, tree) -> dict`` -- per Python file, in a worker;
* ``build_graph(*, root_name, config, services, files, texts, python_facts) -> GraphModel``;
* ``what_if(model, node) -> dict`` -- journeys broken/degraded if ``node`` fails;
* ``export(model, fmt) -> str`` -- ``dot`` | ``mermaid`` | ``json`` | ``graphml``.

See ``docs/graph.md``.
"""

from __future__ import annotations

from qualscan.graph.deployment import DeploymentModel
from qualscan.graph.export import FORMATS, export, what_if
from qualscan.graph.facts import python_facts, scan_text
from qualscan.graph.model import GraphModel, build_graph, infer_journeys

__all__ = [
    "FORMATS",
    "DeploymentModel",
    "GraphModel",
    "build_graph",
    "export",
    "infer_journeys",
    "python_facts",
    "scan_text",
    "what_if",
]
