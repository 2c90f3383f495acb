"""Issue #9, bad YAML: invalid syntax, tabs, duplicate keys, Helm syntax in a plain file, binary
content, 20,000 empty documents, alias bombs, recursive aliases, absurd nesting. Each is a diagnostic
naming the file, line and reason; the good Python file and the good manifest beside it are still analysed.

The alias bomb's time and memory are measured in a fresh subprocess (``resource.getrusage``), not by
a timed unit test in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from qualscan.config import Config
from qualscan.engine.pipeline import scan_path
from qualscan.parsers import compose, k8s, yamlsafe
from qualscan.reporters import json_report

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
CONFIG = Config(use_cache=False, jobs=1)
GOOD_PY = "import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n"
GOOD_PY_PATH = "services/cart/app/client.py"
GOOD_YAML = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec:\n  replicas: 1\n"
GOOD_YAML_PATH = "services/cart/k8s/deployment.yaml"
K8S_HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: junk\n"


def billion_laughs(levels: int = 10, width: int = 9) -> str:
    """The classic: ~500 bytes that expand to width**levels nodes when the aliases are followed."""
    lines = ["a0: &a0 [" + ",".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMB = billion_laughs()


def build(root: Path, files: dict[str, str | bytes]) -> None:
    base: dict[str, str | bytes] = {
        "services/cart/pyproject.toml": "[project]\nname = 'cart'\n",
        GOOD_PY_PATH: GOOD_PY,
        GOOD_YAML_PATH: GOOD_YAML,
    }
    for rel, content in {**base, **files}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)


def assert_rest_analysed(result: object) -> None:
    from qualscan.model import ScanResult

    assert isinstance(result, ScanResult)
    found = {(f.rule, f.file, f.line) for f in result.findings}
    assert ("QS101", GOOD_PY_PATH, 5) in found
    assert ("QS201", GOOD_YAML_PATH, 6) in found  # replicas: 1 on line 6 of the good manifest
    jsonschema.validate(json.loads(json_report.render(result)), SCHEMA)


# (relative path, content, line, reason substring)
CASES: list[tuple[str, str | bytes, int, str]] = [
    ("services/cart/k8s/invalid.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: cart\nspec: [\n", 4, "not parsed"),
    ("services/cart/k8s/tabs.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: cart\n", 4, "'\\t'"),
    ("services/cart/k8s/dupes.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: cart\n  name: other\n", 5, "duplicate key 'name'"),
    ("services/cart/k8s/templated.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec:\n  replicas: {{ .Values.replicas }}\n", 1, "Go-template"),
    ("services/cart/k8s/binary.yaml", bytes(range(256)) * 8, 1, "binary content"),
    ("services/cart/k8s/bomb.yaml", K8S_HEAD + BOMB, 1, "alias bomb"),
    ("services/cart/k8s/recursive.yaml", K8S_HEAD + "data: &loop\n  self: *loop\n", 1, "recursive alias"),
    ("services/cart/k8s/deep.yaml", K8S_HEAD + "data: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested deeper than 100"),
    ("services/cart/k8s/deep_map.yaml", K8S_HEAD + "data: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", 1, "nested deeper than 100"),
    # block nesting (indentation) within the flow bound but over the recursion limit
    ("services/cart/k8s/deep_block.yaml", K8S_HEAD + "data:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(1500)), 1, "nested too deeply"),
    ("docker-compose.yml", "services:\n  web:\n    image: nginx:1.25\n" + BOMB, 1, "alias bomb"),
    ("compose.yaml", "services:\n  web:\n    image: nginx\n\tports: [80]\n", 4, "'\\t'"),
    ("compose.override.yaml", b"\x00\x01\x02services: {}\n", 1, "unacceptable character"),
]


@pytest.mark.parametrize(("rel", "content", "line", "reason"), CASES, ids=[c[0].rsplit("/", 1)[-1] for c in CASES])
def test_bad_yaml_is_a_diagnostic_and_the_rest_is_analysed(
    tmp_path: Path, rel: str, content: str | bytes, line: int, reason: str
) -> None:
    build(tmp_path, {rel: content})
    result = scan_path(tmp_path, CONFIG)
    diags = [d for d in result.diagnostics if d.file == rel]
    assert diags, f"no diagnostic for {rel}: {result.diagnostics}"
    assert any(d.line == line and reason in d.message for d in diags), diags
    assert not [f for f in result.findings if f.file == rel and f.rule != "QS201"] or rel.endswith("templated.yaml")
    assert_rest_analysed(result)


def test_twenty_thousand_empty_documents_then_a_real_one(tmp_path: Path) -> None:
    rel = "services/cart/k8s/many.yaml"
    text = "---\n" * 20_000 + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: many\nspec:\n  replicas: 1\n"
    build(tmp_path, {rel: text})
    result = scan_path(tmp_path, CONFIG)
    assert ("QS201", rel, 20_007) in {(f.rule, f.file, f.line) for f in result.findings}
    assert_rest_analysed(result)


def test_unknown_and_python_tags_load_as_plain_data() -> None:
    """SafeLoader-derived: ``!!python/object/apply`` is data, never a call (see also test_security_*)."""
    docs, diags = yamlsafe.load_documents(
        "a: !!python/object/apply:os.system ['true']\nb: !Ref Other\nc: !!binary aGk=\n", "t.yaml"
    )
    assert diags == []
    assert docs[0].data["a"] == ["true"] and docs[0].data["b"] == "Other"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BOMB, "alias bomb"),
        ("a: &x [*x]\n", "recursive alias"),
        ("a: &x {b: *x}\n", "recursive alias"),
        ("a: " + "[" * 5000 + "]" * 5000, "nested deeper than 100"),
        ("a: " + "[" * 90 + "]" * 90 + "\nb: '" + "[" * 500 + "'\n# " + "{" * 500, ""),
        ("\x00", "unacceptable character"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("a:\n\tb: 1\n", "'\\t'"),
        ("key: {{ .Values.x }}\n", "template syntax"),
    ],
)
def test_loader_level_diagnostics(text: str, reason: str) -> None:
    docs, diags = yamlsafe.load_documents(text, "x.yaml")
    if not reason:  # brackets in quoted scalars and comments do not count as nesting
        assert diags == [] and docs
        return
    assert any(reason in d.message and d.file == "x.yaml" for d in diags), diags


def test_legitimate_anchors_and_merge_keys_still_load() -> None:
    text = textwrap.dedent(
        """\
        x-defaults: &defaults
          restart: always
          environment: &env {A: "1", B: "2"}
        services:
          api:
            <<: *defaults
            image: api:1.0
            restart: "no"
          worker:
            <<: *defaults
            image: worker:1.0
            environment: *env
        """
    )
    docs, diags = yamlsafe.load_documents(text, "docker-compose.yml")
    assert diags == []
    svc = docs[0].data["services"]
    assert svc["api"]["restart"] == "no" and svc["worker"]["restart"] == "always"
    assert svc["worker"]["environment"] == {"A": "1", "B": "2"}
    cf, cdiags = compose.parse_compose(text, "docker-compose.yml")
    assert cdiags == [] and set(cf.services) == {"api", "worker"}


def test_wide_but_legitimate_aliasing_is_not_a_bomb() -> None:
    """Hundreds of services sharing one anchor expand to far less than the bound."""
    text = "x: &common {image: base:1, replicas: 2, labels: {tier: app}}\nservices:\n" + "".join(
        f"  s{i}: *common\n" for i in range(500)
    )
    docs, diags = yamlsafe.load_documents(text, "big.yaml")
    assert diags == [] and len(docs[0].data["services"]) == 500


def test_k8s_parser_survives_every_case() -> None:
    for rel, content, _, _ in CASES:
        m = k8s.parse_k8s(content if isinstance(content, str) else content.decode("utf-8", "replace"), rel)
        assert m.diagnostics and all(d.file == rel for d in m.diagnostics), rel


_MEASURE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from qualscan.parsers import yamlsafe, k8s, compose
text = sys.stdin.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
docs, diags = yamlsafe.load_documents(text, "bomb.yaml")
m = k8s.parse_k8s(text, "bomb.yaml")
cf, cd = compose.parse_compose(text, "docker-compose.yml")
json.dumps([d.data for d in docs])  # a consumer walking the data must stay cheap too
elapsed = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "rss_growth_kb": after - before, "maxrss_kb": after,
                  "diagnostics": [d.message for d in diags]}))
"""


