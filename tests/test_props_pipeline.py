"""Issue #9, property-based, end to end: random Python programs, random file trees (random names,
random bytes, random manifests) through discovery, the per-file pass, the graph, metrics, rules and
scoring. No exception escapes, the JSON report stays valid against the schema, every path in it is
relative to the root, and a known-bad call planted in the tree is still reported on its line.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path, PurePosixPath

import jsonschema
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qualscan.config import Config
from qualscan.engine.pipeline import scan_path, scan_sources
from qualscan.model import ScanResult
from qualscan.reporters import json_report

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CONFIG = Config(use_cache=False, jobs=1)
PLANTED = "import requests\n\n\ndef planted(u):\n    return requests.get(u)\n"
PLANTED_PATH = "services/cart/app/planted.py"

# --- random Python programs from a small grammar ----------------------------------------------------

NAMES = st.sampled_from(["u", "url", "x", "session", "client", "data", "items", "i", "resp", "self"])
CALLEES = st.sampled_from(
    ["requests.get", "requests.post", "requests.Session().get", "session.get", "httpx.get", "httpx.Client().get",
     "urllib.request.urlopen", "redis.Redis().keys", "time.sleep", "client.get", "cache.set", "producer.send", "f"]
)
KWARGS = st.lists(
    st.sampled_from(["timeout=5", "timeout=None", "timeout=(1, 2)", "timeout=t", "json=data", "verify=False",
                     "headers={'Idempotency-Key': k}", "**kw", "retries=3", "ex=60"]),
    max_size=3,
)


@st.composite
def call(draw: st.DrawFn) -> str:
    args = [draw(NAMES)] if draw(st.booleans()) else [repr(draw(st.sampled_from(["http://pay:8080/x", "https://a.b/c", "redis://r:6379"])))]
    return f"{draw(CALLEES)}({', '.join(args + draw(KWARGS))})"


@st.composite
def block(draw: st.DrawFn, depth: int = 0) -> list[str]:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["call", "assign", "return", "if", "for", "while", "with", "try", "def", "async", "lambda"]
                                    if depth < 4 else ["call", "assign", "return"]))
        if kind == "call":
            lines.append(draw(call()))
        elif kind == "assign":
            lines.append(f"{draw(NAMES)} = {draw(call())}")
        elif kind == "return":
            lines.append(f"return {draw(call())}")
        elif kind == "lambda":
            lines.append(f"g = lambda {draw(NAMES)}: {draw(call())}")
        else:
            header = {
                "if": "if x:", "for": f"for {draw(NAMES)} in items:", "while": "while True:",
                "with": "with transaction.atomic():", "try": "try:", "def": f"def fn_{depth}({draw(NAMES)}):",
                "async": f"async def afn_{depth}({draw(NAMES)}):",
            }[kind]
            if kind == "def" and draw(st.booleans()):
                lines.append(draw(st.sampled_from(["@retry", "@lru_cache(maxsize=None)", "@backoff.on_exception(backoff.expo, Exception)", "@tenacity.retry()"])))
            lines.append(header)
            lines += ["    " + ln for ln in draw(block(depth + 1))]
            if kind == "try":
                lines.append(draw(st.sampled_from(["except Exception:", "except:", "except ValueError as e:"])))
                lines.append("    pass")
    return lines


PROGRAMS = block().map(
    lambda lines: "import requests, httpx, redis, time, urllib.request, backoff, tenacity\n"
    "from functools import lru_cache\nfrom django.db import transaction\n" + "\n".join(lines) + "\n"
)


def check(result: ScanResult) -> dict[str, object]:
    data = json.loads(json_report.render(result))
    jsonschema.validate(data, SCHEMA)
    files = [f["file"] for f in data["findings"]] + [d["file"] for d in data["diagnostics"]]  # type: ignore[index]
    for p in files:
        assert not PurePosixPath(p).is_absolute() and ".." not in PurePosixPath(p).parts, p
    return data


@SETTINGS
@given(program=PROGRAMS)
def test_random_programs_scan_to_a_valid_report(program: str) -> None:
    result = scan_sources({"services/cart/pyproject.toml": "[project]\nname = 'cart'\n",
                           "services/cart/app/main.py": program, PLANTED_PATH: PLANTED})
    check(result)
    assert ("QS101", PLANTED_PATH, 5) in {(f.rule, f.file, f.line) for f in result.findings}
    assert not [d for d in result.diagnostics if "internal error" in d.message], result.diagnostics
    n_lines = program.count("\n")
    for f in result.findings:
        if f.file == "services/cart/app/main.py":
            assert 1 <= f.line <= n_lines, f


# --- random trees on disk, through discovery ------------------------------------------------------

SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"), min_size=1, max_size=12
).filter(lambda s: s not in (".", ".."))
SUFFIX = st.sampled_from([".py", ".yaml", ".yml", "", ".toml", ".env", ".conf", ".txt", ".go", ".js", "/Dockerfile",
                          "/docker-compose.yml", "/Chart.yaml", "/kustomization.yaml", "/values.yaml", "/.gitignore", "/.coverage", "/coverage.xml"])
MANIFEST = st.sampled_from([
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {n}\nspec:\n  replicas: 1\n",
    "services:\n  {n}:\n    image: {n}:latest\n    depends_on: [db]\n  db:\n    image: postgres\n",
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {n}\nspec:\n  maxReplicas: 1\n  scaleTargetRef: {{name: {n}}}\n",
    "FROM python:3.12\nENV URL=http://{n}:8080\n",
    "*\n!{n}\n",
])


@st.composite
def tree(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for _ in range(draw(st.integers(0, 8))):
        parts = draw(st.lists(SEGMENT, min_size=1, max_size=3))
        rel = "/".join(parts) + draw(SUFFIX)
        if draw(st.booleans()):
            content = draw(MANIFEST).format(n=parts[-1][:10]).encode("utf-8", "surrogatepass")
        else:
            content = draw(st.one_of(st.binary(max_size=300), PROGRAMS.map(str.encode)))
        files[rel] = content
    return files


def _write(root: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    written: dict[str, bytes] = {}
    for rel, content in files.items():
        p = root / rel
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.is_dir():
                continue
            p.write_bytes(content)
            written[rel] = content
        except OSError:  # a name the file system refuses (too long, a file where a directory is needed)
            continue
    return written


@SETTINGS
@given(files=tree())
def test_random_trees_on_disk_scan_to_a_valid_report(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "services/cart/app").mkdir(parents=True)
        (root / "services/cart/pyproject.toml").write_text("[project]\nname = 'cart'\n")
        (root / PLANTED_PATH).write_text(PLANTED)
        _write(root, files)
        result = scan_path(root, CONFIG)
        data = check(result)
        assert ("QS101", PLANTED_PATH, 5) in {(f.rule, f.file, f.line) for f in result.findings} or any(
            p.startswith(("services/cart/app/.gitignore", "services/.gitignore", "services/cart/.gitignore", ".gitignore"))
            for p in files
        )
        assert tmp not in json.dumps(data)
        assert not os.path.exists(os.path.join(tmp, "..", "pwned"))


@SETTINGS
@given(files=tree(), docs=st.lists(st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "services"]),
                                                     st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=6)),
                                                                  lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=6), c, max_size=3)),
                                                                  max_leaves=15), max_size=5), max_size=3))
@example(files={"\\.py": b"", "a/../x.py": b"", "/abs.py": b""}, docs=[])  # found by hypothesis: a backslash path
def test_random_in_memory_monorepos_scan_to_a_valid_report(files: dict[str, bytes], docs: list[dict[str, object]]) -> None:
    blobs: dict[str, bytes | str] = dict(files)
    blobs["k8s/random.yaml"] = yaml.safe_dump_all(docs)
    blobs["docker-compose.yml"] = yaml.safe_dump({"services": {f"s{i}": d for i, d in enumerate(docs)}})
    blobs["services/cart/pyproject.toml"] = "[project]\nname = 'cart'\n"
    blobs[PLANTED_PATH] = PLANTED
    blobs = {k: v for k, v in blobs.items() if not any(k.startswith(o + "/") for o in blobs if o != k)}
    result = scan_sources(blobs)
    check(result)
