"""Configuration: defaults < ``[tool.qualscan]`` in pyproject.toml / ``qualscan.toml`` < CLI flags.

Everything is validated at once: ``load_config`` raises a single ``ConfigError`` listing every
problem (unknown keys, wrong types, bad values) so a user fixes them in one go. Nothing is read at
import time; ``Config`` is a frozen value passed down the pipeline.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from qualscan.model import Journey, Severity


class ConfigError(Exception):
    """Invalid configuration. ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"invalid configuration in {source}: " + "; ".join(problems))


# --- schema --------------------------------------------------------------------------------------
# A schema node is a python type, a tuple of types, a dict (a table with known keys), or one of
# the markers below.


class MapOf:
    """A table whose keys are free (names) and whose values follow ``value``."""

    def __init__(self, value: Any):
        self.value = value


class ListOf:
    def __init__(self, item: Any):
        self.item = item


class OneOf:
    def __init__(self, *choices: str):
        self.choices = choices


class Free:
    """Any TOML value; validated by another layer (rule options are checked against the rule)."""


NUM = (int, float)

GATE_SCHEMA: dict[str, Any] = {
    "fail_on": OneOf(*[s.value for s in Severity]),
    "new_findings_only": bool,
    "max_cyclomatic": int,
    "max_cognitive": int,
    "min_diff_coverage": NUM,
    "fail_on_new_sync_dependency_without_timeout": bool,
    "critical_services_only": bool,
}

SCHEMA: dict[str, Any] = {
    "exclude": ListOf(str),
    "extend_exclude": ListOf(str),
    "exclude_tests": bool,
    "exclude_migrations": bool,
    "max_file_size": int,
    "jobs": int,
    "cache_dir": str,
    "event": {"name": str, "date": (str, _dt.date), "peak_factor": NUM, "freeze_days": int},
    "journeys": MapOf((ListOf(str), {"path": ListOf(str), "weight": NUM, "budget_s": NUM})),
    "services": MapOf(
        {
            "path": str,
            "paths": ListOf(str),
            "kind": OneOf("service", "datastore", "broker", "gateway", "external"),
            "critical": bool,
            "tier": OneOf("edge", "gateway", "application", "middleware", "data"),
            "aliases": ListOf(str),
            "ignore": bool,
        }
    ),
    "rules": {"select": ListOf(str), "ignore": ListOf(str), "__codes__": MapOf(Free)},
    "metrics": {
        "clone_min_tokens": int,
        "clone_min_lines": int,
        "churn_days": int,
        "coupling_min_revisions": int,
        "coupling_min_percent": NUM,
        "coupling_max_changeset": int,
        "coverage_files": ListOf(str),
    },
    "grades": MapOf(ListOf(NUM)),
    # weight names: qualscan.scoring.WEIGHT_NAMES (impact factors, then likelihood categories)
    "scoring": {
        "weights": {
            k: NUM
            for k in ("journeys", "blast_radius", "centrality", "fan_in", "tier", "critical", "spof",
                      "resilience", "deployment", "code")
        },
        "top": int,
    },
    "fix": {"default_timeout": NUM},
    "gate": dict(GATE_SCHEMA, services=MapOf(dict(GATE_SCHEMA))),
    "profiles": MapOf({"gate": dict(GATE_SCHEMA), "rules": MapOf(Free)}),
}

DEFAULT_EXCLUDES = (
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    "env/",
    ".tox/",
    ".nox/",
    "node_modules/",
    "__pycache__/",
    "build/",
    "dist/",
    "*.egg-info/",
    "vendor/",
    "third_party/",
    "site-packages/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".qualscan_cache/",
)


