"""A synthetic e-commerce monorepo of N services, for measuring how qualscan's cost grows.

Each service gets Python code (a handler module calling 1-3 other services over HTTP, some with and
some without timeouts, a retry helper, a model module with branching functions, settings read from
the environment, a test), a Dockerfile, a requirements file and a Kubernetes manifest
(Deployment + Service, some with an HPA and a PodDisruptionBudget). Edges go from higher to lower
service numbers plus a few back edges, so the graph has chains, hubs and a few cycles. The first
services carry the well-known names of the checkout journey (gateway, cart, checkout, payment...).
Everything is a deterministic function of (N, seed).

    python benchmarks/synth.py OUT_DIR N [--seed 0] [--git]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
from pathlib import Path

WELL_KNOWN = ["gateway", "search", "catalog", "cart", "checkout", "payment", "order", "inventory", "auth", "notification"]


def service_names(n: int) -> list[str]:
    return [WELL_KNOWN[i] if i < len(WELL_KNOWN) else f"svc-{i:04d}" for i in range(n)]


def _handler(name: str, deps: list[str], rng: random.Random) -> str:
    lines = [
        f'"""HTTP handlers of the {name} service."""',
        "",
        "import os",
        "import time",
        "",
        "import requests",
        "",
        "from app import models",
        "from app.settings import SETTINGS",
        "",
        "",
    ]
    for j, dep in enumerate(deps):
        env = dep.upper().replace("-", "_") + "_URL"
        timeout = "" if rng.random() < 0.3 else f", timeout={rng.choice([0.5, 1, 2, 5, 30])}"
        lines += [
            f"{env} = os.environ.get({env!r}, 'http://{dep}:8080')",
            "",
            "",
            f"def call_{dep.replace('-', '_')}(payload, retries=3):",
            "    last = None",
            "    for attempt in range(retries):",
            "        try:",
            f"            resp = requests.post({env} + '/api/v1/op{j}', json=payload{timeout})",
            "            resp.raise_for_status()",
            "            return resp.json()",
            "        except requests.RequestException as exc:",
            "            last = exc",
            "            time.sleep(0.1 * (attempt + 1))",
            "    raise RuntimeError(f'upstream failed: {last}')",
            "",
            "",
        ]
    lines += [
        "def handle(request):",
        "    items = request.get('items', [])",
        "    total = models.price(items, request.get('currency', 'EUR'))",
        "    out = {'total': total, 'service': SETTINGS['name']}",
    ]
    for dep in deps:
        fn = dep.replace("-", "_")
        if rng.random() < 0.25:
            lines += ["    for item in items:", f"        out.setdefault('{fn}', []).append(call_{fn}(item))"]
        else:
            lines += [f"    out['{fn}'] = call_{fn}({{'items': items}})"]
    lines += ["    return out", ""]
    return "\n".join(lines)


def _models(name: str, rng: random.Random, *, owns_price: bool = False) -> str:
    k = rng.randint(3, 8)
    lines = [f'"""Domain logic of {name}."""', ""]
    if owns_price or rng.random() < 0.25:  # a quarter of the services copy-pasted the pricing code (clones)
        lines += [
            "RATES = {'EUR': 1.0, 'USD': 1.08, 'GBP': 0.86}",
            "",
            "",
            "def price(items, currency):",
            "    total = 0.0",
            "    for item in items:",
            "        qty = item.get('qty', 1)",
            "        if qty <= 0:",
            "            continue",
            "        unit = item.get('price', 0.0)",
            "        if item.get('promo') and qty > 2:",
            "            unit *= 0.9",
            "        elif item.get('clearance'):",
            "            unit *= 0.5",
            "        total += unit * qty",
            "    return round(total * RATES.get(currency, 1.0), 2)",
            "",
            "",
        ]
    else:
        lines += ["from shopcommon.money import price  # noqa: F401", "", ""]
    for i in range(k):
        lines.append(f"def rule_{i}(order, flags):")
        lines.append("    score = 0")
        lines += _block(rng, "    ", rng.randint(1, 4), rng.randint(2, 6))
        lines.append("    return score")
        lines += ["", ""]
    return "\n".join(lines)


def _block(rng: random.Random, indent: str, depth: int, length: int) -> list[str]:
    """A random statement sequence (varied shapes, so services are not all token-level clones)."""
    out: list[str] = []
    for _ in range(length):
        roll = rng.random()
        key = rng.choice(["qty", "price", "sku", "gift", "region", "tier", "coupon", "weight"])
        if depth > 0 and roll < 0.3:
            op = rng.choice(["and", "or"])
            out.append(f"{indent}if order.get({key!r}) {op} flags.get({rng.choice(['beta', 'vip', 'b2b'])!r}):")
            out += _block(rng, indent + "    ", depth - 1, rng.randint(1, 3))
            if rng.random() < 0.4:
                out.append(f"{indent}else:")
                out += _block(rng, indent + "    ", depth - 1, rng.randint(1, 2))
        elif depth > 0 and roll < 0.45:
            out.append(f"{indent}for line in order.get('lines', [])[:{rng.randint(5, 50)}]:")
            out += _block(rng, indent + "    ", depth - 1, rng.randint(1, 3))
        elif depth > 0 and roll < 0.55:
            out.append(f"{indent}while score < {rng.randint(10, 99)} and order.get({key!r}):")
            out.append(f"{indent}    score += {rng.randint(1, 9)}")
        elif roll < 0.75:
            out.append(f"{indent}score {rng.choice(['+=', '-=', '*='])} {rng.randint(1, 9)}")
        elif roll < 0.9:
            out.append(f"{indent}{key}_{rng.randint(0, 9)} = order.get({key!r}, {rng.randint(0, 99)}) {rng.choice(['+', '-', '*'])} score")
            out.append(f"{indent}score = max(score, {key}_{rng.randint(0, 9)} if False else score)")
        else:
            out.append(f"{indent}flags = dict(flags, seen_{key}=True)")
    return out or [f"{indent}pass"]


def _manifest(name: str, rng: random.Random) -> str:
    replicas = rng.choice([1, 2, 3, 3, 4])
    probes = rng.random() < 0.7
    doc = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
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
          image: registry.example.com/shop/{name}:1.{rng.randint(0, 40)}.0
          ports:
            - containerPort: 8080
"""
    if probes:
        doc += """          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 256Mi
"""
    doc += f"""---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
    - port: 8080
      targetPort: 8080
"""
    if rng.random() < 0.4:
        doc += f"""---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: 2
  maxReplicas: {rng.choice([4, 10, 20])}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: {name}
"""
    return doc