@pytest.mark.parametrize("levels", [10, 30])
def test_alias_bomb_costs_under_a_second_and_100_mb(levels: int) -> None:
    text = K8S_HEAD + billion_laughs(levels=levels)
    assert len(text.encode()) < 2048 if levels == 10 else True
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(REPO)], input=text, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    print(f"alias bomb ({len(text)} bytes, {levels} levels): {figures}")
    assert figures["seconds"] < 1.0
    assert figures["rss_growth_kb"] < 100 * 1024
    assert any("alias bomb" in m for m in figures["diagnostics"])


@pytest.mark.parametrize(
    "text",
    [
        "--- {a: 1}\n",
        "--- !!map\na: 1\n",
        "--- |\n  text\n",
        "a: 1\n--- {b: 2}\n",
        "--- # comment\nk: v\n",
        "--- &x\nk: v\n",
        "--- [1, 2]\n---\nx: 1\n",
        "---\n--- {a: 1}\n...\n--- >\n  folded\n  text\n",
        "--- 'quoted'\n",
        "a:\n  - 1\n  - 2\n\n\n---\nb: 1\n",
        "x: 1\r\ny: 2\r\n---\r\nz: 3\r\n",
    ],
)
def test_content_on_the_document_marker_line_is_kept(text: str) -> None:
    """``--- {a: 1}`` and the like start their document on the marker line: the data equals
    PyYAML's own reading of the stream (it used to be dropped without a word)."""
    import yaml

    docs, diags = yamlsafe.load_documents(text, "k8s/x.yaml")
    assert diags == []
    assert [d.data for d in docs] == [d for d in yaml.safe_load_all(text) if d is not None]
    lines = text.splitlines()
    for d in docs:  # each document's lines are inside the text, its first line holds its content
        assert 1 <= d.start_line <= d.end_line <= len(lines)
        assert lines[d.start_line - 1].strip() not in ("", "---", "...")


def test_a_deployment_in_flow_style_on_the_marker_line_is_seen(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cart.yaml").write_text(
        "--- {apiVersion: apps/v1, kind: Deployment, metadata: {name: cart}, spec: {replicas: 1}}\n"
    )
    report = json.loads(json_report.render(scan_path(tmp_path, CONFIG)))
    assert [s["name"] for s in report["services"]] == ["cart"]
    assert any(f["rule"] == "QS201" and f["file"] == "k8s/cart.yaml" and f["line"] == 1 for f in report["findings"])
