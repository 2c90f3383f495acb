"""Service graph construction from real manifests, compose files, Python and other-language code."""

from __future__ import annotations

import ast

import pytest
from _graph_support import deployment, edges, graph_of

from qualscan.config import Config, parse_config
from qualscan.graph import python_facts, scan_text
from qualscan.graph.build import normalize
from qualscan.model import NodeKind


@pytest.mark.parametrize(("a", "b"), [("cartservice", "cart"), ("cart-service", "cart"), ("Cart_Service", "cart"), ("carts", "cart"), ("ordering-api", "ordering")])
def test_normalize_links_name_variants(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_env_values_name_services_datastores_and_externals() -> None:
    model = graph_of(
        {
            "src/checkoutservice/go.mod": "module checkout\n",
            "src/cartservice/package.json": "{}\n",
            "k8s/checkout.yaml": deployment(
                "checkoutservice",
                env={
                    "CART_SERVICE_ADDR": "cartservice:7070",
                    "PAYMENT_URL": "http://payment.shop.svc.cluster.local:8080/pay",
                    "DB_URL": "postgresql://u@orders-db:5432/orders",
                    "PROVIDER": "https://api.stripe.com/v1",
                    "KAFKA_BROKERS": "kafka:9092",
                    "PORT": "5050",
                },
            ),
            "k8s/cart.yaml": deployment("cartservice"),
            "k8s/payment.yaml": deployment("payment"),
            "k8s/orders-db.yaml": deployment("orders-db", image="postgres:16.4"),
            "k8s/kafka.yaml": deployment("kafka", image="bitnami/kafka:3.7"),
        }
    )
    assert edges(model) == {
        ("checkoutservice", "cartservice", "http", True),
        ("checkoutservice", "payment", "http", True),
        ("checkoutservice", "orders-db", "sql", True),
        ("checkoutservice", "api.stripe.com", "http", True),
        ("checkoutservice", "kafka", "kafka", False),
    }
    kinds = {s.name: s.kind for s in model.services}
    assert kinds["orders-db"] is NodeKind.DATASTORE and kinds["kafka"] is NodeKind.BROKER
    assert kinds["api.stripe.com"] is NodeKind.EXTERNAL
    cart = next(s for s in model.services if s.name == "cartservice")
    assert cart.path == "src/cartservice" and cart.attrs["replicas"] == 2 and cart.attrs["workload_kind"] == "Deployment"
    e = model.edge("checkoutservice", "cartservice")
    assert e is not None and [(ev.file, ev.line, ev.kind) for ev in e.evidence] == [("k8s/checkout.yaml", 20, "env")]


def test_grpc_protocol_from_the_callee_service_port_name() -> None:
    svc = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: cart\nspec:\n  selector: {app: cart}\n  ports:\n    - {name: grpc, port: 7070}\n"
    model = graph_of({"k8s/front.yaml": deployment("front", env={"CART_ADDR": "cart:7070"}), "k8s/cart.yaml": deployment("cart") + svc})
    assert edges(model) == {("front", "cart", "grpc", True)}


def test_python_facts_urls_env_defaults_clients_and_topics() -> None:
    src = '''import os
import redis
import requests
from kafka import KafkaProducer

CART = os.getenv("CART_HOST", "cart")
R = redis.Redis(host=os.environ.get("REDIS_HOST", "redis"), port=6379)
P = KafkaProducer(bootstrap_servers="kafka:9092")

def pay(order):
    requests.post(f"http://{CART}:8080/cart/{order}", timeout=2)
    P.send("orders", b"x")
'''
    facts = python_facts("svc/app.py", src, ast.parse(src))
    assert {(e["name"], e["default"], e["line"]) for e in facts["env"]} == {("CART_HOST", "cart", 6), ("REDIS_HOST", "redis", 7)}
    assert {(c["kind"], c["line"]) for c in facts["clients"]} >= {("redis", 7), ("kafka", 8), ("http", 11)}
    assert {"value": "http://cart:8080/cart/{?}", "line": 11} in facts["urls"]
    assert facts["topics"] == [{"topic": "orders", "mode": "produce", "line": 12, "kind": "send"}]


def test_python_code_edges_resolve_to_known_nodes() -> None:
    src = 'import os, requests\nUSER = os.getenv("USER_HOST", "user")\ndef f():\n    return requests.get("http://{}:8080/x".format(USER), timeout=1)\n'
    model = graph_of(
        {
            "payment/Dockerfile": "FROM python:3.12\n",
            "payment/app.py": src,
            "user/Dockerfile": "FROM node:20\n",
            "payment/tests/test_app.py": 'URL = "http://cart:8080"\n',
        }
    )
    e = model.edge("payment", "user")
    assert e is not None and e.protocol == "http"
    assert [(ev.file, ev.line) for ev in e.evidence] == [("payment/app.py", 2), ("payment/app.py", 4)]


@pytest.mark.parametrize(
    ("line", "name", "default"),
    [
        ("var catalogueHost = process.env.CATALOGUE_HOST || 'catalogue'", "CATALOGUE_HOST", "catalogue"),
        ("$dsn = getenv('PDO_URL') ?: 'mysql:host=mysql;dbname=ratings';", "host", "mysql"),
        ('String u = System.getenv("DB_HOST") == null ? "mysql" : System.getenv("DB_HOST");', "DB_HOST", "mysql"),
        ("\tamqpHost = \"rabbitmq\"", "amqpHost", "rabbitmq"),
        ('addr := getEnv("CART_ADDR", "cart:7070")', "CART_ADDR", "cart:7070"),
        ("spring.datasource.url=${DB_URL:jdbc:mysql://db:3306/x}", "DB_URL", "jdbc:mysql://db:3306/x"),
    ],
)
def test_language_agnostic_env_defaults(line: str, name: str, default: str) -> None:
    assert {"name": name, "default": default, "line": 1} in scan_text(line)["env"]


def test_other_language_sources_only_link_known_hosts() -> None:
    js = "const a = 'http://catalogue:8080/x';\nconst b = 'https://cdn.example-shop.com/lib.js';\nconst c = 'http://unknown:9/';\n"
    model = graph_of({"cart/package.json": "{}\n", "cart/server.js": js, "catalogue/package.json": "{}\n"})
    assert edges(model) == {("cart", "catalogue", "http", True)}


def test_compose_build_context_links_service_dir_and_depends_on_is_kept_apart() -> None:
    compose = (
        "services:\n  web:\n    build: ./web\n    depends_on: [mongodb]\n    environment:\n      CART_URL: http://cart:8080\n"
        "  cart:\n    build:\n      context: cart\n  mongodb:\n    build: {context: mongo}\n    image: shop/rs-mongodb\n"
    )
    model = graph_of(
        {"docker-compose.yml": compose, "web/Dockerfile": "FROM nginx:1.25\n", "cart/Dockerfile": "FROM node\n", "mongo/Dockerfile": "FROM mongo:5\n"}
    )
    names = {s.name: s for s in model.services}
    assert set(names) == {"web", "cart", "mongo"}
    assert names["mongo"].kind is NodeKind.DATASTORE and "mongodb" in names["mongo"].attrs["aliases"]
    assert names["web"].kind is NodeKind.GATEWAY  # FROM nginx
    assert edges(model) == {("web", "cart", "http", True)}
    assert model.depends_on_mismatches() == [("web", "mongo", "docker-compose.yml", 4)]
    assert model.calls_without_depends_on() == [("web", "cart")]


def test_network_policy_ingress_ingress_backends_and_nginx_gateway() -> None:
    netpol = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: cart}\nspec:\n  podSelector: {matchLabels: {app: cart}}\n"
        "  ingress:\n    - from:\n        - podSelector: {matchLabels: {app: front}}\n"
    )
    ingress = (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: shop}\nspec:\n  defaultBackend:\n    service:\n"
        "      name: edge\n      port: {number: 80}\n"
    )
    nginx = "server {\n  location /api/ {\n    proxy_pass http://${FRONT_HOST}:8080/;\n  }\n}\n"
    model = graph_of(
        {
            "k8s/front.yaml": deployment("front"),
            "k8s/cart.yaml": deployment("cart"),
            "k8s/edge.yaml": deployment("edge"),
            "k8s/netpol.yaml": netpol,
            "k8s/ingress.yaml": ingress,
            "edge/Dockerfile": "FROM nginx:1.25\nENV FRONT_HOST=front\n",
            "edge/nginx/default.conf": nginx,
        }
    )
    assert edges(model) == {("front", "cart", "http", True), ("ingress/shop", "edge", "http", True), ("edge", "front", "http", True)}
    assert [ev.kind for ev in model.edge("front", "cart").evidence] == ["network-policy"]
    assert [(ev.file, ev.line, ev.kind) for ev in model.edge("edge", "front").evidence] == [
        ("edge/Dockerfile", 2, "env"),
        ("edge/nginx/default.conf", 3, "gateway"),
    ]


