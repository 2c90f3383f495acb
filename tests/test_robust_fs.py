"""Issue #9, hostile file systems: symlink loops, links out of the root, dangling links, unreadable
directories and files, special files, undecodable and markup-laden file names, absurdly deep trees.
None of them stops the scan; each is one diagnostic naming the path; nothing outside the root is read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from qualscan.config import Config
from qualscan.discovery import walk
from qualscan.engine.pipeline import scan_path
from qualscan.model import Diagnostic, ScanResult
from qualscan.reporters import json_report

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
GOOD = "import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n"
GOOD_PATH = "services/cart/app/client.py"
CONFIG = Config(use_cache=False, jobs=1)
SECRET_CALL = "import requests\n\n\ndef leak(u):\n    return requests.get(u)\n"


def build(root: Path) -> None:
    (root / "services/cart/app").mkdir(parents=True)
    (root / "services/cart/pyproject.toml").write_text("[project]\nname = 'cart'\n")
    (root / GOOD_PATH).write_text(GOOD)


def diags_for(result: ScanResult | list[Diagnostic], rel: str) -> list[Diagnostic]:
    diags = result.diagnostics if isinstance(result, ScanResult) else result
    return [d for d in diags if d.file == rel]


def assert_good(result: ScanResult) -> None:
    assert {(f.rule, f.file, f.line) for f in result.findings if f.file == GOOD_PATH} == {("QS101", GOOD_PATH, 5)}
    jsonschema.validate(json.loads(json_report.render(result)), SCHEMA)


def test_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    build(tmp_path)
    os.symlink("loop_b", tmp_path / "services/cart/loop_a")
    os.symlink("loop_a", tmp_path / "services/cart/loop_b")
    os.symlink(".", tmp_path / "services/cart/app/self")  # a directory link to itself
    result = scan_path(tmp_path, CONFIG)
    assert "loop" in diags_for(result, "services/cart/loop_a")[0].message
    assert "loop" in diags_for(result, "services/cart/loop_b")[0].message
    assert diags_for(result, "services/cart/app/self") == []  # inside the root: scanned where it lives
    assert not any("self/" in f.file for f in result.findings)
    assert_good(result)


def test_links_pointing_outside_the_root_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(SECRET_CALL)
    (outside / "pyproject.toml").write_text("[project]\nname = 'outside'\n")
    build(root)
    os.symlink(outside / "secret.py", root / "services/cart/app/linked.py")
    os.symlink(outside, root / "services/cart/vendored")
    os.symlink("/etc/passwd", root / "services/cart/app/passwd.yaml")
    result = scan_path(root, CONFIG)
    for rel in ("services/cart/app/linked.py", "services/cart/vendored", "services/cart/app/passwd.yaml"):
        (diag,) = diags_for(result, rel)
        assert "outside the scanned root; not followed" in diag.message
    assert [f.file for f in result.findings if "leak" in f.message or "secret" in f.file] == []
    assert {s.name for s in result.services} == {"cart"}
    assert_good(result)


def test_dangling_link(tmp_path: Path) -> None:
    build(tmp_path)
    os.symlink("does/not/exist.py", tmp_path / "services/cart/app/gone.py")
    result = scan_path(tmp_path, CONFIG)
    (diag,) = diags_for(result, "services/cart/app/gone.py")
    assert "dangling" in diag.message
    assert_good(result)


def test_root_given_as_a_symlink_is_scanned(tmp_path: Path) -> None:
    real = tmp_path / "real"
    build(real)
    os.symlink(real, tmp_path / "alias")
    result = scan_path(tmp_path / "alias", CONFIG)
    assert_good(result)


def test_special_files_are_skipped_without_blocking(tmp_path: Path) -> None:
    """A FIFO named ``.py`` would block a reader forever; a socket cannot be read at all."""
    build(tmp_path)
    os.mkfifo(tmp_path / "services/cart/app/pipe.py")
    import socket

    sock_path = tmp_path / "services/cart/app/s.py"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sock_path))
        result = scan_path(tmp_path, CONFIG)
    finally:
        sock.close()
    assert not [f for f in result.findings if f.file.endswith(("pipe.py", "s.py"))]
    assert_good(result)


def test_directory_tree_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    build(tmp_path)
    depth = sys.getrecursionlimit() + 200
    fds = [os.open(tmp_path / "services/cart", os.O_RDONLY)]
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        with open(os.open("deep.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1]), "w") as fh:
            fh.write(SECRET_CALL)
        result = scan_path(tmp_path, CONFIG)
    finally:  # remove bottom-up through the open descriptors (rmtree itself recurses too deep)
        os.unlink("deep.py", dir_fd=fds[-1])
        for parent in reversed(fds[:-1]):
            os.rmdir("d", dir_fd=parent)
        for fd in fds:
            os.close(fd)
    deep = [d for d in result.diagnostics if "nested deeper than" in d.message]
    assert len(deep) == 1 and deep[0].file.startswith("services/cart/d/d/")
    assert not [f for f in result.findings if f.file.endswith("deep.py")]
    assert_good(result)


def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    build(tmp_path)
    raw = os.fsencode(tmp_path / "services/cart/app") + b"/caf\xe9.py"
    with open(raw, "wb") as fh:
        fh.write(SECRET_CALL.encode())
    result = scan_path(tmp_path, CONFIG)
    (diag,) = diags_for(result, "services/cart/app/caf\ufffd.py")
    assert "not valid UTF-8" in diag.message
    assert_good(result)  # the JSON report is valid: no lone surrogates reach it


def test_file_name_with_a_backslash_is_skipped(tmp_path: Path) -> None:
    """Report paths are POSIX relative paths; a backslash would read as a Windows separator."""
    build(tmp_path)
    (tmp_path / "services/cart/app/a\\..\\..\\x.py").write_text(SECRET_CALL)
    result = scan_path(tmp_path, CONFIG)
    (diag,) = diags_for(result, "services/cart/app/a\\..\\..\\x.py")
    assert "backslash" in diag.message
    assert_good(result)


@pytest.mark.parametrize(
    "name",
    ["new\nline.py", "tab\tand space .py", "<script>alert(1)<!--.py", "<svg onload=alert(1)>.py", '"><img src=x onerror=alert(1)>.py',
     "::error file=x::pwned.py", "`$(touch pwned)`.py", "ü-ñ-中文.py", "-rf.py", ".hidden.py"],
)
def test_odd_file_names_are_scanned_and_reported_verbatim(tmp_path: Path, name: str) -> None:
    build(tmp_path)
    (tmp_path / "services/cart/app" / name).write_text(SECRET_CALL)
    result = scan_path(tmp_path, CONFIG)
    rel = f"services/cart/app/{name}"
    assert {(f.rule, f.file, f.line) for f in result.findings if f.file == rel} == {("QS101", rel, 5)}
    assert not (tmp_path / "pwned").exists()
    assert_good(result)


# --- unreadable things: root ignores permission bits, so run the scan as an unprivileged user ----------


def _as_unprivileged(args: list[str]) -> list[str] | None:
    if os.geteuid() != 0:
        return args
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run([unshare, "--user", "--map-user=1000", "--map-group=1000", "true"], capture_output=True)
    return [unshare, "--user", "--map-user=1000", "--map-group=1000", *args] if probe.returncode == 0 else None


def _scan_cli(root: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    cmd = _as_unprivileged([sys.executable, "-m", "qualscan", "scan", str(root), "-f", "json", "--no-cache"])
    if cmd is None:
        pytest.skip("running as root and user namespaces are not available: permission bits cannot be tested")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    return proc, data


def test_unreadable_directory_and_file(tmp_path: Path) -> None:
    build(tmp_path)
    locked = tmp_path / "services/cart/locked"
    locked.mkdir()
    (locked / "hidden.py").write_text(SECRET_CALL)
    secret = tmp_path / "services/cart/app/secret.py"
    secret.write_text(SECRET_CALL)
    cfg = tmp_path / "services/cart/deploy.yaml"
    cfg.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart}\n")
    locked.chmod(0)
    secret.chmod(0)
    cfg.chmod(0)
    try:
        _, data = _scan_cli(tmp_path)
    finally:
        locked.chmod(0o755)
        secret.chmod(0o644)
        cfg.chmod(0o644)
    by_file = {d["file"]: d["message"] for d in data["diagnostics"]}
    assert "cannot read directory" in by_file["services/cart/locked"]
    assert "cannot read" in by_file["services/cart/app/secret.py"]
    assert "cannot read" in by_file["services/cart/deploy.yaml"]
    findings = [(f["rule"], f["file"], f["line"]) for f in data["findings"]]
    assert ("QS101", GOOD_PATH, 5) in findings
    assert not [f for f in findings if f[1].endswith(("hidden.py", "secret.py"))]


def test_unreadable_root_is_a_usage_level_failure_not_a_traceback(tmp_path: Path) -> None:
    build(tmp_path)
    tmp_path.chmod(0)
    try:
        cmd = _as_unprivileged([sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", "json", "--no-cache"])
        if cmd is None:
            pytest.skip("cannot drop privileges here")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    finally:
        tmp_path.chmod(0o755)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 2)
    if proc.returncode == 0:
        data = json.loads(proc.stdout)
        assert any("cannot read" in d["message"] for d in data["diagnostics"])
    else:
        assert proc.stderr.startswith("qualscan: error:") and len(proc.stderr.strip().splitlines()) == 1


def test_walk_alone_reports_every_problem_and_returns_the_rest(tmp_path: Path) -> None:
    build(tmp_path)
    os.symlink("x", tmp_path / "services/cart/x")
    os.symlink("/", tmp_path / "services/cart/slash")
    entries, diags = walk(tmp_path, CONFIG)
    assert (GOOD_PATH, len(GOOD)) in entries
    assert {d.file for d in diags} == {"services/cart/x", "services/cart/slash"}


def test_backtracking_ignore_patterns_are_skipped(tmp_path: Path) -> None:
    """``*a*a*a*a*b`` compiles to a backtracking regex: against a 250-character name one match took
    38 s. Such patterns in a .gitignore or in the repository's exclude list are left out, with a
    diagnostic; the ordinary patterns beside them still apply."""
    build(tmp_path)
    (tmp_path / ".gitignore").write_text("*.log\n*a*a*a*a*a*a*b\nbuild/\n")
    (tmp_path / "qualscan.toml").write_text('extend_exclude = ["*a*a*a*a*a*a*c", "generated/"]\n')
    (tmp_path / "services/cart/app" / ("a" * 240 + ".py")).write_text(SECRET_CALL)
    (tmp_path / "services/cart/app/debug.log").write_text("x")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated/skip.py").write_text(SECRET_CALL)
    proc = subprocess.run([sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", "json", "--no-cache"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    skipped = sorted((d["file"], d["line"]) for d in data["diagnostics"] if "wildcards" in d["message"])
    assert skipped == [(".gitignore", 2), ("qualscan.toml", 0)]
    files = {f["file"] for f in data["findings"]}
    assert f"services/cart/app/{'a' * 240}.py" in files and GOOD_PATH in files
    assert "generated/skip.py" not in files
    assert "services/cart/app/debug.log" not in {f["path"] for f in data["metrics"]["files"]}
