"""The walk and ``build_inventory`` after their issue #8 tuning answer as the plain formulations
they replaced: one ``lstat`` per entry, ``.gitignore`` looked up in the listing, suffixes without
``os.path.splitext``, owners looked up once per directory, ``SourceFile`` built without its
frozen ``__init__``. Checked on real trees (the CPython standard library) and generated inputs."""

from __future__ import annotations

import os
import pickle
import re
import stat
from dataclasses import asdict
from pathlib import Path

import pathspec
from hypothesis import given, settings
from hypothesis import strategies as st

from qualscan.config import Config
from qualscan.discovery import (
    _FAST_SOURCE_FILE,
    _MARKER_PATTERNS,
    BUILD_MARKERS,
    TEST_DIRS,
    _is_marker,
    _owner,
    _OwnerLookup,
    _source_file,
    _suffix,
    build_inventory,
    discover,
    is_test_path,
    walk,
)
from qualscan.model import FileKind, SourceFile

STDLIB = Path(os.__file__).resolve().parent


def reference_walk(root: Path, config: Config) -> list[tuple[str, int]]:
    """What the walk lists, written plainly: os.walk, pathspec for the excludes and every
    ``.gitignore`` (matched relative to its directory), symbolic links and special files skipped."""
    excludes = pathspec.GitIgnoreSpec.from_lines([*config.exclude, *config.extend_exclude])
    specs: dict[str, pathspec.GitIgnoreSpec] = {}
    out = []

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        if excludes.match_file(probe):
            return True
        for base, spec in specs.items():
            if base == "" or rel.startswith(base + "/"):
                sub = rel[len(base) + 1 :] if base else rel
                if spec.match_file(sub + "/" if is_dir else sub):
                    return True
        return False

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        gi = os.path.join(dirpath, ".gitignore")
        if os.path.isfile(gi) and not os.path.islink(gi):
            with open(gi, encoding="utf-8", errors="replace") as fh:
                specs[rel_dir] = pathspec.GitIgnoreSpec.from_lines(fh.read().splitlines())

        def join(name: str, rel_dir: str = rel_dir) -> str:
            return f"{rel_dir}/{name}" if rel_dir else name

        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)) and not ignored(join(d), True)]
        for name in filenames:
            st_ = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st_.st_mode) and not ignored(join(name), False):
                out.append((join(name), st_.st_size))
    return sorted(out)


def test_walk_of_the_standard_library_matches_the_plain_walk() -> None:
    config = Config()
    entries, diags = walk(STDLIB, config)
    assert diags == []
    assert sorted(entries) == reference_walk(STDLIB, config)
    assert len(entries) > 1000 and not any("__pycache__" in p or p.startswith("site-packages/") for p, _ in entries)


