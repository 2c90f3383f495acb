"""Changeability metrics from real git repositories built in temp dirs with scripted commits."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from qualscan.config import Config, load_config
from qualscan.discovery import git_log
from qualscan.engine.pipeline import scan_path
from qualscan.metrics import GIT_LOG_ARGS, analyze_project
from qualscan.metrics.history import change_coupling, parse_git_log
from qualscan.model import FileKind, SourceFile

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

BASE_TIME = int(time.time()) - 100 * 86400  # inside the default one-year window
COMPLEX = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(25)) + "    return -1\n"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, author: str = "Ann <ann@example.com>") -> str:
        name, email = author[:-1].split(" <")
        day = BASE_TIME + self.n * 86400
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": f"@{day} +0000",
            "GIT_COMMITTER_DATE": f"@{day} +0000",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True, text=True).stdout

    def commit(self, files: dict[str, str], author: str = "Ann <ann@example.com>") -> None:
        for rel, text in files.items():
            p = self.root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        self.n += 1
        self.git("add", "-A", author=author)
        self.git("commit", "-q", "-m", f"change {self.n}", author=author)


@pytest.fixture
def shop(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "shop")
    base = {
        "services/cart/requirements.txt": "",
        "services/checkout/requirements.txt": "",
        "services/cart/cart.py": "def add(x):\n    return x\n",
        "services/checkout/views.py": COMPLEX,
        "services/checkout/forms.py": "A = 0\n",
    }
    repo.commit(base)
    # 6 commits touching views.py and forms.py together (Bob 4, Ann 2); 2 touching cart alone
    for i in range(6):
        author = "Bob <bob@example.com>" if i % 3 else "Ann <ann@example.com>"
        repo.commit(
            {"services/checkout/views.py": COMPLEX + f"# rev {i}\n", "services/checkout/forms.py": f"A = {i + 1}\n"},
            author=author,
        )
    for i in range(2):
        repo.commit({"services/cart/cart.py": f"def add(x):\n    return x + {i}\n"})
    return repo


def _log(repo: Repo) -> str:
    return repo.git("log", *GIT_LOG_ARGS, "--relative", "--", ".")


def test_parse_git_log_one_pass(shop: Repo) -> None:
    commits, bad = parse_git_log(_log(shop))
    assert bad == 0
    assert len(commits) == 9
    newest = commits[0]
    assert newest.author == "ann@example.com"
    assert newest.files == [("services/cart/cart.py", 1, 1)]
    first = commits[-1]
    assert sorted(p for p, _, _ in first.files) == [
        "services/cart/cart.py",
        "services/cart/requirements.txt",
        "services/checkout/forms.py",
        "services/checkout/requirements.txt",
        "services/checkout/views.py",
    ]


def _project(repo: Repo, log: str | None, problem: str | None = None):
    import ast

    from qualscan.metrics import analyze_file

    files = []
    facts = {}
    for p in sorted(repo.root.rglob("*.py")):
        rel = p.relative_to(repo.root).as_posix()
        svc = rel.split("/")[1]
        files.append(SourceFile(path=rel, kind=FileKind.PYTHON, service=svc))
        text = p.read_text()
        facts[rel] = analyze_file(rel, text, ast.parse(text), Config())
    return analyze_project(
        config=Config(),
        files=files,
        services=(),
        file_facts=facts,
        git_log=log,
        git_problem=problem,
        coverage=(),
        journeys=(),
        critical_services=frozenset(),
    )


def test_churn_authors_hotspots_and_change_coupling(shop: Repo) -> None:
    pm = _project(shop, _log(shop))
    rows = {f["path"]: f for f in pm.files}
    views = rows["services/checkout/views.py"]
    # 7 commits; each of the 6 edits rewrote the comment line: +1 -1 (the first one only added)
    assert (views["commits"], views["lines_added"], views["lines_removed"]) == (7, 52 + 6, 5)
    # Ann: initial + edits 0 and 3 = 3 commits, Bob: 4 -> main author Bob 4/7
    assert (views["authors"], views["main_author_share"]) == (2, round(4 / 7, 4))
    # hotspots: commits x the file's cyclomatic complexity (radon's total: 1 + decision points);
    # views: 7 x (1 + 25 ifs), forms: 7 x 1, cart: 3 x 1
    assert [(h["file"], h["score"], h["rank"]) for h in pm.hotspots] == [
        ("services/checkout/views.py", 7 * 26, 1),
        ("services/checkout/forms.py", 7, 2),
        ("services/cart/cart.py", 3, 3),
    ]
    # coupling: views+forms changed together 7 times of 7 and 7 revisions -> 100 %
    assert pm.change_coupling["files"] == [
        {
            "a": "services/checkout/forms.py",
            "b": "services/checkout/views.py",
            "shared": 7,
            "revisions": [7, 7],
            "degree": 100.0,
        }
    ]
    # cart has only 3 revisions (< 5): no service coupling reported
    assert pm.change_coupling["services"] == []
    row = pm.services["checkout"]
    assert row["commits"] == 7 and row["authors"] == 2
    # changeability: views.py (7 commits, cyclomatic 26 >= 20) holds checkout's SLOC share
    views_sloc, forms_sloc = views["sloc"], rows["services/checkout/forms.py"]["sloc"]
    assert row["changeability"]["value"] == round(100 * views_sloc / (views_sloc + forms_sloc), 2)


def test_change_coupling_thresholds_code_maat() -> None:
    # a,b together 5 times; a alone 5 more -> degree 5 / mean(10, 5) = 66.67 %
    sets = [{"a", "b"}] * 5 + [{"a"}] * 5
    assert change_coupling(sets, min_revisions=5, min_percent=30, max_changeset=30) == [
        {"a": "a", "b": "b", "shared": 5, "revisions": [10, 5], "degree": 66.67}
    ]
    # only 4 shared revisions: below the minimum
    assert change_coupling([{"a", "b"}] * 4 + [{"a"}, {"b"}], min_revisions=5, min_percent=30, max_changeset=30) == []
    # a changeset over the size limit is ignored entirely
    big = {"a", "b", *map(str, range(40))}
    assert change_coupling([big] * 6, min_revisions=5, min_percent=30, max_changeset=30) == []
    # under 30 %: a 20 times, b 5 times, 5 together -> 5 / 12.5 = 40 %; a 40 times -> 5 / 22.5 = 22 %
    sets = [{"a", "b"}] * 5 + [{"a"}] * 35
    assert change_coupling(sets, min_revisions=5, min_percent=30, max_changeset=30) == []


def test_hotspot_rule_through_the_pipeline(shop: Repo) -> None:
    (shop.root / "qualscan.toml").write_text("[rules.QS307]\nmin_commits = 5\n")
    config = load_config(shop.root).with_overrides(select=("QS307",), use_cache=False)
    result = scan_path(shop.root, config, use_cache=False)
    hits = sorted((f.file, f.line, f.rule) for f in result.findings)
    assert hits == [("services/checkout/views.py", 1, "QS307")]


def test_shallow_clone_has_partial_history(shop: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{shop.root}", str(clone)], check=True, capture_output=True
    )
    text, problem = git_log(clone, GIT_LOG_ARGS, 100_000)
    assert problem is not None and "shallow" in problem
    commits, _ = parse_git_log(text or "")
    assert len(commits) == 1  # the grafted tip: every file appears added once
    pm = _project(_Existing(clone), text, problem)
    views = next(f for f in pm.files if f["path"] == "services/checkout/views.py")
    assert views["commits"] == 1
    assert pm.history == {"available": True, "problem": problem, "commits": 1, "churn_days": 365}


class _Existing(Repo):
    def __init__(self, root: Path) -> None:  # an existing checkout: no git init
        self.root = root
        self.n = 0


def test_no_git_directory_metric_absent(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "services/cart").mkdir(parents=True)
    (root / "services/cart/requirements.txt").write_text("")
    (root / "services/cart/cart.py").write_text("def add(x):\n    return x\n")
    text, problem = git_log(root, GIT_LOG_ARGS, 365)
    assert text is None and problem is not None and "not a git repository" in problem
    pm = _project(_Existing(root), None, problem)
    assert pm.hotspots is None and pm.change_coupling is None
    assert pm.services["cart"]["changeability"] == {"value": None, "grade": None}
    assert "commits" not in pm.files[0]
    assert pm.to_json()["history"] == {"available": False, "problem": problem}
    result = scan_path(root, Config(select=("QS307",)), use_cache=False)
    assert result.findings == ()
    assert any("not a git repository" in d.message for d in result.diagnostics)


def test_garbage_and_missing_objects_do_not_raise() -> None:
    text = "\x1eabc\x1fnot-a-time\x1fX\x1fx@y\n1\t2\tf.py\n\x1edef\x1f1700000000\x1fY\x1fy@z\nnonsense line\n-\t-\tbin.dat\n"
    commits, bad = parse_git_log(text)
    assert bad == 2
    assert [(c.sha, c.files) for c in commits] == [("def", [("bin.dat", 0, 0)])]


def test_history_with_missing_objects_is_partial(shop: Repo) -> None:
    # delete the blob of forms.py's second version: `git log --numstat` dies when it diffs that commit
    sha = shop.git("rev-parse", "HEAD~7:services/checkout/forms.py").strip()
    obj = shop.root / ".git" / "objects" / sha[:2] / sha[2:]
    obj.chmod(0o644)
    obj.unlink()
    text, problem = git_log(shop.root, GIT_LOG_ARGS, 100_000)
    assert problem is not None and "git log failed" in problem
    commits, _ = parse_git_log(text or "")
    assert 0 < len(commits) < 9  # the commits before the broken diff are kept
    pm = _project(_Existing(shop.root), text, problem)
    assert pm.hotspots is not None and pm.hotspots[0]["file"] in {
        "services/checkout/views.py",
        "services/cart/cart.py",
        "services/checkout/forms.py",
    }
    assert pm.history["problem"] == problem


def _scan_with_history(files: dict[str, str], log: str | None):
    """``scan_sources`` plus a git log text: the pipeline's own ``run`` on an in-memory inventory."""
    from qualscan.config import parse_config
    from qualscan.discovery import build_inventory
    from qualscan.engine.pipeline import ScanInputs, run

    config = parse_config(files["qualscan.toml"].encode()) if "qualscan.toml" in files else Config()
    config = config.with_overrides(select=("QS307",), jobs=1)
    blobs = {k: v.encode() for k, v in files.items()}
    inventory = build_inventory(((p, len(b)) for p, b in blobs.items()), config, root_name="repo")
    inputs = ScanInputs(inventory=inventory, read=blobs.__getitem__, root_name="repo", git_text=log)
    return run(inputs, config)


@pytest.mark.parametrize("kind", ["VALID", "INVALID"])
def test_hotspot_examples_with_their_history(kind: str) -> None:
    from qualscan.rules.qs307_history import Hotspot

    from qualscan.engine.suppress import parse_expectations

    for example, log in zip(getattr(Hotspot, kind), Hotspot.EXAMPLE_GIT_LOG[kind]):
        result = _scan_with_history(dict(example), log)
        got = {(f.file, f.line) for f in result.findings if f.rule == "QS307"}
        expected = {
            (path, line)
            for path, text in example.items()
            for line, codes in parse_expectations(text).items()
            if "QS307" in codes
        }
        assert got == expected
