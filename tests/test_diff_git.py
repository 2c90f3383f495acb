"""Diff mode: changed lines since the merge base, computed with real git in real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from _gate_support import CHECKOUT_V1, commit, gate_json, git, make_repo, run_cli, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualscan.discovery import GitError, changed_lines, parse_unified_diff, unquote_git_path

NEW_CALL = """

def get_stock(sku):
    return requests.get(f"http://inventory/stock/{sku}")
"""


def test_parse_unified_diff_hunks_renames_deletions_and_quoted_paths() -> None:
    diff = (
        "diff --git a/app.py b/app.py\n"
        "index 1..2 100644\n"
        "--- a/app.py\n"
        "+++ b/app.py\n"
        "@@ -3,0 +4,2 @@ def f():\n"
        "+    x = 1\n"
        "+    y = 2\n"
        "@@ -10 +12 @@\n"
        "-old\n"
        "+new\n"
        "@@ -20,3 +21,0 @@\n"
        "diff --git a/old.py b/new.py\n"
        "similarity index 100%\n"
        "rename from old.py\n"
        "rename to new.py\n"
        "diff --git a/gone.py b/gone.py\n"
        "deleted file mode 100644\n"
        "--- a/gone.py\n"
        "+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n"
        'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\n'
        "new file mode 100644\n"
        "--- /dev/null\n"
        '+++ "b/caf\\303\\251.py"\n'
        "@@ -0,0 +1 @@\n"
        "+print(1)\n"
        "diff --git a/logo.png b/logo.png\n"
        "Binary files a/logo.png and b/logo.png differ\n"
        "diff --git a/old.bin b/old.bin\n"
        "deleted file mode 100644\n"
        "Binary files a/old.bin and /dev/null differ\n"
    )
    files, deleted = parse_unified_diff(diff)
    assert files == {"app.py": {4, 5, 12}, "new.py": set(), "café.py": {1}, "logo.png": set()}
    assert deleted == ["gone.py"]
    assert unquote_git_path('"tab\\there"') == "tab\there"


def test_changed_lines_committed_unstaged_and_untracked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "add stock call", {"services/checkout/app.py": CHECKOUT_V1 + NEW_CALL})
    # unstaged edit of another file and a brand new untracked file
    write(repo, {"services/catalog/app.py": "def price(sku):\n    return 11\n", "services/catalog/new.py": "A = 1\nB = 2\n"})
    info = changed_lines(repo, "main")
    assert info.merge_base == git(repo, "rev-parse", "main").strip()
    assert info.files["services/checkout/app.py"] == frozenset({10, 11, 12, 13})
    assert info.files["services/catalog/app.py"] == frozenset({2})
    assert info.files["services/catalog/new.py"] == frozenset({1, 2})
    assert "qualscan.toml" not in info.files


def test_changed_lines_relative_to_a_subdirectory_root(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "edit", {"services/checkout/app.py": CHECKOUT_V1 + NEW_CALL})
    info = changed_lines(repo / "services", "main")
    assert set(info.files) == {"checkout/app.py"}


def test_detached_head_checkout_works(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    sha = commit(repo, "edit", {"services/checkout/app.py": CHECKOUT_V1 + NEW_CALL})
    commit(repo, "later work on main is not part of the PR", {"services/catalog/app.py": "X = 1\n"})
    git(repo, "checkout", "-q", "--detach", sha)
    git(repo, "branch", "-q", "-f", "main", "HEAD~1")  # main stays at the merge base
    info = changed_lines(repo, "main")
    assert info.head == sha
    assert set(info.files) == {"services/checkout/app.py"}


def _origin_with_feature(tmp_path: Path, main_commits: int = 3) -> Path:
    origin = make_repo(tmp_path / "origin")
    for i in range(main_commits):
        commit(origin, f"main {i}", {f"docs/note{i}.txt": f"{i}\n"})
    git(origin, "checkout", "-q", "-b", "feature")
    commit(origin, "feature 1", {"services/checkout/app.py": CHECKOUT_V1 + NEW_CALL})
    commit(origin, "feature 2", {"services/catalog/app.py": "def price(sku):\n    return 12\n"})
    git(origin, "checkout", "-q", "main")
    commit(origin, "main moves on after the branch point", {"docs/after.txt": "x\n"})
    return origin


def test_shallow_clone_with_enough_depth(tmp_path: Path) -> None:
    origin = _origin_with_feature(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "3", "--no-single-branch", "--branch", "feature", origin.as_uri(), str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    info = changed_lines(clone, "origin/main")
    assert info.shallow
    assert set(info.files) == {"services/checkout/app.py", "services/catalog/app.py"}
    assert "docs/after.txt" not in info.files  # main's own later work is not in the PR's diff


def test_shallow_clone_without_the_merge_base_gives_a_clear_error(tmp_path: Path) -> None:
    origin = _origin_with_feature(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", origin.as_uri(), str(clone))
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    with pytest.raises(GitError, match=r"no merge base between origin/main and HEAD in this shallow clone; fetch with enough depth"):
        changed_lines(clone, "origin/main")
    code, _, err = run_cli("check", str(clone), "--diff-base", "origin/main", "--no-cache")
    assert code == 2
    assert "shallow clone" in err


def test_missing_base_ref_exits_2_with_fetch_hint(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    code, out, err = run_cli("check", str(repo), "--diff-base", "origin/release", "--no-cache")
    assert code == 2
    assert out == ""
    assert "base ref origin/release not found; run `git fetch origin release` (or fetch with enough depth)" in err


def test_diff_base_outside_a_git_repository_exits_2(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    write(plain, {"app.py": "x = 1\n"})
    code, _, err = run_cli("check", str(plain), "--diff-base", "main", "--no-cache")
    assert code == 2
    assert "not inside a git work tree" in err


def test_option_like_base_ref_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(GitError, match="invalid base ref"):
        changed_lines(repo, "--output=/tmp/x")


def test_check_in_diff_mode_judges_only_changed_lines(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    # the legacy QS101 on line 5 of checkout/app.py exists on main
    code, report, _ = gate_json(str(repo), "--no-cache")
    assert code == 1
    assert ("services/checkout/app.py", 5, "QS101") in {(f["file"], f["line"], f["rule"]) for f in report["findings"]}

    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "unrelated change", {"services/catalog/app.py": "def price(sku):\n    return 12\n"})
    code, report, err = gate_json(str(repo), "--diff-base", "main", "--no-cache")
    assert code == 0, err
    assert report["gate"]["verdict"] == "pass"
    assert report["findings"] == []
    assert report["gate"]["diff"]["files"] == 1

    commit(repo, "new call without timeout", {"services/checkout/app.py": CHECKOUT_V1 + NEW_CALL})
    code, report, err = gate_json(str(repo), "--diff-base", "main", "--no-cache")
    assert code == 1
    blocking = next(c for c in report["gate"]["conditions"] if c["id"] == "new_findings")["items"]
    assert {(i["file"], i["line"], i["rule"]) for i in blocking} == {("services/checkout/app.py", 13, "QS101")}
    sync = next(c for c in report["gate"]["conditions"] if c["id"] == "sync_dependency_timeout")
    assert sync["status"] == "fail"
    assert [(i["file"], i["line"]) for i in sync["items"]] == [("services/checkout/app.py", 13)]
    # the report lists the findings on changed lines only; the legacy line 5 finding is not there
    assert ("services/checkout/app.py", 5) not in {(f["file"], f["line"]) for f in report["findings"]}
    assert "quality gate FAILED" in err



def test_renames_unusual_paths_and_deletions_with_real_git(tmp_path: Path) -> None:
    body = "".join(f"line{i} = {i}\n" for i in range(1, 21))
    repo = make_repo(tmp_path / "repo", {"services/catalog/old_name.py": body, "services/catalog/gone.py": "x = 1\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "mv", "services/catalog/old_name.py", "services/catalog/new name é.py")
    (repo / "services/catalog/new name é.py").write_text(body.replace("line7 = 7", "line7 = 70"), encoding="utf-8")
    git(repo, "rm", "-q", "services/catalog/gone.py")
    write(repo, {'services/catalog/q"uote.py': "a = 1\n"})
    commit(repo, "rename, edit, delete, add")
    info = changed_lines(repo, "main")
    assert info.files == {
        "services/catalog/new name é.py": frozenset({7}),
        'services/catalog/q"uote.py': frozenset({1}),
    }
    assert info.deleted == ("services/catalog/gone.py",)

_LINES = st.lists(st.sampled_from(["a = 1", "b = 2", "c = 3", "", "# note", "def f():", "    return 1"]), max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=_LINES, new=_LINES, extra=st.lists(st.integers(min_value=0, max_value=30), max_size=4))
def test_changed_lines_cover_every_new_line_and_stay_in_the_file(tmp_path_factory: pytest.TempPathFactory,
                                                                 old: list[str], new: list[str], extra: list[int]) -> None:
    repo = make_repo(tmp_path_factory.mktemp("prop") / "repo", {"app.py": "".join(x + "\n" for x in old)})
    for n, pos in enumerate(sorted(extra)):  # lines that exist nowhere in the old version
        new = new[:pos] + [f"fresh_{n} = {n}"] + new[pos:]
    (repo / "app.py").write_text("".join(x + "\n" for x in new), encoding="utf-8")
    changed = changed_lines(repo, "HEAD").files.get("app.py", frozenset())
    assert changed <= set(range(1, len(new) + 1))
    for i, text in enumerate(new, start=1):
        if text not in old:
            assert i in changed, (i, text)
    if old == new:
        assert changed == frozenset()


def test_github_pull_request_merge_commit_checkout(tmp_path: Path) -> None:
    """actions/checkout on pull_request: a detached HEAD at the PR's merge commit, base fetched shallowly."""
    origin = _origin_with_feature(tmp_path)
    git(origin, "checkout", "-q", "--detach", "main")
    git(origin, "merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    git(origin, "update-ref", "refs/pull/7/merge", "HEAD")
    git(origin, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "init", "-q", str(clone))
    git(clone, "remote", "add", "origin", origin.as_uri())
    git(clone, "fetch", "-q", "--depth", "2", "origin", "+refs/pull/7/merge:refs/remotes/pull/7/merge",
        "+refs/heads/main:refs/remotes/origin/main")
    git(clone, "checkout", "-q", "--detach", "refs/remotes/pull/7/merge")
    info = changed_lines(clone, "origin/main")
    assert info.shallow
    assert info.merge_base == git(clone, "rev-parse", "origin/main").strip()
    assert set(info.files) == {"services/checkout/app.py", "services/catalog/app.py"}
    assert info.files["services/checkout/app.py"] == frozenset({10, 11, 12, 13})
