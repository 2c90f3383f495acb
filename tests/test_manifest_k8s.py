"""Kubernetes parser: one small YAML document per check (kube-score testdata style), real YAML."""

from __future__ import annotations

import pytest

from qualscan.parsers.k8s import parse_k8s
from qualscan.parsers.yamlsafe import load_documents

POD = """apiVersion: apps/v1
kind: {kind}
metadata:
  name: web
spec:
{spec}  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
{pod}      containers:
        - name: web
          image: shop/web:1.2.3
{container}"""


def wl(kind: str = "Deployment", spec: str = "", pod: str = "", container: str = ""):
    m = parse_k8s(POD.format(kind=kind, spec=spec, pod=pod, container=container), "k8s/web.yaml")
    assert not m.diagnostics, m.diagnostics
    assert len(m.workloads) == 1
    return m.workloads[0]


@pytest.mark.parametrize(
    ("spec", "replicas", "line"),
    [("", None, 0), ("  replicas: 1\n", 1, 6), ("  replicas: 4\n", 4, 6), ("  replicas: '3'\n", 3, 6)],
)
def test_replicas_absent_means_none_and_line_is_kept(spec: str, replicas: int | None, line: int) -> None:
    w = wl(spec=spec)
    assert (w.replicas, w.replicas_line, w.effective_replicas) == (replicas, line, replicas or 1)
    assert (w.file, w.line, w.kind, w.name) == ("k8s/web.yaml", 2, "Deployment", "web")


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"])
def test_workload_kinds(kind: str) -> None:
    w = wl(kind=kind)
    assert w.kind == kind and [c.name for c in w.containers] == ["web"]
    assert w.containers[0].line == 15 and w.containers[0].image_line == 16


def test_cronjob_pod_spec_is_found() -> None:
    text = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: report\nspec:\n  schedule: '0 * * * *'\n  jobTemplate:\n"
        "    spec:\n      template:\n        spec:\n          containers:\n            - name: report\n              image: shop/report:1\n"
    )
    (w,) = parse_k8s(text, "cron.yaml").workloads
    assert (w.kind, w.containers[0].name, w.containers[0].line) == ("CronJob", "report", 12)


@pytest.mark.parametrize(
    ("container", "ready", "live", "requests", "limits"),
    [
        ("", False, False, {}, {}),
        ("          readinessProbe: {httpGet: {path: /, port: 80}}\n", True, False, {}, {}),
        ("          livenessProbe: {tcpSocket: {port: 80}}\n", False, True, {}, {}),
        ("          resources: {requests: {cpu: 100m}}\n", False, False, {"cpu": "100m"}, {}),
        ("          resources: {limits: {memory: 1Gi}, requests: {memory: 1Gi}}\n", False, False, {"memory": "1Gi"}, {"memory": "1Gi"}),
    ],
)
def test_probes_and_resources(container: str, ready: bool, live: bool, requests: dict, limits: dict) -> None:
    c = wl(container=container).containers[0]
    assert (c.readiness, c.liveness, c.requests, c.limits) == (ready, live, requests, limits)


def test_env_value_configmap_ref_secret_ref_and_env_from() -> None:
    container = (
        "          env:\n            - name: CART_ADDR\n              value: cart:7070\n"
        "            - name: DB_HOST\n              valueFrom:\n                configMapKeyRef: {name: cfg, key: db}\n"
        "            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef: {name: creds, key: pw}\n"
        "          envFrom:\n            - configMapRef: {name: shared}\n"
    )
    c = wl(container=container).containers[0]
    assert [(e.name, e.value, e.line) for e in c.env] == [("CART_ADDR", "cart:7070", 19), ("DB_HOST", None, 20), ("DB_PASSWORD", None, 23)]
    assert c.env[1].config_map == ("cfg", "db") and c.env[2].secret == ("creds", "pw")
    assert [(f.kind, f.name, f.line) for f in c.env_from] == [("configMap", "shared", 27)]


@pytest.mark.parametrize(
    ("pod", "anti", "spread"),
    [
        ("", False, False),
        ("      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution: []\n", True, False),
        ("      topologySpreadConstraints:\n        - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n", False, True),
        ("      affinity:\n        nodeAffinity: {}\n", False, False),
    ],
)
def test_affinity_and_topology_spread(pod: str, anti: bool, spread: bool) -> None:
    w = wl(pod=pod)
    assert (w.anti_affinity, w.topology_spread) == (anti, spread)