@dataclass(frozen=True)
class Config:
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    exclude_tests: bool = False
    exclude_migrations: bool = False
    max_file_size: int = 2_000_000
    jobs: int = 0  # 0 = one worker per core
    cache_dir: str = ".qualscan_cache"
    use_cache: bool = True
    event: Mapping[str, Any] = field(default_factory=dict)
    journeys: tuple[Journey, ...] = ()
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    select: tuple[str, ...] = ("QS",)
    ignore: tuple[str, ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    grades: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    scoring: Mapping[str, Any] = field(default_factory=dict)
    fix: Mapping[str, Any] = field(default_factory=dict)
    gate: Mapping[str, Any] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = "defaults"

    # -- helpers -----------------------------------------------------------------------------
    def metric(self, key: str, default: Any) -> Any:
        return self.metrics.get(key, default)

    @property
    def peak_factor(self) -> float:
        return float(self.event.get("peak_factor", 3.0))

    @property
    def event_date(self) -> _dt.date | None:
        value = self.event.get("date")
        if isinstance(value, _dt.date):
            return value
        return None

    def rule_enabled(self, code: str) -> bool:
        opts = self.rule_options.get(code, {})
        if opts.get("enabled") is False:
            return False
        if opts.get("enabled") is True:
            return True
        selected = any(code.startswith(p) for p in self.select)
        ignored = any(code.startswith(p) for p in self.ignore)
        return selected and not ignored

    def with_overrides(self, **kwargs: Any) -> Config:
        return replace(self, **kwargs)


# --- loading -------------------------------------------------------------------------------------


def find_config_file(root: Path) -> Path | None:
    """``qualscan.toml`` wins over ``pyproject.toml`` (only if it has a [tool.qualscan] table)."""
    candidate = root / "qualscan.toml"
    if candidate.is_file():
        return candidate
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return pyproject  # let load_config report the problem
        if isinstance(data.get("tool"), dict) and "qualscan" in data["tool"]:
            return pyproject
    return None


def load_config(root: Path, explicit: Path | None = None) -> Config:
    """Load and validate the configuration for ``root``; raises ``ConfigError``."""
    path = explicit if explicit is not None else find_config_file(root)
    if path is None:
        return Config()
    if explicit is None:
        try:
            outside = not path.resolve().is_relative_to(root.resolve())
        except (OSError, RuntimeError):
            outside = True
        if outside:  # the scanned tree's own config must not make us read (and echo) a file elsewhere
            raise ConfigError(str(path), ["a symbolic link out of the scanned root; not read"])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    return parse_config(raw, source=str(path), pyproject=path.name == "pyproject.toml")


def parse_config(raw: bytes, *, source: str = "<config>", pyproject: bool = False) -> Config:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, ["file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"malformed TOML: {exc}"]) from None
    except RecursionError:  # tomllib recurses into nested arrays/inline tables
        raise ConfigError(source, ["malformed TOML: arrays or tables nested too deeply"]) from None
    if pyproject or "tool" in data:
        tool = data.get("tool", {})
        table = tool.get("qualscan", {}) if isinstance(tool, dict) else {}
        prefix = "tool.qualscan"
    else:
        table = data
        prefix = ""
    if not isinstance(table, dict):
        raise ConfigError(source, [f"{prefix or 'top level'}: expected a table"])
    problems: list[str] = []
    _validate(table, SCHEMA, prefix, problems)
    if problems:
        raise ConfigError(source, problems)
    return config_from_table(table, source=source)


def config_from_table(table: Mapping[str, Any], *, source: str = "<config>") -> Config:
    problems: list[str] = []
    journeys: list[Journey] = []
    for name, value in sorted(table.get("journeys", {}).items()):
        if isinstance(value, list):
            journeys.append(Journey(name=name, path=tuple(value)))
        else:
            if not value.get("path"):
                problems.append(f"journeys.{name}.path: required, a list of service names")
                continue
            journeys.append(
                Journey(
                    name=name,
                    path=tuple(value["path"]),
                    weight=float(value.get("weight", 1.0)),
                    budget_s=float(value["budget_s"]) if "budget_s" in value else None,
                )
            )
    event = dict(table.get("event", {}))
    if isinstance(event.get("date"), str):
        try:
            event["date"] = _dt.date.fromisoformat(event["date"])
        except ValueError:
            problems.append(f"event.date: {event['date']!r} is not an ISO date (YYYY-MM-DD)")
    if "peak_factor" in event and float(event["peak_factor"]) <= 0:
        problems.append("event.peak_factor: must be greater than 0")
    rules = table.get("rules", {})
    rule_options = {k: dict(v) for k, v in rules.items() if k not in ("select", "ignore")}
    for code, opts in rule_options.items():
        if "severity" in opts:
            try:
                Severity.parse(str(opts["severity"]))
            except ValueError as exc:
                problems.append(f"rules.{code}.severity: {exc}")
    for name, thresholds in table.get("grades", {}).items():
        if len(thresholds) != 4:
            problems.append(f"grades.{name}: expected 4 thresholds (A/B, B/C, C/D, D/E), got {len(thresholds)}")
    for name, weight in sorted(table.get("scoring", {}).get("weights", {}).items()):
        if weight < 0:
            problems.append(f"scoring.weights.{name}: must be 0 or more, got {weight!r}")
    if table.get("max_file_size", 1) <= 0:
        problems.append("max_file_size: must be greater than 0")
    if table.get("jobs", 0) < 0:
        problems.append("jobs: must be 0 (one per core) or more")
    cache_dir = table.get("cache_dir")
    if isinstance(cache_dir, str) and (cache_dir.startswith(("/", "\\", "~")) or ".." in cache_dir.replace("\\", "/").split("/")
                                       or (len(cache_dir) > 1 and cache_dir[1] == ":")):
        # the configuration file is part of the scanned (possibly untrusted) repository: it may not
        # make qualscan write elsewhere; --cache-dir on the command line can
        problems.append("cache_dir: must be a relative path inside the scanned root (use --cache-dir for another place)")
    if problems:
        raise ConfigError(source, problems)
    kwargs: dict[str, Any] = {}
    for key in ("exclude_tests", "exclude_migrations", "max_file_size", "jobs", "cache_dir"):
        if key in table:
            kwargs[key] = table[key]
    if "exclude" in table:
        kwargs["exclude"] = DEFAULT_EXCLUDES + tuple(table["exclude"])
    if "extend_exclude" in table:
        kwargs["extend_exclude"] = tuple(table["extend_exclude"])
    return Config(
        event=event,
        journeys=tuple(journeys),
        services={k: dict(v) for k, v in table.get("services", {}).items()},
        select=tuple(rules.get("select", ("QS",))),
        ignore=tuple(rules.get("ignore", ())),
        rule_options=rule_options,
        metrics=dict(table.get("metrics", {})),
        grades={k: tuple(float(x) for x in v) for k, v in table.get("grades", {}).items()},
        scoring=dict(table.get("scoring", {})),
        fix=dict(table.get("fix", {})),
        gate=dict(table.get("gate", {})),
        profiles={k: dict(v) for k, v in table.get("profiles", {}).items()},
        source=source,
        **kwargs,
    )


def _type_name(t: Any) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    if isinstance(t, ListOf):
        return f"a list of {_type_name(t.item)}"
    if isinstance(t, (MapOf, dict)):
        return "a table"
    if isinstance(t, OneOf):
        return "one of " + ", ".join(repr(c) for c in t.choices)
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        t, getattr(t, "__name__", str(t))
    )


def _matches(value: Any, schema: Any) -> bool:
    """Shallow type check used to choose between alternatives in a tuple schema."""
    if isinstance(schema, tuple):
        return any(_matches(value, s) for s in schema)
    if isinstance(schema, ListOf):
        return isinstance(value, list)
    if isinstance(schema, (dict, MapOf)):
        return isinstance(value, dict)
    if isinstance(schema, OneOf):
        return isinstance(value, str)
    if isinstance(schema, Free):
        return True
    if schema is bool:
        return isinstance(value, bool)
    if schema in (int, float):
        return isinstance(value, schema) and not isinstance(value, bool)
    return isinstance(value, schema)


def _validate(value: Any, schema: Any, where: str, problems: list[str]) -> None:
    label = where or "top level"
    if schema is Free or isinstance(schema, Free):
        return
    if isinstance(schema, tuple):
        for alt in schema:
            if _matches(value, alt):
                _validate(value, alt, where, problems)
                return
        problems.append(f"{label}: expected {_type_name(schema)}, got {type(value).__name__}")
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            problems.append(f"{label}: expected a table, got {type(value).__name__}")
            return
        free = schema.get("__codes__")
        for key, item in value.items():
            sub = f"{where}.{key}" if where else key
            if key in schema and key != "__codes__":
                _validate(item, schema[key], sub, problems)
            elif free is not None:
                _validate(item, free, sub, problems)
            else:
                known = ", ".join(sorted(k for k in schema if k != "__codes__"))
                problems.append(f"{sub}: unknown key (known keys: {known})")
        return
    if isinstance(schema, MapOf):
        if not isinstance(value, dict):
            problems.append(f"{label}: expected a table, got {type(value).__name__}")
            return
        for key, item in value.items():
            _validate(item, schema.value, f"{where}.{key}" if where else key, problems)
        return
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            problems.append(f"{label}: expected {_type_name(schema)}, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _validate(item, schema.item, f"{label}[{i}]", problems)
        return
    if isinstance(schema, OneOf):
        if not isinstance(value, str) or value not in schema.choices:
            problems.append(f"{label}: expected {_type_name(schema)}, got {value!r}")
        return
    if not _matches(value, schema):
        problems.append(f"{label}: expected {_type_name(schema)}, got {type(value).__name__} {value!r}")