def test_nginx_envsubst_template_is_a_gateway_config() -> None:
    """The official nginx image renders /etc/nginx/templates/*.conf.template with envsubst at start:
    the template's proxy_pass is the gateway's edge, its variable resolved from the environment."""
    template = "server {\n  listen 80;\n  location / {\n    proxy_pass http://${CART_HOST}:8080;\n  }\n}\n"
    compose = (
        "services:\n  edge:\n    build: ./edge\n    environment:\n      CART_HOST: cart\n  cart:\n    build: ./cart\n"
    )
    model = graph_of(
        {"docker-compose.yml": compose, "cart/Dockerfile": "FROM python:3.12\n",
         "edge/Dockerfile": "FROM nginx:1.27\nCOPY nginx/templates /etc/nginx/templates\n",
         "edge/nginx/templates/default.conf.template": template}
    )
    assert ("edge", "cart", "http", True) in edges(model)
    assert ("edge/nginx/templates/default.conf.template", 4, "gateway") in {
        (ev.file, ev.line, ev.kind) for ev in model.edge("edge", "cart").evidence
    }
    from qualscan.discovery import classify
    from qualscan.model import FileKind

    assert classify("deploy/site.nginx.conf.template")[0] is FileKind.NGINX
    assert classify("app/templates/mail.conf.template")[0] is FileKind.OTHER  # not nginx's


