"""Helpers for the graph and manifest tests: build a GraphModel from an in-memory monorepo the way
the pipeline does (discovery's inventory, one ``ast`` parse per Python file, the graph layer)."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from qualscan.config import Config
from qualscan.discovery import build_inventory
from qualscan.graph import GraphModel, build_graph, python_facts
from qualscan.model import FileKind


def graph_of(files: Mapping[str, str], config: Config | None = None) -> GraphModel:
    config = config or Config()
    blobs = {p: t.encode() for p, t in files.items()}
    inv = build_inventory(((p, len(b)) for p, b in blobs.items()), config, root_name="repo")
    facts = {}
    texts = {}
    for f in inv.files:
        if f.kind is FileKind.PYTHON:
            facts[f.path] = python_facts(f.path, files[f.path], ast.parse(files[f.path]))
        else:
            texts[f.path] = blobs[f.path]
    return build_graph(root_name="repo", config=config, services=inv.services, files=inv.files, texts=texts, python_facts=facts)


def edges(model: GraphModel) -> set[tuple[str, str, str, bool]]:
    return {(e.source, e.target, e.protocol, e.sync) for e in model.edges}


def deployment(name: str, *, env: Mapping[str, str] | None = None, replicas: int | None = 2, image: str | None = None,
               labels: str | None = None) -> str:
    text = f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
    if replicas is not None:
        text += f"  replicas: {replicas}\n"
    app = labels or name
    text += (
        f"  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n"
        f"    spec:\n      containers:\n        - name: {name}\n          image: {image or f'shop/{name}:1.0.0'}\n"
    )
    if env:
        text += "          env:\n"
        for k, v in env.items():
            text += f"            - name: {k}\n              value: \"{v}\"\n"
    return text
