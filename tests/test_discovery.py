"""Monorepo discovery on real directory trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qualscan.config import Config, parse_config
from qualscan.discovery import build_inventory, classify, discover, is_test_path
from qualscan.model import FileKind


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    write(
        tmp_path,
        {
            "pyproject.toml": "[tool.qualscan]\n",
            ".gitignore": "generated/\n*.log\n",
            "services/cart/pyproject.toml": "[project]\nname='cart'\n",
            "services/cart/app/main.py": "x = 1\n",
            "services/cart/app/sub/requirements-dev.txt": "pytest\n",  # nested marker: still cart
            "services/cart/tests/test_main.py": "def test(): pass\n",
            "services/cart/migrations/0001_init.py": "x = 1\n",
            "services/payment/requirements.txt": "requests\n",
            "services/payment/main.py": "x = 1\n",
            "services/reco/go.mod": "module reco\n",
            "services/reco/main.go": "package main\n",
            "services/web/package.json": "{}\n",
            "services/web/src/index.ts": "export {}\n",
            "services/web/node_modules/left-pad/index.js": "module.exports = 1\n",
            "libs/shopcommon/pyproject.toml": "[project]\nname='shopcommon'\n",
            "libs/shopcommon/shopcommon/http.py": "x = 1\n",
            "deploy/k8s/cart.yaml": "kind: Deployment\n",
            "deploy/helm/shop/Chart.yaml": "name: shop\n",
            "deploy/helm/shop/templates/deployment.yaml": "kind: Deployment\n",
            "docker-compose.yml": "services: {}\n",
            "generated/out.py": "x = 1\n",
            "debug.log": "noise\n",
            ".venv/lib/site.py": "x = 1\n",
            "docs/example/pyproject.toml": "[project]\nname='ex'\n",
            "services/cart/.gitignore": "local_*.py\n",
            "services/cart/app/local_settings.py": "SECRET = 1\n",
        },
    )
    return tmp_path


def test_services_libraries_and_languages(mono: Path) -> None:
    inv = discover(mono, Config())
    assert [(s.name, s.path, s.languages) for s in inv.services] == [
        ("cart", "services/cart", ("python",)),
        ("payment", "services/payment", ("python",)),
        ("reco", "services/reco", ("go",)),
        ("web", "services/web", ("typescript",)),
    ]
    assert [(lib.name, lib.path) for lib in inv.libraries] == [("shopcommon", "libs/shopcommon")]
    by = inv.by_path()
    assert by["libs/shopcommon/shopcommon/http.py"].library == "shopcommon"
    assert by["libs/shopcommon/shopcommon/http.py"].service is None
    assert by["services/cart/app/main.py"].service == "cart"


def test_gitignore_and_default_excludes(mono: Path) -> None:
    paths = {f.path for f in discover(mono, Config()).files}
    assert "generated/out.py" not in paths  # root .gitignore
    assert "debug.log" not in paths
    assert ".venv/lib/site.py" not in paths  # default exclude
    assert "services/web/node_modules/left-pad/index.js" not in paths
    assert "services/cart/app/local_settings.py" not in paths  # nested .gitignore
    assert "services/cart/app/main.py" in paths


def test_classification(mono: Path) -> None:
    by = discover(mono, Config()).by_path()
    assert by["deploy/k8s/cart.yaml"].kind is FileKind.YAML
    assert by["deploy/helm/shop/templates/deployment.yaml"].kind is FileKind.HELM_TEMPLATE
    assert by["docker-compose.yml"].kind is FileKind.COMPOSE
    assert by["services/reco/main.go"].kind is FileKind.OTHER_SOURCE and by["services/reco/main.go"].language == "go"
    assert by["services/cart/tests/test_main.py"].is_test
    assert not by["services/cart/app/main.py"].is_test


def test_tests_and_migrations_can_be_excluded(mono: Path) -> None:
    cfg = parse_config(b"exclude_tests = true\nexclude_migrations = true\n")
    paths = {f.path for f in discover(mono, cfg).files}
    assert "services/cart/tests/test_main.py" not in paths
    assert "services/cart/migrations/0001_init.py" not in paths


def test_config_declares_and_ignores_services(mono: Path) -> None:
    cfg = parse_config(
        b'[services.storefront]\npath = "services/web"\nkind = "gateway"\n[services.reco]\nignore = true\n'
        b'[services.jobs]\npaths = ["deploy/k8s/*"]\n'
    )
    inv = discover(mono, cfg)
    names = {s.name: s for s in inv.services}
    assert "storefront" in names and names["storefront"].path == "services/web" and names["storefront"].kind.value == "gateway"
    assert "web" not in names and "reco" not in names
    assert names["jobs"].path == "deploy/k8s"


def test_user_excludes_extend_the_defaults(mono: Path) -> None:
    cfg = parse_config(b'exclude = ["services/payment/"]\n')
    paths = {f.path for f in discover(mono, cfg).files}
    assert not any(p.startswith("services/payment/") for p in paths)
    assert ".venv/lib/site.py" not in paths


def test_duplicate_service_names_are_disambiguated() -> None:
    inv = build_inventory([("a/api/Dockerfile", 1), ("b/api/Dockerfile", 1)], Config())
    assert [s.name for s in inv.services] == ["a-api", "b-api"]


def test_root_is_a_service_only_when_alone() -> None:
    inv = build_inventory([("pyproject.toml", 1), ("app.py", 1)], Config(), root_name="solo")
    assert [(s.name, s.path) for s in inv.services] == [("solo", "")]


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("x = 1\n")
    root = tmp_path / "repo"
    write(root, {"svc/requirements.txt": "x\n", "svc/app.py": "x = 1\n"})
    os.symlink(outside, root / "svc" / "escape")
    os.symlink(root / "svc", root / "svc" / "loop")
    inv = discover(root, Config())
    paths = {f.path for f in inv.files}
    assert paths == {"svc/requirements.txt", "svc/app.py"}
    msgs = {(d.file, d.message) for d in inv.diagnostics}
    assert ("svc/escape", "symbolic link points outside the scanned root; not followed") in msgs


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read unreadable directories")
def test_unreadable_directory_is_a_diagnostic(tmp_path: Path) -> None:  # pragma: no cover - CI runs as root
    write(tmp_path, {"svc/requirements.txt": "x\n", "svc/locked/a.py": "x = 1\n"})
    (tmp_path / "svc" / "locked").chmod(0)
    try:
        inv = discover(tmp_path, Config())
        assert any(d.file == "svc/locked" for d in inv.diagnostics)
    finally:
        (tmp_path / "svc" / "locked").chmod(0o755)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("a/compose.yaml", FileKind.COMPOSE),
        ("docker-compose.prod.yml", FileKind.COMPOSE),
        ("svc/Dockerfile", FileKind.DOCKERFILE),
        ("svc/Dockerfile.dev", FileKind.DOCKERFILE),
        ("gateway/nginx.conf", FileKind.NGINX),
        ("coverage.xml", FileKind.COVERAGE),
        (".coverage", FileKind.COVERAGE),
        ("lcov.info", FileKind.COVERAGE),
        (".env", FileKind.ENV),
        ("svc/App.java", FileKind.OTHER_SOURCE),
        ("README.md", FileKind.OTHER),
    ],
)
def test_classify_table(path: str, kind: FileKind) -> None:
    assert classify(path)[0] is kind


@pytest.mark.parametrize(
    ("path", "expected"),
    [("svc/tests/x.py", True), ("svc/test_x.py", True), ("svc/x_test.py", True), ("svc/conftest.py", True),
     ("svc/contest.py", False), ("svc/testing_utils.py", False), ("web/src/a.spec.ts", True)],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_generic_directory_names_take_the_parent_name() -> None:
    inv = build_inventory(
        [("src/cartservice/src/Dockerfile", 1), ("src/cartservice/src/main.cs", 1), ("src/adservice/Dockerfile", 1),
         ("backend/app/pyproject.toml", 1)],
        Config(),
    )
    assert [(s.name, s.path) for s in inv.services] == [
        ("adservice", "src/adservice"),
        ("app", "backend/app"),
        ("cartservice", "src/cartservice/src"),
    ]
    assert inv.by_path()["src/cartservice/src/main.cs"].service == "cartservice"


def test_many_services_each_own_their_files() -> None:
    entries = [(f"services/s{i}/Dockerfile", 1) for i in range(2000)]
    entries += [(f"services/s{i}/app/m{j}.py", 1) for i in range(2000) for j in range(5)]
    inv = build_inventory(entries, Config())
    assert len(inv.services) == 2000
    owners = {f.path: f.service for f in inv.files}
    assert all(owners[f"services/s{i}/app/m4.py"] == f"s{i}" for i in range(2000))