def test_configmap_key_refs_and_env_from_resolve() -> None:
    cm = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata:\n  CART_URL: http://cart:80\n  REDIS_ADDR: redis:6379\n"
    front = deployment("front").replace(
        "          image: shop/front:1.0.0\n",
        "          image: shop/front:1.0.0\n          envFrom:\n            - configMapRef: {name: cfg}\n",
    )
    model = graph_of({"k8s/front.yaml": front + cm, "k8s/cart.yaml": deployment("cart"), "k8s/redis.yaml": deployment("redis", image="redis:7")})
    assert edges(model) == {("front", "cart", "http", True), ("front", "redis", "redis", True)}
    text = front + cm
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "REDIS_ADDR" in t)
    assert [(ev.file, ev.line) for ev in model.edge("front", "redis").evidence] == [("k8s/front.yaml", line)]


def test_configured_and_inferred_journeys_and_blast_radius() -> None:
    files = {
        "k8s/frontend.yaml": deployment("frontend", env={"CART": "http://cart:80", "CHECKOUT": "http://checkout:80"}),
        "k8s/cart.yaml": deployment("cart", env={"REDIS": "redis://redis:6379"}),
        "k8s/checkout.yaml": deployment("checkout", env={"PAY": "http://payment:80", "BUS": "amqp://rabbitmq:5672"}),
        "k8s/payment.yaml": deployment("payment"),
        "k8s/email.yaml": deployment("email", env={"BUS": "amqp://rabbitmq:5672"}),
        "k8s/redis.yaml": deployment("redis", image="redis:7"),
        "k8s/rabbitmq.yaml": deployment("rabbitmq", image="rabbitmq:3"),
    }
    model = graph_of(files)
    (j,) = model.journeys
    assert (j.name, j.path, j.inferred) == ("checkout", ("frontend", "cart", "checkout", "payment"), True)
    assert model.blast["redis"] == {"broken": ["checkout"], "degraded": []}
    assert model.blast["rabbitmq"] == {"broken": [], "degraded": ["checkout"]}
    assert model.blast["email"] == {"broken": [], "degraded": []}
    config = parse_config(b"[tool.qualscan.journeys]\nbuy = ['frontend', 'checkout']\nbad = ['frontend', 'nosuch']\n", pyproject=True)
    model2 = graph_of(files, config)
    assert [(j.name, j.path, j.inferred) for j in model2.journeys] == [
        ("bad", ("frontend", "nosuch"), False),
        ("buy", ("frontend", "checkout"), False),
    ]
    assert any("nosuch" in d.message for d in model2.diagnostics)
    cart = next(s for s in model2.services if s.name == "cart")
    assert cart.attrs["blast_radius"] == [] and cart.attrs["critical"] is False
    pay = next(s for s in model2.services if s.name == "payment")
    assert pay.attrs["blast_radius"] == ["buy"] and pay.attrs["critical"] is True


def test_resolve_upstream_from_urls_hosts_and_env_names() -> None:
    model = graph_of({"k8s/front.yaml": deployment("front", env={"CART_URL": "http://cart:80"}), "k8s/cart.yaml": deployment("cartservice")})
    assert model.resolve_upstream("front", "CART_URL") == "cartservice"
    assert model.resolve_upstream(None, "http://cart-service:8080/x") == "cartservice"
    assert model.resolve_upstream(None, "cartservice.default.svc.cluster.local:80") == "cartservice"
    assert model.resolve_upstream(None, "https://api.paypal.com/v2") == "api.paypal.com"
    assert model.resolve_upstream(None, "nothing-here") is None


