"""``spec_matcher`` answers exactly as pathspec's ``GitIgnoreSpec.match_file`` does."""

from __future__ import annotations

import itertools

import pathspec
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qualscan.config import Config
from qualscan.discovery import spec_matcher

PATTERN_SETS = [
    list(Config().exclude),  # the defaults: directory patterns only
    ["*.log", "generated/", "/build", "docs/**/*.tmp", "a?c.py", "[abc]*.txt", "# comment", "", "\\#hash"],
    ["*.py", "!keep.py", "secret/"],  # a negation: pathspec's own precedence applies
    ["**/cache/", "!important/cache/", "foo/*/bar", "trailing\\ "],
    ["local_*.py"],
    [],
    ["# only comments", "   "],
]

PATHS = [
    "a.py", "keep.py", "x/keep.py", "app.log", "sub/app.log", "generated/", "generated/x.py", "x/generated/",
    "build", "build/", "src/build/", "docs/a/b/c.tmp", "docs/c.tmp", "abc.py", "adc.py", "a.txt", "zz.txt",
    "#hash", "secret/", "secret/k.py", "deep/cache/", "important/cache/", "foo/x/bar", "foo/x/y/bar",
    "trailing ", "local_settings.py", "cart/app/local_settings.py", ".venv/", "x/.venv/", "node_modules/",
    "pkg.egg-info/", "a/pkg.egg-info/", "vendor", "vendor/", ".git/", "x/.git/", "venv/lib.py",
]


def test_equal_to_pathspec_on_pattern_tables() -> None:
    for lines in PATTERN_SETS:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        fast = spec_matcher(spec)
        for path in PATHS:
            assert fast(path) == spec.match_file(path), (lines, path)


def test_negations_fall_back_to_pathspec() -> None:
    spec = pathspec.GitIgnoreSpec.from_lines(["*.py", "!keep.py"])
    assert spec_matcher(spec) == spec.match_file
    assert not spec_matcher(spec)("keep.py") and spec_matcher(spec)("drop.py")


_segment = st.sampled_from(["a", "b", "ab", "x.py", "*", "**", "?", "[ab]", "*.py", "c d", "#", "!"])
_pattern = st.lists(_segment, min_size=1, max_size=4).map("/".join).flatmap(
    lambda p: st.sampled_from([p, p + "/", "/" + p, "!" + p])
)
_path = st.lists(st.sampled_from(["a", "b", "ab", "x.py", "c d", "#", "!x", "b.py"]), min_size=1, max_size=4).flatmap(
    lambda parts: st.sampled_from(["/".join(parts), "/".join(parts) + "/"])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pattern, max_size=5), st.lists(_path, min_size=1, max_size=8))
def test_equal_to_pathspec_on_generated_patterns(lines: list[str], paths: list[str]) -> None:
    try:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:  # e.g. a lone "!": pathspec rejects it (the walk reports such a .gitignore)
        assume(False)
    fast = spec_matcher(spec)
    for path in paths:
        assert fast(path) == spec.match_file(path), (lines, path)


def test_every_default_pattern_pair_combines() -> None:
    defaults = list(Config().exclude)
    for pair in itertools.combinations(defaults, 2):
        spec = pathspec.GitIgnoreSpec.from_lines(list(pair))
        assert spec_matcher(spec) != spec.match_file  # no negation: the combined regex is used
