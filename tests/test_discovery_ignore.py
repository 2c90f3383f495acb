"""Ignore patterns without pathspec (issue #8): ``discovery.pattern_regex`` translates the usual
gitignore lines itself and ``ignore_matcher`` answers exactly as pathspec's ``GitIgnoreSpec`` does;
pathspec is imported only for the lines it leaves to pathspec (``!``, ``[...]``, ``\\``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualscan.config import Config
from qualscan.discovery import _NeedsPathspec, ignore_matcher, pattern_regex, walk

REPO = Path(__file__).resolve().parents[1]

# lines seen in real .gitignore files (GitHub's Python, Node, Go, Java templates) and edge cases
REAL_LINES = [
    "__pycache__/", "*.py[cod]", "*$py.class", "*.so", ".Python", "build/", "develop-eggs/", "dist/",
    "downloads/", "eggs/", ".eggs/", "lib/", "lib64/", "parts/", "sdist/", "var/", "wheels/",
    "share/python-wheels/", "*.egg-info/", ".installed.cfg", "*.egg", "MANIFEST", "*.manifest", "*.spec",
    "pip-log.txt", "htmlcov/", ".tox/", ".coverage", ".coverage.*", ".cache", "nosetests.xml", "coverage.xml",
    "*.cover", "*.py,cover", ".hypothesis/", ".pytest_cache/", "*.mo", "*.pot", "*.log", "local_settings.py",
    "db.sqlite3", "db.sqlite3-journal", "instance/", ".webassets-cache", ".scrapy", "docs/_build/",
    "target/", ".ipynb_checkpoints", "profile_default/", "ipython_config.py", ".pdm.toml", "__pypackages__/",
    "celerybeat-schedule", "*.sage.py", ".env", ".venv", "env/", "venv/", "ENV/", "env.bak/", "venv.bak/",
    ".spyderproject", ".ropeproject", "/site", ".mypy_cache/", ".dmypy.json", "dmypy.json", ".pyre/",
    "node_modules/", "npm-debug.log*", "yarn-debug.log*", ".pnpm-debug.log*", "report.[0-9]*.[0-9]*.json",
    "pids", "*.pid", "*.seed", "*.pid.lock", "lib-cov", "coverage", "*.lcov", ".nyc_output", ".grunt",
    "bower_components", ".lock-wscript", "build/Release", "jspm_packages/", "web_modules/", "*.tsbuildinfo",
    ".npm", ".eslintcache", "*.tgz", ".yarn-integrity", ".next", "out", ".nuxt", ".vuepress/dist",
    "*.exe", "*.exe~", "*.dll", "*.dylib", "*.test", "*.out", "go.work", "*.class", "*.jar", "hs_err_pid*",
    "/vendor/", "**/logs", "logs/**", "a/**/b", "**/", "**", "*", "*/", "/", "//", "a//b", "/a/", "/*.py",
    "   leading", "trailing   ", "trailing\\ ", "\\#hash", "\\!bang", "!keep.py", "!", "# comment", "",
    "a?c", "???", "x*y*", "dir/*", "dir/*/", "*/sub", "é/ü.txt", "a b/c d", "a.b+c(d)", "[abc", "x]y",
]
# normalised relative POSIX paths, as the walk probes them (pathspec's match_file would also strip a
# leading "/" or "./", which the walk never produces)
PATHS = [
    "a", "b", "a/b", "a/x/b", "a/x/y/b", "a/", "a/b/", "build", "build/", "src/build/", "src/build/x.py",
    "lib/", "x/lib/", "lib/x.py", "x.pyc", "pkg/x.pyc", "x.py,cover", "site/", "site/x", "x/site/",
    "vendor/", "x/vendor/", "logs", "logs/", "x/logs/", "logs/x.log", "x/logs/y", "app.log", "x/app.log",
    "docs/_build/", "docs/_build/x.html", "x/docs/_build/", "keep.py", "x/keep.py", "leading", "   leading",
    "trailing", "trailing ", "#hash", "!bang", "abc", "axc", "ac", "xy", "x1y2", "dir/x", "dir/x/", "dir/x/y",
    "q/sub", "sub", "é/ü.txt", "a b/c d", "a.b+c(d)", "x.py", "z/x.py", "y/x.py", "node_modules/", "a/node_modules/",
    "npm-debug.log.1", "go.work", "report.1.2.json", "out/", "x/out", "p.egg-info/", "x/p.egg-info/",
]


def pathspec_answers(lines: list[str]) -> list[bool] | type[ValueError]:
    try:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        return ValueError
    return [spec.match_file(p) for p in PATHS]


def ours(lines: list[str]) -> list[bool] | type[ValueError]:
    try:
        matcher = ignore_matcher(lines)
    except ValueError:
        return ValueError
    return [matcher(p) for p in PATHS]


def test_each_real_line_alone() -> None:
    translated = 0
    for line in REAL_LINES:
        assert ours([line]) == pathspec_answers([line]), line
        try:
            translated += pattern_regex(line) is not None
        except _NeedsPathspec:
            assert "\\" in line or "[" in line or line.startswith("!"), line
    assert translated > len(REAL_LINES) * 3 // 4  # most real lines need no pathspec


def test_real_lines_together_and_with_a_negation() -> None:
    plain = [line for line in REAL_LINES if "\\" not in line and "[" not in line and not line.startswith("!")]
    assert ours(plain) == pathspec_answers(plain)
    assert ours(list(Config().exclude)) == pathspec_answers(list(Config().exclude))
    assert ours([*plain, "!keep.py", "!x/logs/"]) == pathspec_answers([*plain, "!keep.py", "!x/logs/"])


_segment = st.text(alphabet="ab.*?/ !#\\[]", min_size=0, max_size=6)
_line = st.lists(_segment, min_size=1, max_size=3).map("/".join)
_part = st.sampled_from(["a", "b", "ab", "a.b", ".a", "ba", "a b", "!a", "#a", "*", "?", "a*"])
_path = st.lists(_part, min_size=1, max_size=4).flatmap(lambda ps: st.sampled_from(["/".join(ps), "/".join(ps) + "/"]))


@settings(max_examples=500, deadline=None)
@given(st.lists(_line, max_size=4), st.lists(_path, min_size=1, max_size=10))
def test_generated_lines_answer_as_pathspec(lines: list[str], paths: list[str]) -> None:
    try:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        with pytest.raises(ValueError):
            ignore_matcher(lines)
        return
    matcher = ignore_matcher(lines)
    for path in paths:
        assert matcher(path) == spec.match_file(path), (lines, path)


@settings(max_examples=300, deadline=None)
@given(_line)
def test_a_translated_line_is_the_regex_pathspec_compiles(line: str) -> None:
    """Not only the same answers on sample paths: the same regular expression (named group aside)."""
    try:
        ours_regex = pattern_regex(line)
    except _NeedsPathspec:
        return
    patterns = pathspec.GitIgnoreSpec.from_lines([line]).patterns  # none for an empty line
    if ours_regex is None:
        assert all(p.include is None for p in patterns)
    else:
        (pattern,) = patterns
        assert pattern.include is True
        assert ours_regex == pattern.regex.pattern.replace("(?P<ps_d>", "(?:")


PROBE = """
import sys
from pathlib import Path
from qualscan.config import Config
from qualscan.discovery import walk
entries, diags = walk(Path(sys.argv[1]), Config())
print(sorted(e for e, _ in entries), "pathspec" in sys.modules)
"""


COMMON = {"a.log", "app.py", "keep.log", "tmp/y.py", "sub/.gitignore"}  # build/, __pycache__/: default excludes


@pytest.mark.parametrize(
    ("gitignore", "imported", "kept"),
    [("*.log\nbuild/\n/tmp\n", False, COMMON), ("*.log\n!keep.log\n", True, COMMON | {"sub/keep.log", "sub/tmp/z.py"})],
)
def test_pathspec_is_imported_only_for_what_needs_it(tmp_path: Path, gitignore: str, imported: bool, kept: set[str]) -> None:
    for rel in ("app.py", "a.log", "keep.log", "build/x.py", "tmp/y.py", "sub/tmp/z.py", "sub/b.log", "sub/keep.log",
                "__pycache__/c.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    (tmp_path / "sub" / ".gitignore").write_text(gitignore)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-P", "-c", PROBE, str(tmp_path)], capture_output=True, text=True,
                         check=True, env=env).stdout
    listed, was_imported = out.rsplit(" ", 1)
    assert was_imported.strip() == str(imported)
    entries, _ = walk(tmp_path, Config())
    assert listed == str(sorted(e for e, _ in entries))
    assert {e for e, _ in entries} == kept
