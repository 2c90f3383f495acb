"""Docs stay true: the generated rules reference is current, and the README's commands match CI."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_rules_reference_is_generated_from_rule_metadata() -> None:
    from qualscan.cli import rules_reference

    current = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_reference(), "regenerate: qualscan rules --markdown > docs/rules.md"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    test_cmd = next(b.strip() for b in blocks if "pytest" in b and "[test]" in b)
    install, run = (part.strip() for part in test_cmd.split("&&"))
    assert install == "pip install -e '.[test]'"
    assert run == "pytest"
    lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert any(ln.startswith(install) for ln in lines)
    assert "pytest" in lines


def test_readme_main_command_scans_the_sample_shop() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install . && qualscan scan fixtures/shop" in readme
    assert (REPO / "fixtures" / "shop").is_dir()
