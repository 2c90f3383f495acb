"""Import graph, coupling, cycles to break, cross-service imports, shared libraries, clones and the
quality matrix, on real mini-monorepos run through the real pipeline (``scan_sources``)."""

from __future__ import annotations

import pytest

from qualscan.config import Config, parse_config
from qualscan.engine.pipeline import scan_sources
from qualscan.metrics import grade
from qualscan.metrics.clones import find_clones
from qualscan.metrics.raw import raw_and_tokens

REPO = {
    "services/cart/requirements.txt": "",
    "services/checkout/requirements.txt": "",
    "services/order/requirements.txt": "",
    "libs/common/pyproject.toml": "",
    "libs/common/common/__init__.py": "",
    "libs/common/common/money.py": "def cents(x):\n    return int(x * 100)\n",
    "services/cart/app/__init__.py": "",
    "services/cart/app/models.py": "import abc\n\n\nclass Line(abc.ABC):\n    pass\n\n\nclass Basket:\n    pass\n",
    "services/checkout/app/__init__.py": "",
    # a -> b -> c -> a and a <-> b: one SCC {a, b, c}
    "services/checkout/app/a.py": "from . import b\nfrom common.money import cents\n",
    "services/checkout/app/b.py": "from . import a\nfrom . import c\n",
    "services/checkout/app/c.py": (
        "from typing import TYPE_CHECKING\n"
        "from services.cart.app.models import Line\n"
        "from . import a\n"
        "if TYPE_CHECKING:\n"
        "    from . import b\n"
    ),
    "services/checkout/app/lazy.py": "def f():\n    from . import a\n    return a\n",
    "services/order/app/__init__.py": "",
    # `app.models` here means order's own app package, never cart's
    "services/order/app/main.py": "import app.models\nfrom common import money\n",
}


@pytest.fixture(scope="module")
def metrics() -> dict:
    return scan_sources(REPO, Config()).metrics


def test_import_cycles_are_a_small_set_to_break(metrics: dict) -> None:
    # shortest cycle through a (the first file): a -> b -> a, closed by b's `from . import a` (line 1);
    # then a -> b -> c -> a, closed by c's `from . import a` (line 3). TYPE_CHECKING and lazy imports
    # do not count.
    got = [(c["break"]["file"], c["break"]["line"], c["modules"]) for c in metrics["import_cycles"]]
    a, b, c = (f"services/checkout/app/{n}.py" for n in "abc")
    assert got == [(b, 1, [a, b, a]), (c, 3, [a, b, c, a])]


def test_cross_service_import_and_own_package(metrics: dict) -> None:
    assert [(c["file"], c["line"], c["service"], c["target_service"]) for c in metrics["cross_service_imports"]] == [
        ("services/checkout/app/c.py", 2, "checkout", "cart")
    ]
    deps = metrics["services"]["checkout"]["depends_on"]
    assert deps == {"services": ["cart"], "libraries": ["common"]}
    assert metrics["services"]["cart"]["depended_on_by"] == ["checkout"]
    assert metrics["services"]["order"]["depends_on"] == {"services": [], "libraries": ["common"]}
    assert metrics["shared_libraries"] == [
        {"name": "common", "files": 2, "used_by": ["checkout", "order"], "shared_fate": False}
    ]


def test_module_coupling_table(metrics: dict) -> None:
    rows = {m["path"]: m for m in metrics["modules"]}
    a = rows["services/checkout/app/a.py"]
    # a imports b and common/money.py (Ce=2); imported by b, c, lazy (Ca=3): I = 2/5
    assert (a["ca"], a["ce"], a["instability"]) == (3, 2, 0.4)
    models = rows["services/cart/app/models.py"]
    # 1 abstract class of 2 -> A = 0.5; imported by c only, imports nothing internal -> I = 0
    assert (models["ca"], models["ce"], models["instability"], models["abstractness"], models["distance"]) == (
        1,
        0,
        0.0,
        0.5,
        0.5,
    )


def test_matrix_columns_and_grades(metrics: dict) -> None:
    row = metrics["services"]["checkout"]
    # 3 of the 5 checkout modules (__init__, a, b, c, lazy) are in an import cycle: 60 %
    assert row["modularity"] == {"value": 60.0, "grade": "E"}
    assert row["coupling"] == {"value": 1.0, "grade": "B"}  # cart
    assert row["coverage"] == {"value": None, "grade": None}  # no data: absent
    assert row["changeability"] == {"value": None, "grade": None}  # no git: absent
    assert metrics["services"]["cart"]["modularity"] == {"value": 0.0, "grade": "A"}


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("complexity", 2, "A"),
        ("complexity", 2.01, "B"),
        ("complexity", 20, "D"),
        ("complexity", 21, "E"),
        ("coverage", 80, "A"),
        ("coverage", 79.9, "B"),
        ("coverage", 39, "E"),
        ("coverage", None, None),
    ],
)
def test_grade_thresholds(column: str, value: float | None, expected: str | None) -> None:
    assert grade(column, value) == expected


