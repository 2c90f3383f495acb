"""Rule discovery: every ``Rule`` subclass with a code in a module of ``qualscan.rules``.

No hand-kept list: a new module under ``rules/`` is picked up on the next run. Modules whose name
starts with ``_`` are helpers, not rules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from qualscan.config import Config, ConfigError
from qualscan.engine.rule import ProjectRule, PythonRule, Rule
from qualscan.model import Severity

UNIVERSAL_OPTIONS = {"enabled": bool, "severity": str}
RETIRED_CODES: Mapping[str, str] = {}  # code -> why it was retired; never reuse these


class RuleLoadError(Exception):
    pass


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    package = importlib.import_module("qualscan.rules")
    found: dict[str, type[Rule]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"qualscan.rules.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Rule)
                and obj not in (Rule, PythonRule, ProjectRule)
                and bool(obj.code)
                and obj.__module__ == module.__name__
            ):
                if obj.code in found and found[obj.code] is not obj:
                    raise RuleLoadError(
                        f"rule code {obj.code} is defined twice: {found[obj.code].__module__} and {module.__name__}"
                    )
                if obj.code in RETIRED_CODES:
                    raise RuleLoadError(f"rule code {obj.code} is retired ({RETIRED_CODES[obj.code]}); pick a new one")
                found[obj.code] = obj
    return tuple(found[c] for c in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    for rule in all_rules():
        if rule.code == code:
            return rule
    for rule in all_rules():  # also accept the rule's name
        if rule.name == code.lower():
            return rule
    return None


def _type_ok(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, list)
    if isinstance(default, dict):
        return isinstance(value, dict)
    if default is None:
        return True
    return isinstance(value, type(default))


def validate_rule_options(config: Config, rules: Sequence[type[Rule]] | None = None) -> None:
    """Check ``[tool.qualscan.rules.CODE]`` tables against each rule's declared options."""
    rules = all_rules() if rules is None else rules
    by_code = {r.code: r for r in rules}
    problems: list[str] = []
    for code, opts in sorted(config.rule_options.items()):
        rule = by_code.get(code)
        if rule is None:
            problems.append(f"rules.{code}: no such rule (see `qualscan rules`)")
            continue
        if not isinstance(opts, Mapping):
            problems.append(f"rules.{code}: expected a table")
            continue
        for key, value in opts.items():
            if key in UNIVERSAL_OPTIONS:
                if not isinstance(value, UNIVERSAL_OPTIONS[key]):
                    problems.append(f"rules.{code}.{key}: expected {UNIVERSAL_OPTIONS[key].__name__}")
                continue
            if key not in rule.options:
                known = ", ".join(sorted([*rule.options, *UNIVERSAL_OPTIONS]))
                problems.append(f"rules.{code}.{key}: unknown option (known: {known})")
            elif not _type_ok(value, rule.options[key]):
                problems.append(
                    f"rules.{code}.{key}: expected {type(rule.options[key]).__name__}, got {type(value).__name__}"
                )
    for prefix in (*config.select, *config.ignore):
        if prefix != "QS" and not any(r.code.startswith(prefix) for r in rules):
            problems.append(f"rules.select/ignore: {prefix!r} matches no rule code")
    if problems:
        raise ConfigError(config.source, problems)


def enabled_rules(config: Config) -> tuple[type[Rule], ...]:
    return tuple(r for r in all_rules() if config.rule_enabled(r.code))


def rule_options(rule: type[Rule], config: Config) -> dict[str, Any]:
    opts = dict(rule.options)
    for key, value in config.rule_options.get(rule.code, {}).items():
        if key not in UNIVERSAL_OPTIONS:
            opts[key] = value
    return opts


def rule_severity(rule: type[Rule], config: Config) -> Severity:
    value = config.rule_options.get(rule.code, {}).get("severity")
    return Severity.parse(value) if isinstance(value, str) else rule.severity
