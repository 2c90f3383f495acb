"""docker-compose: interpolation from .env, layered files, depends_on, container_name."""

from __future__ import annotations

import pytest

from qualscan.graph.deployment import build_deployment
from qualscan.model import FileKind, SourceFile
from qualscan.parsers.compose import interpolate, merge_compose, parse_compose, parse_env_file


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("image: ${REPO}/web:${TAG}", {"REPO": "shop", "TAG": "1.2"}, "image: shop/web:1.2"),
        ("image: web:${TAG:-latest}", {}, "image: web:latest"),
        ("image: web:${TAG:-latest}", {"TAG": ""}, "image: web:latest"),
        ("image: web:${TAG-latest}", {"TAG": ""}, "image: web:"),
        ("cmd: echo $$HOME", {}, "cmd: echo $HOME"),
        ("url: http://$HOST:80", {"HOST": "api"}, "url: http://api:80"),
        ("x: ${ON:+yes}", {"ON": "1"}, "x: yes"),
    ],
)
def test_interpolation(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env, "c.yml") == expected


def test_env_file() -> None:
    assert parse_env_file("# c\nREPO=robotshop\nexport TAG='2.1.0'\nX=\"a b\"\nY=1 # trailing\n") == {
        "REPO": "robotshop",
        "TAG": "2.1.0",
        "X": "a b",
        "Y": "1",
    }


BASE = """services:
  web:
    build:
      context: ./web
    image: ${REPO:-shop}/web:${TAG}
    container_name: shop-web
    depends_on:
      - cart
      - db
    environment:
      CART_URL: http://cart:8080
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/"]
  cart:
    image: shop/cart:1.0
    environment:
      - REDIS_URL=redis://redis:6379
    deploy:
      replicas: 3
  db:
    image: postgres:16
    volumes:
      - pg:/var/lib/postgresql/data
"""
OVERRIDE = """services:
  web:
    environment:
      DEBUG: "1"
  mailpit:
    image: axllent/mailpit
"""


def test_layered_files_merge_service_by_service() -> None:
    base, d1 = parse_compose(BASE, "docker-compose.yml", {"TAG": "7"})
    over, d2 = parse_compose(OVERRIDE, "docker-compose.override.yml", {})
    assert not d1 and not d2
    wls = {w.name: w for w in merge_compose([base, over])}
    assert sorted(wls) == ["cart", "db", "mailpit", "web"]
    web = wls["web"]
    assert (web.file, web.line, web.kind, web.source) == ("docker-compose.yml", 2, "compose", "compose")
    assert web.build_context == "web" and web.containers[0].image == "shop/web:7"
    assert (web.container_name, web.container_name_line) == ("shop-web", 6)
    assert web.depends_on == [("cart", 8), ("db", 9)]
    assert {e.name: e.value for e in web.containers[0].env} == {"CART_URL": "http://cart:8080", "DEBUG": "1"}
    assert web.containers[0].readiness and web.replicas is None
    assert (wls["cart"].replicas, wls["cart"].replicas_line) == (3, 19)
    assert [(e.name, e.value, e.line) for e in wls["cart"].containers[0].env] == [("REDIS_URL", "redis://redis:6379", 17)]
    assert [v.line for v in wls["db"].volumes] == [23]
    assert wls["mailpit"].file == "docker-compose.override.yml"


def test_deployment_reads_dot_env_and_depends_on() -> None:
    files = {"docker-compose.yml": BASE, "docker-compose.override.yml": OVERRIDE, ".env": "TAG=3.3\n"}
    sfs = [SourceFile(p, FileKind.ENV if p == ".env" else FileKind.COMPOSE) for p in files]
    dm = build_deployment(sfs, {p: t.encode() for p, t in files.items()})
    web = next(w for w in dm.workloads if w.name == "web")
    assert web.containers[0].image == "shop/web:3.3"
    assert [(d.source, d.target, d.file, d.line) for d in dm.depends_on] == [
        ("web", "cart", "docker-compose.yml", 8),
        ("web", "db", "docker-compose.yml", 9),
    ]


@pytest.mark.parametrize("text", ["", "services: 3\n", "services:\n  a: [1, 2]\n", "version: '3'\n", "services:\n  a:\n    depends_on: {b: {condition: x}}\n", ": :\n"])
def test_odd_compose_files_never_raise(text: str) -> None:
    cf, _ = parse_compose(text, "docker-compose.yml", {})
    merge_compose([cf])


def test_bare_environment_names_take_dot_env_values_and_layered_lists_merge() -> None:
    files = {
        ".env": "CART_PORT=7070\nCART_ADDR=cart:${CART_PORT}\nLITERAL='a${B}'\n",
        "compose.yaml": "services:\n  checkout:\n    image: c:1\n    environment:\n      - CART_ADDR\n      - A=1\n",
        "compose.full.yaml": "services:\n  checkout:\n    environment:\n      - KAFKA_ADDR=kafka:9092\n",
    }
    assert parse_env_file(files[".env"]) == {"CART_PORT": "7070", "CART_ADDR": "cart:7070", "LITERAL": "a${B}"}
    sfs = [SourceFile(p, FileKind.ENV if p == ".env" else FileKind.COMPOSE) for p in files]
    dm = build_deployment(sfs, {p: t.encode() for p, t in files.items()})
    (w,) = dm.workloads
    assert [(e.name, e.value, e.file, e.line) for e in w.containers[0].env] == [
        ("CART_ADDR", "cart:7070", "compose.yaml", 5),
        ("A", "1", "compose.yaml", 6),
        ("KAFKA_ADDR", "kafka:9092", "compose.full.yaml", 4),
    ]


def test_test_stacks_are_not_the_deployment() -> None:
    files = {"compose.tests.yaml": "services:\n  e2e:\n    image: cypress\n"}
    dm = build_deployment([SourceFile(p, FileKind.COMPOSE) for p in files], {p: t.encode() for p, t in files.items()})
    assert dm.workloads == []


def test_env_file_entries_feed_the_service_environment() -> None:
    files = {
        "deploy/docker-compose.yml": "services:\n  web:\n    image: w:1\n    env_file:\n      - ./web.env\n      - missing.env\n"
        "    environment:\n      CART_URL: http://cart:9000\n",
        "deploy/web.env": "# web\nCART_URL=http://cart:1\nDATABASE_URL=postgres://u@db:5432/shop\n",
    }
    kinds = {"deploy/web.env": FileKind.ENV}
    sfs = [SourceFile(p, kinds.get(p, FileKind.COMPOSE)) for p in files]
    dm = build_deployment(sfs, {p: t.encode() for p, t in files.items()})
    (w,) = dm.workloads
    assert [(e.name, e.value, e.file, e.line) for e in w.containers[0].env] == [
        ("CART_URL", "http://cart:9000", "deploy/docker-compose.yml", 8),
        ("DATABASE_URL", "postgres://u@db:5432/shop", "deploy/web.env", 3),
    ]
    assert [(d.file, d.line, d.message) for d in dm.diagnostics] == [
        ("deploy/docker-compose.yml", 2, "env_file deploy/missing.env of web not found")
    ]
