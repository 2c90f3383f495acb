"""Bad input never raises: every deployment parser and the graph builder on arbitrary text."""

from __future__ import annotations

import ast

from _graph_support import graph_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualscan.graph import python_facts, scan_text
from qualscan.parsers.aspire import parse_apphost
from qualscan.parsers.compose import parse_compose, parse_env_file
from qualscan.parsers.dockerfile import parse_dockerfile
from qualscan.parsers.envoy import parse_envoy
from qualscan.parsers.helm import render_template
from qualscan.parsers.k8s import parse_k8s
from qualscan.parsers.kustomize import parse_kustomization
from qualscan.parsers.nginx import parse_nginx

# YAML-ish and template-ish fragments make the fuzzing reach deep code paths
FRAGMENTS = st.sampled_from(
    [
        "kind: Deployment\n", "apiVersion: apps/v1\n", "---\n", "spec:\n", "  replicas: 1\n", "  replicas: x\n",
        "  template:\n", "    spec:\n", "      containers:\n", "        - name: a\n", "          image: a:latest\n",
        "          env:\n", "            - name: X_URL\n", "              value: http://b:80\n", "{{ .Values.a }}\n",
        "{{- if .Values.x }}\n", "{{ end }}\n", "{{ range . }}\n", "services:\n", "  a:\n", "    depends_on: [b]\n",
        "    environment:\n", "      - A\n", "${A:-b}\n", "upstream u {\n", "proxy_pass http://$h;\n", "}\n", "ENV A=b \\\n",
        "var x = builder.AddProject<Projects.A>(\"a\").WithReference(y);\n", "&a [*a]\n", "!!binary x\n", ": - : -\n",
        "\t\x00\ufeff\n", "    - {name: a, value: [1, {2: 3}]}\n",
    ]
)
TEXT = st.one_of(st.text(max_size=300), st.lists(FRAGMENTS, max_size=30).map("".join))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_parsers_never_raise(text: str) -> None:
    parse_k8s(text, "k.yaml")
    out, _ = render_template(text, {"a": {"b": 1}, "x": [1]}, path="t.yaml")
    assert out.count("\n") == text.count("\n")
    parse_compose(text, "docker-compose.yml", parse_env_file(text))
    parse_kustomization(text, "kustomization.yaml")
    parse_nginx(text, "nginx.conf")
    parse_envoy(text, "envoy.yaml")
    parse_dockerfile(text, "Dockerfile")
    parse_apphost(text, "Program.cs")
    scan_text(text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, TEXT)
def test_graph_builds_from_any_manifests(k8s: str, compose: str, template: str) -> None:
    model = graph_of(
        {
            "k8s/app.yaml": k8s,
            "docker-compose.yml": compose,
            "chart/Chart.yaml": "name: c\n",
            "chart/templates/t.yaml": template,
            "svc/Dockerfile": "FROM python:3.12\n",
            "svc/main.go": k8s,
        }
    )
    model.analyses()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_python_facts_on_any_string_literal(s: str) -> None:
    src = f"import os, requests\nURL = {s!r}\nX = os.getenv('A', {s!r})\nrequests.get(URL + X, timeout=1)\n"
    facts = python_facts("a.py", src, ast.parse(src))
    assert {"env", "urls", "clients", "topics"} <= set(facts)