def generate(root: Path, n: int, seed: int = 0) -> dict[str, int]:
    """Write the monorepo under ``root`` (which must not exist). Returns counts."""
    rng = random.Random(seed * 1_000_003 + n)
    names = service_names(n)
    root.mkdir(parents=True)
    files = lines = edges = 0

    def write(rel: str, text: str) -> None:
        nonlocal files, lines
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        files += 1
        lines += text.count("\n")

    write("README.md", f"# synthetic shop: {n} services\n")
    write("libs/shopcommon/pyproject.toml", "[project]\nname = 'shopcommon'\nversion = '1.0'\n")
    write("libs/shopcommon/shopcommon/__init__.py", "")
    write("libs/shopcommon/shopcommon/money.py", _models("shopcommon", rng, owns_price=True))
    for i, name in enumerate(names):
        pool = names[:i] if i else []
        deps = sorted(set(rng.sample(pool, min(len(pool), rng.randint(1, 3))))) if pool else []
        if i > 20 and rng.random() < 0.02:  # a few back edges make cycles
            deps.append(names[rng.randint(i + 1, n - 1)] if i + 1 < n else names[0])
        edges += len(deps)
        base = f"services/{name}"
        write(f"{base}/requirements.txt", "requests==2.32.3\nflask==3.0.3\n")
        write(f"{base}/Dockerfile", "FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"-m\", \"app.main\"]\n")
        write(f"{base}/app/__init__.py", "")
        write(f"{base}/app/settings.py", f"import os\n\nSETTINGS = {{'name': {name!r}, 'debug': os.environ.get('DEBUG') == '1'}}\n")
        write(f"{base}/app/main.py", _handler(name, deps, rng))
        write(f"{base}/app/models.py", _models(name, rng))
        write(
            f"{base}/tests/test_models.py",
            "from app import models\n\n\ndef test_price():\n    assert models.price([{'price': 2.0, 'qty': 2}], 'EUR') == 4.0\n",
        )
        write(f"k8s/{name}.yaml", _manifest(name, rng))
    return {"services": n, "files": files, "lines": lines, "edges": edges}


def git_commit(root: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "synthetic monorepo"]):
        subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=root, check=True, env=env, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("services", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--git", action="store_true", help="make it a git repository with one commit")
    args = ap.parse_args()
    counts = generate(args.out, args.services, args.seed)
    if args.git:
        git_commit(args.out)
    print(counts)


if __name__ == "__main__":
    main()