def test_walk_with_nested_gitignores_matches_the_plain_walk(tmp_path: Path) -> None:
    files = {
        ".gitignore": "*.log\n/generated/\ndocs/_build/\n",
        "app/.gitignore": "local_*.py\n!local_keep.py\ncache/\n",  # a negation: pathspec's own matching
        "app/x/.gitignore": "*.tmp\n/only_here.py\n",
        "app/main.py": "", "app/local_settings.py": "", "app/local_keep.py": "", "app/cache/c.py": "",
        "app/x/a.tmp": "", "app/x/only_here.py": "", "app/x/y/only_here.py": "", "app/x/y/b.py": "",
        "generated/g.py": "", "sub/generated/g.py": "", "docs/_build/i.html": "", "docs/index.md": "",
        "run.log": "", "app/run.log": "", "venv/lib.py": "", "a.egg-info/PKG-INFO": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    config = Config(extend_exclude=("docs/index.md",))
    entries, diags = walk(tmp_path, config)
    assert diags == []
    assert sorted(entries) == reference_walk(tmp_path, config)
    assert {p for p, _ in entries} == {
        ".gitignore", "app/.gitignore", "app/x/.gitignore", "app/main.py", "app/local_keep.py", "app/x/y/only_here.py",
        "app/x/y/b.py", "sub/generated/g.py",
    }


def test_inventory_of_the_standard_library_is_the_one_built_from_its_walk() -> None:
    config = Config()
    inventory = discover(STDLIB, config)
    entries, _ = walk(STDLIB, config)
    for f in inventory.files:
        assert f == SourceFile(path=f.path, kind=f.kind, service=f.service, size=f.size, is_test=f.is_test,
                               language=f.language, library=f.library)
        assert f.is_test == is_test_path(f.path)
        assert (f.kind is FileKind.PYTHON) == (os.path.splitext(f.path.rpartition("/")[2].lower())[1] == ".py")
    assert [f.path for f in inventory.files] == sorted(p for p, _ in entries)


def test_source_file_without_init_is_the_dataclass_instance() -> None:
    assert _FAST_SOURCE_FILE  # the fast path is the one in use (else this test checks the plain one)
    args = ("a/b.py", FileKind.PYTHON, "cart", 12, True, "python", None)
    fast = _source_file(*args)
    plain = SourceFile(*args)
    assert type(fast) is SourceFile and fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert list(vars(fast).items()) == list(vars(plain).items()) and asdict(fast) == asdict(plain)
    assert pickle.loads(pickle.dumps(fast)) == plain  # the inventory crosses a process boundary (parallel.py)


_name = st.text(alphabet=".aPy", min_size=0, max_size=6)


@settings(max_examples=300, deadline=None)
@given(_name)
def test_suffix_is_splitext(name: str) -> None:
    assert _suffix(name) == os.path.splitext(name)[1]


_dir = st.sampled_from(["a", "b", "tests", "test", "spec", "src", "Tests", ""])
_rel = st.lists(_dir, min_size=1, max_size=4).map("/".join)
_file = st.sampled_from(["x.py", "test_x.py", "x_test.py", "conftest.py", "a.test.ts", "XTest.java", "tests"])


@settings(max_examples=300, deadline=None)
@given(_rel, _file)
def test_is_test_path_as_before(directory: str, name: str) -> None:
    test_file = re.compile(r"^(test_.*\.py|.*_test\.py|conftest\.py|.*_test\.go|.*\.(test|spec)\.[jt]sx?|.*Tests?\.(java|cs))$")
    for path in (name, f"{directory}/{name}"):
        parts = path.split("/")
        assert is_test_path(path) == (any(p in TEST_DIRS for p in parts[:-1]) or bool(test_file.match(parts[-1])))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*BUILD_MARKERS, "requirements-dev.txt", "requirements.txt\n", "a.csproj", "Dockerfile.x",
                        "Dockerfile.", "xrequirements.txt", "pyproject.toml.bak", "setup.py\n", "x"]))
def test_is_marker_as_before(name: str) -> None:
    assert _is_marker(name) == (name in BUILD_MARKERS or any(p.match(name) for p in _MARKER_PATTERNS))


@settings(max_examples=300, deadline=None)
@given(st.lists(_rel, max_size=5), st.lists(_rel, min_size=1, max_size=10))
def test_owner_lookup_as_owner(dirs: list[str], paths: list[str]) -> None:
    table = {d: d.upper() for d in dirs}
    lookup = _OwnerLookup(table)
    for path in paths + [f"{p}/f.py" for p in paths]:
        assert lookup(path, path.rpartition("/")[0]) == _owner(path, table), (dirs, path)


def test_inventory_services_of_a_monorepo(tmp_path: Path) -> None:
    """Owners resolved per directory on a tree with nested services and a shared library."""
    files = ["services/cart/pyproject.toml", "services/cart/app/main.py", "services/cart/app/sub/x.py",
             "services/pay/Dockerfile", "services/pay/src/pay.py", "libs/common/pyproject.toml", "libs/common/c.py",
             "tools/t.py", "README.md"]
    inventory = build_inventory([(f, 1) for f in files], Config())
    owner = {f.path: (f.service, f.library) for f in inventory.files}
    assert owner == {
        "README.md": (None, None), "tools/t.py": (None, None),
        "libs/common/c.py": (None, "common"), "libs/common/pyproject.toml": (None, "common"),
        "services/cart/app/main.py": ("cart", None), "services/cart/app/sub/x.py": ("cart", None),
        "services/cart/pyproject.toml": ("cart", None),
        "services/pay/Dockerfile": ("pay", None), "services/pay/src/pay.py": ("pay", None),
    }
