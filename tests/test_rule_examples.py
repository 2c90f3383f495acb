"""Every rule carries its own proof (Fixit style): its VALID and INVALID examples become tests that
run through the real pipeline (``scan_sources``: discovery, parse, worker, graph, metrics, rules,
suppression). An INVALID example marks each line the rule must report with
``# qualscan: expect[CODE]``; the test compares the exact set of (file, line) reported for that rule
with the marks. A rule without docs or without both kinds of example fails."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from qualscan.config import Config, parse_config
from qualscan.engine.pipeline import scan_sources
from qualscan.engine.registry import all_rules
from qualscan.engine.rule import Rule
from qualscan.engine.suppress import parse_expectations

RULES = all_rules()
HEADINGS = ("## What it does", "## Why it matters during a sales peak", "## Example", "## Use instead")


def _files(rule: type[Rule], example: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(example, str):
        return {rule.example_path: example}
    return dict(example)


def _config(rule: type[Rule], files: Mapping[str, str]) -> Config:
    base = Config()
    for name in ("qualscan.toml", "pyproject.toml"):
        if name in files:
            base = parse_config(files[name].encode(), source=name, pyproject=name == "pyproject.toml")
            break
    return base.with_overrides(select=(rule.code,), ignore=())


def _expected(rule: type[Rule], files: Mapping[str, str]) -> set[tuple[str, int]]:
    return {
        (path, line)
        for path, text in files.items()
        for line, codes in parse_expectations(text).items()
        if rule.code in codes
    }


def _cases() -> list[object]:
    cases = []
    for rule in RULES:
        for kind in ("VALID", "INVALID"):
            for i, _ in enumerate(getattr(rule, kind)):
                cases.append(pytest.param(rule, kind, i, id=f"{rule.code}-{kind.lower()}-{i}"))
    return cases


def test_rules_are_installed() -> None:
    assert RULES, "no rules found in qualscan.rules"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_metadata(rule: type[Rule]) -> None:
    assert re.fullmatch(r"QS\d{3}", rule.code), rule.code
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
    assert rule.summary and "\n" not in rule.summary
    docs = rule.docs()
    for heading in HEADINGS:
        assert heading in docs, f"{rule.code} docs lack {heading!r}"
    assert rule.VALID, f"{rule.code} has no VALID examples"
    assert rule.INVALID, f"{rule.code} has no INVALID examples"
    for example in rule.INVALID:
        assert _expected(rule, _files(rule, example)), f"{rule.code}: an INVALID example has no expect[{rule.code}] mark"


def test_codes_and_names_are_unique() -> None:
    codes = [r.code for r in RULES]
    names = [r.name for r in RULES]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("rule", "kind", "index"), _cases())
def test_rule_example(rule: type[Rule], kind: str, index: int) -> None:
    files = _files(rule, getattr(rule, kind)[index])
    # history rules carry the `git log` text each example stands for (in-memory scans have no git)
    git_logs = getattr(rule, "EXAMPLE_GIT_LOG", {}).get(kind, [])
    git_log = git_logs[index] if index < len(git_logs) else None
    result = scan_sources(files, _config(rule, files), git_log=git_log)
    internal = [d for d in result.diagnostics if "internal error" in d.message]
    assert not internal, internal
    reported = {(f.file, f.line) for f in result.findings if f.rule == rule.code}
    expected = _expected(rule, files) if kind == "INVALID" else set()
    assert reported == expected, {
        "missing": sorted(expected - reported),
        "unexpected": sorted(reported - expected),
        "messages": [(f.file, f.line, f.message) for f in result.findings if f.rule == rule.code],
    }
