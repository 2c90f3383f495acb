"""Issue #9, property-based: random bytes and random YAML structures through every parser. No
exception escapes; every diagnostic names the file it was given; the per-file worker outcome stays
JSON-serialisable (it is cached as JSON and crosses process boundaries).
"""

from __future__ import annotations

import json
import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualscan.config import Config
from qualscan.engine.worker import FileTask, analyze_python
from qualscan.graph.facts import scan_text
from qualscan.model import Diagnostic
from qualscan.parsers import compose, dockerfile, envoy, helm, k8s, kustomize, nginx, yamlsafe
from qualscan.parsers import python as pyparser

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG = Config(use_cache=False, jobs=1)

# bytes with a bias towards what breaks parsers: structure characters, quotes, NUL, UTF-8 fragments
SPICY = st.sampled_from(
    [b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3", b"\n", b"\r", b"\t", b" ", b"{{", b"}}", b"[", b"]", b"{", b"}",
     b":", b"- ", b"&a ", b"*a", b"!!python/object/apply:os.system", b"---\n", b"...\n", b"#", b"'", b'"', b"\\",
     b"def ", b"class ", b"(", b")", b"lambda", b"import ", b"requests.get(", b"timeout=", b"async ", b"await ",
     b"# -*- coding: latin-1 -*-\n", b"# coding: utf-16\n", b"type X = ", b"t'", b"f'{", "\u202e".encode()]
)
RANDOM_BYTES = st.one_of(st.binary(max_size=600), st.lists(st.one_of(SPICY, st.binary(max_size=8)), max_size=80).map(b"".join))
RANDOM_TEXT = st.one_of(st.text(max_size=400), RANDOM_BYTES.map(lambda b: b.decode("utf-8", "replace")))


def _names_file(diags: list[Diagnostic], path: str) -> None:
    for d in diags:
        assert isinstance(d, Diagnostic) and d.file == path, d


@SETTINGS
@given(data=RANDOM_BYTES)
def test_python_decode_and_parse_never_raise(data: bytes) -> None:
    text, diag = pyparser.decode("x.py", data)
    assert (text is None) != (diag is None)
    if text is not None:
        tree, diag = pyparser.parse("x.py", text)
        assert (tree is None) != (diag is None)
    if diag is not None:
        assert diag.file == "x.py" and diag.line >= 0 and diag.message


@SETTINGS
@given(data=RANDOM_BYTES)
def test_worker_outcome_is_json_for_any_bytes(data: bytes) -> None:
    out = analyze_python(FileTask("svc/app/x.py", data, service="svc"), CONFIG)
    json.dumps(out)  # cached as JSON, so it must serialise
    assert all(d["file"] == "svc/app/x.py" for d in out["diagnostics"])
    assert out["parsed"] or out["diagnostics"]


@SETTINGS
@given(text=RANDOM_TEXT)
def test_yaml_and_manifest_parsers_never_raise(text: str) -> None:
    docs, diags = yamlsafe.load_documents(text, "m.yaml")
    _names_file(diags, "m.yaml")
    _names_file(k8s.parse_k8s(text, "m.yaml").diagnostics, "m.yaml")
    cf, cdiags = compose.parse_compose(text, "docker-compose.yml", {"A": "1"})
    _names_file(cdiags, "docker-compose.yml")
    _, kdiags = kustomize.parse_kustomization(text, "kustomization.yaml")
    _names_file(kdiags, "kustomization.yaml")
    _, vdiags = helm.parse_values(text, "values.yaml")
    _names_file(vdiags, "values.yaml")
    _, ediags = envoy.parse_envoy(text, "envoy.yaml")
    _names_file(ediags, "envoy.yaml")
    dockerfile.parse_dockerfile(text, "Dockerfile")
    nginx.parse_nginx(text, "nginx.conf")
    json.dumps(scan_text(text))


HELM_BITS = st.sampled_from(
    ["{{", "}}", "{{-", "-}}", " .Values.a ", " .Values ", "$x := ", " if ", " else ", " end ", " range ", " with ",
     " include \"x\" . ", " toYaml .Values | nindent 4 ", " default 3 .Values.r ", " quote ", " printf \"%s\" ", "|",
     "(", ")", "\"", "'", "\n", "replicas: ", "  ", "- ", ".", "$", " tpl ", " required \"m\" .Values.q "]
)


@SETTINGS
@given(parts=st.lists(HELM_BITS, max_size=60), values=st.dictionaries(st.text(string.ascii_lowercase, max_size=3),
                                                                       st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=4))
def test_helm_renderer_never_raises_and_keeps_lines(parts: list[str], values: dict[str, object]) -> None:
    text = "".join(parts)
    rendered, diags = helm.render_template(text, {"a": values, "r": 2}, path="templates/x.yaml")
    assert rendered.count("\n") == text.count("\n")
    _names_file(diags, "templates/x.yaml")


K8S_KEYS = st.sampled_from(
    ["apiVersion", "kind", "metadata", "name", "spec", "replicas", "template", "containers", "image", "env", "value",
     "valueFrom", "selector", "matchLabels", "labels", "resources", "limits", "requests", "ports", "containerPort",
     "minAvailable", "maxReplicas", "scaleTargetRef", "volumes", "emptyDir", "services", "depends_on", "environment",
     "build", "deploy", "affinity", "podAntiAffinity", "readinessProbe", "livenessProbe", "x", "<<"]
)
K8S_SCALARS = st.one_of(
    st.sampled_from(["Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                     "apps/v1", "v1", "redis:7", "postgres://u:p@db:5432/x", "http://svc:8080", "${VAR:-x}"]),
    st.integers(-5, 10**12), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=12),
)
STRUCTURES = st.recursive(
    K8S_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(K8S_KEYS, children, max_size=5)),
    max_leaves=40,
)


@SETTINGS
@given(docs=st.lists(STRUCTURES, min_size=1, max_size=3), kind=st.sampled_from(["Deployment", "StatefulSet", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]))
def test_random_manifest_structures_never_raise(docs: list[object], kind: str) -> None:
    shaped = [dict(d, apiVersion="apps/v1", kind=kind) if isinstance(d, dict) else d for d in docs]
    text = yaml.safe_dump_all(shaped, sort_keys=False)
    _names_file(k8s.parse_k8s(text, "k8s/app.yaml").diagnostics, "k8s/app.yaml")
    compose_text = yaml.safe_dump({"services": {"web": shaped[0], "db": docs[-1]}}, sort_keys=False)
    cf, diags = compose.parse_compose(compose_text, "docker-compose.yml")
    _names_file(diags, "docker-compose.yml")
    compose.merge_compose([cf])
