"""Benchmark: graph construction + every graph analysis on a generated monorepo.

2,000 services (each with a source dir, a Dockerfile and a Kubernetes Deployment whose env names
five upstreams: 10,000 edges), plus 20 datastores. Measures ``build_graph`` (YAML parsing, linking,
edges, journeys, blast radius, centrality), ``analyses()`` and the QS2xx project rules.
Target: under 5 s on one core.

    python benchmarks/bench_graph.py [--services 2000] [--edges-per-service 5]
"""

from __future__ import annotations

import argparse
import random
import time

from qualscan.config import Config
from qualscan.discovery import build_inventory
from qualscan.engine.registry import all_rules
from qualscan.engine.rule import ProjectContext, ProjectRule
from qualscan.graph import build_graph
from qualscan.model import FileKind

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: shop/{name}:1.0.{i}
          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}}}
          resources: {{requests: {{cpu: 100m}}, limits: {{memory: 256Mi}}}}
          env:
{env}"""


def generate(n: int, per: int, seed: int = 7) -> dict[str, bytes]:
    rnd = random.Random(seed)
    names = [f"svc{i:04d}" for i in range(n)]
    stores = [f"db{i:02d}" for i in range(20)]
    files: dict[str, bytes] = {}
    for i, name in enumerate(names):
        targets = set()
        while len(targets) < per:
            j = rnd.randrange(n)
            if j != i:
                targets.add(names[j])
        env = "".join(
            f"            - name: UP{k}_URL\n              value: http://{t}:8080\n" for k, t in enumerate(sorted(targets))
        )
        env += f"            - name: DB_URL\n              value: postgresql://u@{stores[i % 20]}:5432/x\n"
        files[f"services/{name}/Dockerfile"] = b"FROM python:3.12\n"
        files[f"deploy/{name}.yaml"] = DEPLOY.format(name=name, replicas=1 + i % 3, i=i, env=env).encode()
    for s in stores:
        files[f"deploy/{s}.yaml"] = DEPLOY.format(name=s, replicas=1, i=0, env="").replace("shop/", "postgres-").encode()
    return files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=2000)
    ap.add_argument("--edges-per-service", type=int, default=5)
    args = ap.parse_args()
    files = generate(args.services, args.edges_per_service)
    config = Config()
    inv = build_inventory(((p, len(b)) for p, b in files.items()), config, root_name="bench")
    texts = {f.path: files[f.path] for f in inv.files if f.kind is not FileKind.PYTHON}
    c0 = time.process_time()
    t0 = time.perf_counter()
    model = build_graph(root_name="bench", config=config, services=inv.services, files=inv.files, texts=texts, python_facts={})
    t1 = time.perf_counter()
    data = model.analyses()
    t2 = time.perf_counter()
    ctx = ProjectContext(
        root_name="bench", config=config, services=model.services, files=inv.files, journeys=model.journeys,
        deployment=model.deployment, graph=model,
    )
    hits = 0
    for rule in all_rules():
        if issubclass(rule, ProjectRule) and rule.code.startswith("QS2"):
            ctx.options = dict(rule.options)
            hits += sum(1 for _ in rule().check(ctx))
    t3 = time.perf_counter()
    c3 = time.process_time()
    print(
        f"services={len(model.services)} edges={len(model.edges)} sync={data['counts']['sync_edges']} "
        f"articulation={len(data['articulation_points'])} cycles={len(data['cycles'])} findings={hits}"
    )
    print(f"build_graph {t1 - t0:.2f}s  analyses {t2 - t1:.2f}s  QS2xx rules {t3 - t2:.2f}s  total {t3 - t0:.2f}s wall, {c3 - c0:.2f}s CPU")


if __name__ == "__main__":
    main()