def test_grade_thresholds_from_config() -> None:
    config = parse_config(b"[grades]\ncoverage = [95, 90, 85, 80]\n")
    assert grade("coverage", 92, config) == "B"
    assert grade("coverage", 92) == "A"


# -- clones --------------------------------------------------------------------------------------

FUNC = """def clean_address(payload):
    street = str(payload.get("street", "")).strip()
    city = str(payload.get("city", "")).strip()
    if not street or not city:
        raise ValueError("street and city are required")
    postcode = str(payload.get("postcode", "")).replace(" ", "").upper()
    return {"street": street, "city": city, "postcode": postcode}
"""


def _stream(text: str) -> tuple[str, list[int]]:
    _, toks, runs = raw_and_tokens(text)
    return toks, runs


def test_renamed_copy_is_a_clone_with_exact_lines() -> None:
    renamed = "import json\n\n\n" + FUNC.replace("payload", "data").replace("clean_address", "norm").replace(
        '"city"', '"town"'
    )
    groups = find_clones(
        {"svc1/a.py": _stream(FUNC), "svc2/b.py": _stream(renamed), "svc1/c.py": _stream("x = 1\n")},
        {"svc1/a.py": "one", "svc2/b.py": "two"},
        min_tokens=50,
        min_lines=6,
    )
    assert len(groups) == 1
    g = groups[0]
    assert [(o["file"], o["line"], o["end_line"], o["service"]) for o in g["occurrences"]] == [
        ("svc1/a.py", 1, 7, "one"),
        ("svc2/b.py", 4, 10, "two"),
    ]
    assert g["cross_service"] is True and g["services"] == ["one", "two"]
    assert g["lines"] == 7


def test_clone_minimum_size() -> None:
    streams = {"a.py": _stream(FUNC), "b.py": _stream(FUNC)}
    assert find_clones(streams, {}, min_tokens=50, min_lines=8) == []  # only 7 lines
    tokens = len(streams["a.py"][0])
    assert find_clones(streams, {}, min_tokens=tokens + 1, min_lines=1) == []
    (g,) = find_clones(streams, {}, min_tokens=tokens, min_lines=1)
    assert g["tokens"] == tokens


def test_operators_differ_no_clone() -> None:
    other = FUNC.replace(" or ", " and ").replace("not street", "street")
    assert find_clones({"a.py": _stream(FUNC), "b.py": _stream(other)}, {}, min_tokens=50, min_lines=6) == []


def test_duplicated_lines_percent_per_service() -> None:
    repo = {
        "services/a/requirements.txt": "",
        "services/b/requirements.txt": "",
        "services/a/x.py": FUNC,
        "services/b/y.py": "import os\n\n\n" + FUNC,
    }
    m = scan_sources(repo, Config()).metrics
    assert m["services"]["a"]["reuse"]["value"] == 100.0  # 7 of 7 lines
    assert m["services"]["b"]["reuse"]["value"] == round(100 * 7 / 10, 2)
    assert m["services"]["b"]["cross_service_clones"] == 1
    assert {(o["file"], o["line"]) for g in m["clones"] for o in g["occurrences"]} == {
        ("services/a/x.py", 1),
        ("services/b/y.py", 4),
    }


def test_shared_fate_library_used_by_three_services() -> None:
    repo = {
        "libs/common/pyproject.toml": "",
        "libs/common/common/__init__.py": "",
        "libs/common/common/ids.py": "def new_id():\n    return 1\n",
        **{f"services/s{i}/requirements.txt": "" for i in range(3)},
        **{f"services/s{i}/main.py": "from common.ids import new_id\n" for i in range(3)},
    }
    m = scan_sources(repo, Config()).metrics
    assert m["shared_libraries"] == [{"name": "common", "files": 2, "used_by": ["s0", "s1", "s2"], "shared_fate": True}]
    assert m["cross_service_imports"] == []


def test_metrics_output_is_deterministic() -> None:
    import json

    first = json.dumps(scan_sources(REPO, Config()).metrics, sort_keys=False)
    second = json.dumps(scan_sources(dict(reversed(list(REPO.items()))), Config()).metrics, sort_keys=False)
    assert first == second


def test_stale_facts_are_left_out_with_a_diagnostic() -> None:
    import ast

    from qualscan.metrics import analyze_file, analyze_project
    from qualscan.model import FileKind, SourceFile

    good = analyze_file("a.py", "x = 1\n", ast.parse("x = 1\n"), Config())
    old = dict(good, version=1, token_lines=[[1, 3]])  # an engine cache entry from an older qualscan
    pm = analyze_project(
        config=Config(),
        files=[SourceFile("a.py", FileKind.PYTHON), SourceFile("b.py", FileKind.PYTHON)],
        services=(),
        file_facts={"a.py": good, "b.py": old},
        git_log=None,
        git_problem=None,
        coverage=(),
        journeys=(),
        critical_services=frozenset(),
    )
    assert [f["path"] for f in pm.files] == ["a.py"]
    assert [(d.file, d.line) for d in pm.diagnostics] == [(".", 0)]
    assert "another format" in pm.diagnostics[0].message
