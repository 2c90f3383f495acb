"""kustomize overlays applied to parsed workloads; gateways and Dockerfile ENV parsers."""

from __future__ import annotations

from _graph_support import deployment

from qualscan.graph.deployment import build_deployment
from qualscan.model import FileKind, SourceFile
from qualscan.parsers.dockerfile import parse_dockerfile
from qualscan.parsers.envoy import parse_envoy
from qualscan.parsers.kustomize import apply_image, parse_kustomization, split_image
from qualscan.parsers.nginx import parse_nginx


def _dm(files: dict[str, str]):
    sfs = [SourceFile(p, FileKind.YAML) for p in files]
    return build_deployment(sfs, {p: t.encode() for p, t in files.items()})


def test_kustomization_fields() -> None:
    text = (
        "resources:\n  - ../../base\n  - https://github.com/x/y//z?ref=v1\nnamePrefix: prod-\n"
        "replicas:\n  - name: cart\n    count: 5\nimages:\n  - name: shop/cart\n    newTag: 2.0.0\n"
        "patches:\n  - path: patch.yaml\n"
    )
    k, diags = parse_kustomization(text, "overlays/prod/kustomization.yaml")
    assert not diags
    assert k.resources == ["base"] and k.patch_files == ["overlays/prod/patch.yaml"]
    assert k.replicas == [("cart", 5, 7)] and k.name_prefix == "prod-"
    assert [(i.name, i.new_tag, i.line) for i in k.images] == [("shop/cart", "2.0.0", 9)]


def test_split_and_apply_image() -> None:
    assert split_image("registry:5000/shop/cart:1.2") == ("registry:5000/shop/cart", "1.2")
    assert split_image("registry:5000/shop/cart") == ("registry:5000/shop/cart", None)
    assert split_image("redis@sha256:abc")[1] == "@sha256:abc"
    k, _ = parse_kustomization("images:\n  - name: cart\n    newName: r/cart\n    newTag: '3'\n", "k/kustomization.yaml")
    assert apply_image("cart:1", k.images) == "r/cart:3"
    assert apply_image("other:1", k.images) == "other:1"


def test_production_overlay_replicas_images_and_patch_apply_dev_does_not() -> None:
    files = {
        "base/cart.yaml": deployment("cart", replicas=1, image="shop/cart:latest"),
        "base/kustomization.yaml": "resources:\n  - cart.yaml\n",
        "overlays/dev/kustomization.yaml": "resources: [../../base]\nreplicas:\n  - name: cart\n    count: 9\n",
        "overlays/prod/kustomization.yaml": (
            "resources: [../../base]\nreplicas:\n  - name: cart\n    count: 4\nimages:\n  - name: shop/cart\n    newTag: 1.9.0\n"
            "patches:\n  - path: spread.yaml\n"
        ),
        "overlays/prod/spread.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec:\n  template:\n    spec:\n"
            "      topologySpreadConstraints:\n        - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n"
        ),
    }
    dm = _dm(files)
    (cart,) = dm.workloads  # the patch file is not a second Deployment
    assert (cart.replicas, cart.replicas_line, cart.extra["replicas_file"]) == (4, 4, "overlays/prod/kustomization.yaml")
    assert cart.containers[0].image == "shop/cart:1.9.0"
    assert cart.topology_spread


def test_same_resource_twice_is_one_resource_raw_manifest_wins() -> None:
    files = {
        "release/kubernetes-manifests.yaml": deployment("cart"),
        "kubernetes-manifests/cart.yaml": deployment("cart"),
        "helm/Chart.yaml": "name: shop\nversion: 1.0.0\n",
        "helm/values.yaml": "replicas: 2\n",
        "helm/templates/cart.yaml": deployment("cart").replace("replicas: 2", "replicas: {{ .Values.replicas }}"),
    }
    dm = _dm(files)
    assert [(w.name, w.file) for w in dm.workloads] == [("cart", "kubernetes-manifests/cart.yaml")]
    assert dm.duplicates == 2


def test_nginx_upstreams_and_proxy_pass() -> None:
    conf = parse_nginx(
        "upstream api {\n  server gateway:8080 max_fails=3;\n  server gateway-2:8080;\n}\nserver {\n"
        "  location /api/ { proxy_pass http://api; }\n  location /cart/ {\n    proxy_pass http://${CART_HOST}:8080/;\n  }\n"
        "  # proxy_pass http://commented:1;\n  location /g { grpc_pass grpc://inventory:50051; }\n}\n",
        "nginx/default.conf",
    )
    assert [(s.target, s.line) for s in conf.upstreams["api"]] == [("gateway:8080", 2), ("gateway-2:8080", 3)]
    assert [(t.directive, t.target, t.line) for t in conf.targets] == [
        ("proxy_pass", "http://api", 6),
        ("proxy_pass", "http://${CART_HOST}:8080/", 8),
        ("grpc_pass", "grpc://inventory:50051", 11),
    ]


def test_envoy_clusters_v3_and_v2() -> None:
    text = """static_resources:
  clusters:
    - name: frontend
      load_assignment:
        cluster_name: frontend
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: frontend, port_value: 8080}
    - name: legacy
      hosts:
        - socket_address:
            address: cart
            port_value: 7070
"""
    conf, diags = parse_envoy(text, "envoy.yaml")
    assert not diags
    assert [(e.cluster, e.host, e.port, e.line) for e in conf.endpoints] == [("frontend", "frontend", 8080, 10), ("legacy", "cart", 7070, 14)]


def test_dockerfile_env_forms_and_continuations() -> None:
    df = parse_dockerfile(
        "FROM nginx:1.25 AS base\n# ENV IGNORED=1\nENV CATALOGUE_HOST=catalogue \\\n    USER_HOST=user\nENV LEGACY value with spaces\nEXPOSE 8080/tcp 9090\n",
        "web/Dockerfile",
    )
    assert df.env == {"CATALOGUE_HOST": ("catalogue", 3), "USER_HOST": ("user", 3), "LEGACY": ("value with spaces", 5)}
    assert df.expose == [8080, 9090] and df.base_images == [("nginx:1.25", 1)]
