"""QS2xx rules through the real pipeline on one-resource-per-check fixtures (kube-score style):
every case asserts the exact set of (file, line, code) reported."""

from __future__ import annotations

import pytest
from _graph_support import deployment

from qualscan.config import Config, parse_config
from qualscan.engine.pipeline import scan_sources


def run(files: dict[str, str], config: Config | None = None) -> set[tuple[str, int, str]]:
    config = (config or Config()).with_overrides(select=("QS2",), ignore=())
    result = scan_sources(files, config)
    assert not [d for d in result.diagnostics if "internal error" in d.message]
    return {(f.file, f.line, f.rule) for f in result.findings}


FULL = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
spec:
  replicas: 3
  selector:
    matchLabels:
      app: cart
  template:
    metadata:
      labels:
        app: cart
    spec:
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: cart}}}
      containers:
        - name: cart
          image: shop/cart:1.4.2
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {httpGet: {path: /live, port: 8080}}
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: cart
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: cart
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: cart
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: cart
  minReplicas: 3
  maxReplicas: 30
"""


def test_a_well_configured_workload_has_no_findings() -> None:
    assert run({"k8s/cart.yaml": FULL}) == set()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("          image: shop/cart:1.4.2\n", "          image: shop/cart:latest\n", {(19, "QS217")}),
        ("          image: shop/cart:1.4.2\n", "          image: shop/cart\n", {(19, "QS217")}),
        ("          readinessProbe: {httpGet: {path: /ready, port: 8080}}\n", "", {(18, "QS207")}),
        ("          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}\n", "", {(18, "QS208")}),
        ("  maxReplicas: 30\n", "  maxReplicas: 5\n", {(44, "QS204")}),
        ("  maxUnavailable: 1\n", "  maxUnavailable: 0\n", {(29, "QS205")}),
        ("      app: cart\n---\napiVersion: autoscaling", "      app: basket\n---\napiVersion: autoscaling", {(30, "QS206"), (2, "QS202")}),
        ("    name: cart\n  minReplicas", "    name: kart\n  minReplicas", {(42, "QS206"), (2, "QS203")}),
        (
            "      topologySpreadConstraints:\n        - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: cart}}}\n",
            "",
            {(6, "QS209")},
        ),
    ],
)
def test_one_change_one_finding(old: str, new: str, expected: set[tuple[int, str]]) -> None:
    text = FULL.replace(old, new, 1)
    assert text != FULL
    assert run({"k8s/cart.yaml": text}) == {("k8s/cart.yaml", line, code) for line, code in expected}


def test_single_replica_without_autoscaler_blocks_its_pdb() -> None:
    text = FULL.split("---\napiVersion: autoscaling")[0].replace("  replicas: 3\n", "  replicas: 1\n", 1)
    text = text.replace("  maxUnavailable: 1\n", "  minAvailable: 1\n")
    assert run({"k8s/cart.yaml": text}) == {
        ("k8s/cart.yaml", 6, "QS201"),
        ("k8s/cart.yaml", 2, "QS203"),
        ("k8s/cart.yaml", 29, "QS205"),
    }


def test_hpa_minimum_counts_as_replicas() -> None:
    # replicas absent but the HPA keeps 3: not single-replica, and the PDB is satisfiable
    assert run({"k8s/cart.yaml": FULL.replace("  replicas: 3\n", "", 1)}) == set()


def test_peak_factor_comes_from_the_event_config() -> None:
    config = parse_config(b"[tool.qualscan.event]\npeak_factor = 12\n", pyproject=True)
    assert run({"k8s/cart.yaml": FULL}, config) == {("k8s/cart.yaml", 44, "QS204")}


def test_datastore_rules_shared_and_ephemeral() -> None:
    redis = deployment("redis", image="redis:7.2.5", replicas=1).replace("kind: Deployment", "kind: StatefulSet")
    files = {
        "k8s/redis.yaml": redis + "      volumes:\n        - name: data\n          emptyDir: {}\n",
        "k8s/cart.yaml": deployment("cart", env={"REDIS_URL": "redis://redis:6379"}),
        "k8s/checkout.yaml": deployment("checkout", env={"REDIS_HOST": "redis"}),
    }
    found = {(f, ln, c) for f, ln, c in run(files) if c in ("QS210", "QS211")}
    assert found == {("k8s/redis.yaml", 20, "QS210"), ("k8s/redis.yaml", 2, "QS211")}


def test_compose_rules_only_when_compose_is_the_deployment() -> None:
    compose = (
        "services:\n  web:\n    image: shop/web\n    container_name: web\n    depends_on:\n      - db\n"
        "    environment:\n      CART_URL: http://cart:8080\n  cart:\n    image: shop/cart:1.0\n  db:\n    image: postgres:16\n"
    )
    assert run({"docker-compose.yml": compose}) == {
        ("docker-compose.yml", 2, "QS201"),
        ("docker-compose.yml", 3, "QS217"),
        ("docker-compose.yml", 4, "QS218"),
        ("docker-compose.yml", 6, "QS219"),
        ("docker-compose.yml", 9, "QS201"),
        ("docker-compose.yml", 11, "QS201"),
        ("docker-compose.yml", 11, "QS210"),
    }
    # beside Kubernetes manifests the compose file is the local stack: only compose-specific rules
    with_k8s = {**{"docker-compose.yml": compose}, "k8s/cart.yaml": FULL}
    assert run(with_k8s) == {("docker-compose.yml", 4, "QS218"), ("docker-compose.yml", 6, "QS219")}


def test_graph_rules_on_a_small_shop() -> None:
    files = {
        "k8s/gateway.yaml": FULL.replace("cart", "gateway")
        .replace("          image: shop/gateway:1.4.2\n", "          image: shop/gateway:1.4.2\n          env:\n            - {name: CHECKOUT_URL, value: 'http://checkout:8080'}\n"),
        "k8s/checkout.yaml": deployment("checkout", replicas=1, env={"PAY": "http://payment:8080", "INV": "http://inventory:8080"}),
        "k8s/payment.yaml": deployment("payment", env={"CHECKOUT": "http://checkout:8080"}),
        "k8s/inventory.yaml": deployment("inventory"),
    }
    found = {(f, ln, c) for f, ln, c in run(files) if c in ("QS212", "QS213", "QS214")}
    assert found == {("k8s/checkout.yaml", 2, "QS212"), ("k8s/checkout.yaml", 20, "QS214")}


def test_suppression_comment_on_the_kind_line_silences_the_resource() -> None:
    text = FULL.replace("  replicas: 3\n", "  replicas: 1\n", 1).replace("kind: Deployment\n", "kind: Deployment  # qualscan: ignore[QS201]\n", 1)
    assert ("k8s/cart.yaml", 6, "QS201") not in run({"k8s/cart.yaml": text})


def test_helm_chart_with_label_helpers_still_pairs_pdb_hpa_and_deployment() -> None:
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"cart.fullname\" . }}\n  labels:\n"
        "    {{- include \"cart.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n  selector:\n"
        "    matchLabels:\n      {{- include \"cart.selectorLabels\" . | nindent 6 }}\n  template:\n    metadata:\n      labels:\n"
        "        {{- include \"cart.selectorLabels\" . | nindent 8 }}\n    spec:\n"
        "      topologySpreadConstraints: {{ toYaml .Values.spread }}\n      containers:\n        - name: cart\n"
        "          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\"\n"
        "          readinessProbe: {httpGet: {path: /, port: 80}}\n          livenessProbe: {httpGet: {path: /, port: 80}}\n"
        "          resources:\n            {{- toYaml .Values.resources | nindent 12 }}\n"
    )
    pdb = (
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {{ include \"cart.fullname\" . }}\nspec:\n"
        "  maxUnavailable: 1\n  selector:\n    matchLabels:\n      {{- include \"cart.selectorLabels\" . | nindent 6 }}\n"
    )
    hpa = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {{ include \"cart.fullname\" . }}\nspec:\n"
        "  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {{ include \"cart.fullname\" . }}\n"
        "  minReplicas: {{ .Values.replicaCount }}\n  maxReplicas: {{ .Values.maxReplicas }}\n"
    )
    values = (
        "replicaCount: 3\nmaxReplicas: 30\nimage:\n  repository: shop/cart\n  tag: ''\nresources:\n  requests: {cpu: 100m}\n"
        "  limits: {memory: 128Mi}\nspread:\n  - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}\n"
    )
    files = {
        "chart/Chart.yaml": "name: cart\nversion: 0.1.0\nappVersion: 1.4.2\n",
        "chart/values.yaml": values,
        "chart/templates/deployment.yaml": deploy,
        "chart/templates/pdb.yaml": pdb,
        "chart/templates/hpa.yaml": hpa,
    }
    assert run(files) == set()
    assert run({**files, "chart/values.yaml": values.replace("maxReplicas: 30", "maxReplicas: 4")}) == {
        ("chart/templates/hpa.yaml", 11, "QS204")
    }


def test_rules_without_a_graph_report_nothing() -> None:
    from qualscan.engine.registry import all_rules
    from qualscan.engine.rule import ProjectContext, ProjectRule

    ctx = ProjectContext(root_name="r", config=Config(), services=(), files=(), journeys=())
    rules = [r for r in all_rules() if issubclass(r, ProjectRule) and r.code.startswith("QS2")]
    assert len(rules) == 19
    for rule in rules:
        ctx.options = dict(rule.options)
        assert list(rule().check(ctx)) == []
