"""Helpers for the gate/baseline/diff/cache tests: real git repositories in temp dirs, real CLI runs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qualscan import cli

GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}

CONFIG = """\
[journeys]
buy = ["gateway", "checkout", "payment"]

[gate]
fail_on = "high"
"""

CHECKOUT_V1 = """\
import requests


def get_cart(user):
    return requests.get(f"http://cart/carts/{user}")


def pay(order):
    return requests.post("http://payment/pay", json=order, timeout=2)
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def commit(root: Path, message: str, files: Mapping[str, str] | None = None) -> str:
    if files:
        write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def make_repo(root: Path, files: Mapping[str, str] | None = None) -> Path:
    """A repository on branch main with one commit: a checkout service (on the buy journey) and a
    catalog service, plus the qualscan config."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    base = {
        "qualscan.toml": CONFIG,
        "services/checkout/Dockerfile": "FROM python:3.12\n",
        "services/checkout/app.py": CHECKOUT_V1,
        "services/catalog/Dockerfile": "FROM python:3.12\n",
        "services/catalog/app.py": "def price(sku):\n    return 10\n",
        ".gitignore": ".qualscan_cache/\n",
    }
    base.update(files or {})
    commit(root, "initial", base)
    return root


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def gate_json(*argv: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("check", *argv, "--format", "json", "--jobs", "1")
    return code, json.loads(out) if out.strip() else {}, err


def locations(report: Mapping[str, Any]) -> set[tuple[str, int, str]]:
    return {(f["file"], f["line"], f["rule"]) for f in report["findings"]}
