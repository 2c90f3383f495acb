"""Configuration: precedence, every problem reported at once, exit 2 with no traceback."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from qualscan.config import Config, ConfigError, find_config_file, load_config, parse_config


def test_defaults_when_no_config(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        """
[project]
name = "shop"
[tool.qualscan]
exclude_tests = true
[tool.qualscan.event]
name = "Black Friday"
date = 2026-11-27
peak_factor = 8
[tool.qualscan.journeys]
browse = ["gateway", "search"]
[tool.qualscan.journeys.checkout]
path = ["gateway", "cart", "checkout", "payment"]
weight = 5
budget_s = 10
[tool.qualscan.rules]
ignore = ["QS3"]
""",
        encoding="utf-8",
    )
    cfg = load_config(tmp_path)
    assert cfg.exclude_tests is True
    assert cfg.event_date == dt.date(2026, 11, 27)
    assert cfg.peak_factor == 8
    assert [(j.name, j.path, j.weight, j.budget_s) for j in cfg.journeys] == [
        ("browse", ("gateway", "search"), 1.0, None),
        ("checkout", ("gateway", "cart", "checkout", "payment"), 5.0, 10.0),
    ]
    assert cfg.ignore == ("QS3",)
    assert not cfg.rule_enabled("QS301") and cfg.rule_enabled("QS101")


def test_qualscan_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.qualscan]\njobs = 1\n")
    (tmp_path / "qualscan.toml").write_text("jobs = 2\n")
    assert find_config_file(tmp_path) == tmp_path / "qualscan.toml"
    assert load_config(tmp_path).jobs == 2


def test_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert find_config_file(tmp_path) is None


def test_every_problem_is_reported_at_once() -> None:
    raw = b"""
[tool.qualscan]
jobs = "two"
colour = true
[tool.qualscan.event]
date = "next friday"
[tool.qualscan.journeys.checkout]
path = "gateway"
[tool.qualscan.services.cart]
kind = "database"
[tool.qualscan.rules.QS101]
severity = "urgent"
"""
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="pyproject.toml", pyproject=True)
    problems = info.value.problems
    joined = "\n".join(problems)
    assert "tool.qualscan.jobs: expected an integer, got str 'two'" in joined
    assert "tool.qualscan.colour: unknown key" in joined
    assert "tool.qualscan.journeys.checkout.path: expected a list of a string" in joined
    assert "tool.qualscan.services.cart.kind: expected one of" in joined
    assert len(problems) == 4  # schema problems first; value checks run once the shape is right


def test_value_problems_are_listed_together() -> None:
    raw = b'[event]\ndate = "soon"\npeak_factor = -1\n[rules.QS101]\nseverity = "urgent"\n[grades]\ncomplexity = [1, 2]\n'
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="qualscan.toml")
    joined = "\n".join(info.value.problems)
    assert "event.date: 'soon' is not an ISO date" in joined
    assert "event.peak_factor: must be greater than 0" in joined
    assert "rules.QS101.severity: unknown severity 'urgent'" in joined
    assert "grades.complexity: expected 4 thresholds" in joined


def test_malformed_toml_is_one_problem() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(b"[tool.qualscan\njobs = 1", source="pyproject.toml", pyproject=True)
    assert info.value.problems[0].startswith("malformed TOML")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[tool.qualscan]\nnope = 1\n", "tool.qualscan.nope: unknown key"),
        ("[tool.qualscan\n", "malformed TOML"),
        ("[tool.qualscan]\nmax_file_size = 'big'\n", "max_file_size: expected an integer"),
    ],
)
def test_cli_exits_2_with_a_clear_message(tmp_path: Path, content: str, needle: str) -> None:
    (tmp_path / "pyproject.toml").write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(tmp_path), "--no-cache"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "invalid configuration in" in proc.stderr and needle in proc.stderr


def test_cli_flags_override_the_file(tmp_path: Path) -> None:
    from qualscan.cli import _config, build_parser

    (tmp_path / "qualscan.toml").write_text("jobs = 2\n[rules]\nignore = ['QS1']\n")
    args = build_parser().parse_args(["scan", str(tmp_path), "--jobs", "1", "--ignore", "QS2", "--no-cache"])
    cfg = _config(args, tmp_path)
    assert cfg.jobs == 1 and cfg.ignore == ("QS2",) and cfg.use_cache is False