def test_bad_inputs_become_diagnostics_and_the_graph_still_builds() -> None:
    model = graph_of(
        {
            "k8s/bad.yaml": "kind: Deployment\nmetadata: [\n",
            "k8s/cart.yaml": deployment("cart"),
            "chart/Chart.yaml": "name: c\n",
            "chart/values.yaml": "a: [\n",
            "chart/templates/x.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ include \"c.x\" . }}\n",
            "docker-compose.yml": "services: [\n",
        },
        Config(),
    )
    assert [s.name for s in model.services] == ["cart"]
    files = {d.file for d in model.diagnostics}
    assert {"k8s/bad.yaml", "chart/values.yaml", "chart/templates/x.yaml", "docker-compose.yml"} <= files


def test_telemetry_exports_are_not_calls() -> None:
    model = graph_of(
        {
            "k8s/cart.yaml": deployment("cart", env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317", "X_URL": "http://jaeger:16686"}),
            "k8s/otel.yaml": deployment("otel-collector", image="otel/opentelemetry-collector-contrib:0.100.0"),
            "k8s/jaeger.yaml": deployment("jaeger", image="jaegertracing/all-in-one:1.57"),
        }
    )
    assert edges(model) == set()
    assert {s.name for s in model.services} == {"cart", "otel-collector", "jaeger"}


def test_host_port_to_a_service_that_runs_a_grpc_server_is_grpc() -> None:
    server_go = "package main\n\nfunc main() {\n\tsrv := grpc.NewServer()\n\tpb.RegisterCurrencyServiceServer(srv, s)\n}\n"
    model = graph_of(
        {
            "src/currency/go.mod": "module currency\n",
            "src/currency/main.go": server_go,
            "src/email/requirements.txt": "flask\n",
            "src/email/app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "k8s/front.yaml": deployment("front", env={"CURRENCY_ADDR": "currency:7000", "EMAIL_ADDR": "email:8080"}),
            "k8s/currency.yaml": deployment("currency"),
            "k8s/email.yaml": deployment("email"),
        }
    )
    assert edges(model) == {("front", "currency", "grpc", True), ("front", "email", "http", True)}


def test_skaffold_artifacts_link_images_to_source_dirs() -> None:
    skaffold = (
        "apiVersion: skaffold/v4beta6\nkind: Config\nbuild:\n  artifacts:\n    - image: cartsvc\n"
        "      context: src/cart-impl\n"
    )
    model = graph_of(
        {
            "skaffold.yaml": skaffold,
            "src/cart-impl/go.mod": "module cart\n",
            "k8s/cart.yaml": deployment("shopping-basket", image="cartsvc"),
            "k8s/front.yaml": deployment("front", env={"CART_ADDR": "shopping-basket:7070"}),
        }
    )
    assert edges(model) == {("front", "cart-impl", "http", True)}
    node = next(s for s in model.services if s.name == "cart-impl")
    assert node.path == "src/cart-impl" and node.attrs["workload_kind"] == "Deployment"


def test_django_settings_dicts_and_spring_application_yml() -> None:
    settings = (
        "import os\nDATABASES = {\n    'default': {\n        'ENGINE': 'django.db.backends.postgresql',\n"
        "        'HOST': os.environ.get('DB_HOST', 'orders-db'),\n        'PORT': '5432',\n    }\n}\n"
    )
    spring = "spring:\n  datasource:\n    url: jdbc:mysql://${DB_HOST:mysql}:3306/cities\n  rabbitmq:\n    host: ${AMQP_HOST:rabbitmq}\n"
    model = graph_of(
        {
            "orders/Dockerfile": "FROM python:3.12\n",
            "orders/shop/settings.py": settings,
            "shipping/pom.xml": "<project/>\n",
            "shipping/src/main/resources/application.yml": spring,
            "k8s/orders-db.yaml": deployment("orders-db", image="postgres:16"),
            "k8s/mysql.yaml": deployment("mysql", image="mysql:8"),
            "k8s/rabbitmq.yaml": deployment("rabbitmq", image="rabbitmq:3"),
        }
    )
    assert edges(model) == {
        ("orders", "orders-db", "sql", True),
        ("shipping", "mysql", "sql", True),
        ("shipping", "rabbitmq", "amqp", False),
    }
    assert [(e.file, e.line) for e in model.edge("shipping", "mysql").evidence] == [("shipping/src/main/resources/application.yml", 3)]
