"""Helm templates rendered best-effort, line-preserving, with diagnostics for what is unresolved."""

from __future__ import annotations

import pytest

from qualscan.parsers.helm import Chart, render_template
from qualscan.parsers.k8s import parse_k8s

VALUES = {
    "replicaCount": 3,
    "image": {"repository": "shop/cart", "tag": "1.4.2"},
    "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}},
    "redis": {"enabled": False, "host": "redis-master"},
    "env": [{"name": "A", "value": "1"}],
    "empty": "",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("replicas: {{ .Values.replicaCount }}", "replicas: 3"),
        ("image: {{ .Values.image.repository }}:{{ .Values.image.tag }}", "image: shop/cart:1.4.2"),
        ("tag: {{ .Values.missing | default \"latest\" }}", "tag: latest"),
        ("tag: {{ default \"x\" .Values.image.tag }}", "tag: 1.4.2"),
        ("tag: {{ .Values.empty | default \"fallback\" | quote }}", "tag: fallback"),
        ("name: {{ .Release.Name }}-cart", "name: shop-cart"),
        ("name: {{ .Chart.Name | upper }}", "name: SHOP"),
        ("v: {{ printf \"%s-%s\" .Chart.Name \"x\" }}", "v: shop-x"),
        ("v: {{ .Values.image.tag | trunc 3 }}", "v: 1.4"),
        ("{{- /* a comment */ -}}", ""),
        ("host: {{ $.Values.redis.host }}", "host: redis-master"),
    ],
)
def test_expressions(template: str, expected: str) -> None:
    out, diags = render_template(template, VALUES, chart=Chart(name="shop", app_version="9.9"), path="t.yaml")
    assert out == expected
    assert not diags


def test_control_structures_keep_one_output_line_per_input_line() -> None:
    text = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      containers:
        - name: cart
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
          {{- if .Values.redis.enabled }}
            - name: REDIS_HOST
              value: in-cluster
          {{- else }}
            - name: REDIS_HOST
              value: {{ .Values.redis.host }}
          {{- end }}
          {{- with .Values.env }}
          {{- range . }}
            - name: {{ .name }}
              value: {{ .value | quote }}
          {{- end }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"""
    out, diags = render_template(text, VALUES, chart=Chart(name="cart"), path="deployment.yaml")
    assert out.count("\n") == text.count("\n")
    assert not diags
    (w,) = parse_k8s(out, "deployment.yaml").workloads
    assert (w.name, w.replicas, w.replicas_line) == ("cart", 3, 6)
    (c,) = w.containers
    assert c.image == "shop/cart:1.4.2" and c.image_line == 11
    assert [(e.name, e.value, e.line) for e in c.env] == [("REDIS_HOST", "redis-master", 18), ("A", "1", 23)]
    assert c.requests == {"cpu": "100m"} and c.limits == {"memory": "256Mi"}


def test_unresolved_include_is_a_diagnostic_not_a_guess() -> None:
    text = "metadata:\n  labels:\n    {{- include \"cart.labels\" . | nindent 4 }}\n  name: {{ include \"cart.secret\" . }}\n"
    out, diags = render_template(text, {}, chart=Chart(name="cart"), path="t.yaml")
    assert out.splitlines()[3] == "  name: UNRESOLVED"
    assert [(d.file, d.line) for d in diags] == [("t.yaml", 3), ("t.yaml", 4)]
    assert all("not resolved" in d.message for d in diags)


def test_fullname_helpers_resolve_to_the_chart_name() -> None:
    out, diags = render_template("name: {{ include \"cart.fullname\" . }}\nb: {{ template \"fullname\" . }}", {}, chart=Chart(name="cart"))
    assert out == "name: cart\nb: cart" and not diags


@pytest.mark.parametrize(
    "text",
    ["{{ if }}", "{{ end }}{{ end }}", "a: {{ .Values.x.y.z }}", "{{", "}}", "{{ range $k, $v := .Values }}\n{{ end }}", "{{ ((( }}"],
)
def test_malformed_templates_never_raise(text: str) -> None:
    out, _ = render_template(text, VALUES, path="bad.yaml")
    assert out.count("\n") == text.count("\n")