def test_volumes_emptydir_vs_pvc_and_claim_templates() -> None:
    pod = (
        "      volumes:\n        - name: cache\n          emptyDir: {}\n"
        "        - name: data\n          persistentVolumeClaim:\n            claimName: data-pvc\n"
    )
    w = wl(kind="StatefulSet", pod=pod)
    assert [(v.name, v.type, v.line, v.claim) for v in w.volumes] == [
        ("cache", "emptyDir", 16, None),
        ("data", "persistentVolumeClaim", 18, "data-pvc"),
    ]
    text = POD.format(kind="StatefulSet", spec="", pod="", container="") + (
        "  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec: {accessModes: [ReadWriteOnce]}\n"
    )
    (w2,) = parse_k8s(text, "s.yaml").workloads
    assert w2.claim_templates == ["data"]


def ln(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_services_ingress_hpa_pdb_netpol_configmap_secret_pvc() -> None:
    text = """apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: grpc, port: 7070}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
    - http:
        paths:
          - path: /
            backend:
              service:
                name: web
                port: {number: 80}
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 50%
  selector: {matchLabels: {app: web}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from:
        - podSelector: {matchLabels: {app: gateway}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {DB_HOST: postgres}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2-never-stored}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
"""
    m = parse_k8s(text, "all.yaml")
    assert not m.diagnostics
    (headless, lb) = m.services
    assert (headless.headless, headless.ports, lb.type) == (True, [("grpc", 7070)], "LoadBalancer")
    (ing,) = m.ingresses
    assert [(b.service, b.port, b.line) for b in ing.backends] == [("web", 80, ln(text, "                name: web"))]
    (hpa,) = m.hpas
    assert (hpa.target_kind, hpa.target_name, hpa.min_replicas, hpa.max_replicas, hpa.max_line) == ("Deployment", "web", 2, 10, ln(text, "maxReplicas"))
    (pdb,) = m.pdbs
    assert (pdb.min_available, pdb.value_line, pdb.selector, pdb.selector_line) == ("50%", ln(text, "minAvailable"), {"app": "web"}, ln(text, "  selector: {matchLabels: {app: web}}"))
    (np,) = m.network_policies
    assert (np.pod_selector, np.selector_line, [(p.labels, p.line) for p in np.ingress]) == (
        {"app": "web"},
        ln(text, "  podSelector: {matchLabels: {app: web}}"),
        [({"app": "gateway"}, ln(text, "app: gateway"))],
    )
    assert m.config_maps[0].data == {"DB_HOST": "postgres"}
    (secret,) = m.secrets
    assert secret.keys == ["password"]
    assert "hunter2" not in repr(m)  # secret values are never read into the model
    assert [p.name for p in m.pvcs] == ["data"]


def test_ingress_v1beta1_backend() -> None:
    text = (
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec:\n  backend:\n"
        "    serviceName: front-end\n    servicePort: 80\n"
    )
    (ing,) = parse_k8s(text, "i.yaml").ingresses
    assert [(b.service, b.port, b.line) for b in ing.backends] == [("front-end", 80, 6)]


def test_list_kind_is_unwrapped() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n    data: {X: '1'}\n"
    m = parse_k8s(text, "l.yaml")
    assert [(c.name, c.line) for c in m.config_maps] == [("a", 5)]


def test_broken_document_is_a_diagnostic_and_the_rest_loads() -> None:
    text = "kind: ConfigMap\nmetadata: {name: a}\n---\nkind: [unclosed\n---\nkind: ConfigMap\nmetadata: {name: b}\n"
    m = parse_k8s(text, "x.yaml")
    assert [c.name for c in m.config_maps] == ["a", "b"]
    assert [c.line for c in m.config_maps] == [1, 6]
    assert len(m.diagnostics) == 1 and m.diagnostics[0].file == "x.yaml" and m.diagnostics[0].line >= 4


@pytest.mark.parametrize("text", ["", "---\n---\n", "just a string\n", "- 1\n- 2\n", "kind: 3\n", "\x00\x01", "a: !!python/object:os.system x\n"])
def test_odd_documents_never_raise(text: str) -> None:
    m = parse_k8s(text, "odd.yaml")
    assert m.workloads == []


def test_unknown_tags_load_as_plain_values() -> None:
    docs, diags = load_documents("a: !Ref b\nc: !!binary aGk=\n", "t.yaml")
    assert not diags and docs[0].data["a"] == "b"
