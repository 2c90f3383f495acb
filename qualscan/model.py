"""The data model: frozen dataclasses shared by every layer.

Everything here is plain data with no behaviour beyond ordering and (de)serialisation helpers, so
that it can cross process boundaries (pickle) and be rendered by pure reporters. Paths are always
relative to the scanned root, with POSIX separators.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1.0"


class Severity(str, enum.Enum):
    """Finding severity, ordered ``info < low < medium < high < critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER[self]

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            raise ValueError(
                f"unknown severity {value!r} (expected one of: {', '.join(s.value for s in cls)})"
            ) from None


_SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}


class Confidence(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Level(str, enum.Enum):
    """Diagnostic level: something qualscan could not read or understand fully."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class FileKind(str, enum.Enum):
    PYTHON = "python"
    YAML = "yaml"
    HELM_TEMPLATE = "helm-template"
    COMPOSE = "compose"
    DOCKERFILE = "dockerfile"
    NGINX = "nginx"
    ENVOY = "envoy"
    TOML = "toml"
    ENV = "env"
    COVERAGE = "coverage"
    OTHER_SOURCE = "other-source"  # Go, Java, JS/TS, C#, PHP, Ruby... scanned for service edges only
    OTHER = "other"


class NodeKind(str, enum.Enum):
    SERVICE = "service"
    DATASTORE = "datastore"
    BROKER = "broker"
    GATEWAY = "gateway"
    EXTERNAL = "external"


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int = 1
    column: int = 0
    end_line: int | None = None


@dataclass(frozen=True)
class Diagnostic:
    """A file qualscan could not read, parse or fully understand. Never changes the exit code."""

    file: str
    line: int
    level: Level
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "level": self.level.value, "message": self.message}


@dataclass(frozen=True)
class SourceFile:
    """A discovered file: relative path, classification and owning service (if any)."""

    path: str
    kind: FileKind
    service: str | None = None
    size: int = 0
    is_test: bool = False
    language: str | None = None
    library: str | None = None  # internal shared library (libs/..., packages/...) owning the file


@dataclass(frozen=True)
class Service:
    name: str
    path: str | None = None  # source directory relative to root ("" for the root itself)
    languages: tuple[str, ...] = ()
    kind: NodeKind = NodeKind.SERVICE
    markers: tuple[str, ...] = ()  # build markers / manifests that declared it
    attrs: Mapping[str, Any] = field(default_factory=dict)  # deployment attributes (replicas, ...)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "path": self.path,
            "languages": list(self.languages),
            "kind": self.kind.value,
            "markers": list(self.markers),
        }
        d.update(_jsonable(dict(self.attrs)))
        return d


@dataclass(frozen=True, order=True)
class Evidence:
    file: str
    line: int
    kind: str = "code"  # code | env | manifest | network-policy | gateway | depends_on | ...
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"file": self.file, "line": self.line, "kind": self.kind}
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    protocol: str = "http"  # http | grpc | sql | redis | kafka | amqp | nats | mongo | ...
    sync: bool = True
    evidence: tuple[Evidence, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "source": self.source,
            "target": self.target,
            "protocol": self.protocol,
            "sync": self.sync,
            "evidence": [e.to_json() for e in self.evidence],
        }
        d.update(_jsonable(dict(self.attrs)))
        return d


@dataclass(frozen=True)
class Finding:
    rule: str  # stable code, e.g. QS101
    name: str  # rule name, e.g. no-timeout
    severity: Severity
    message: str
    file: str
    line: int
    column: int = 0
    end_line: int | None = None
    service: str | None = None
    confidence: Confidence = Confidence.HIGH
    target: str | None = None  # graph node ("payment") or edge ("checkout->payment")
    fingerprint: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.file, self.line, self.column, self.rule, self.message)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "service": self.service,
            "target": self.target,
            "fingerprint": self.fingerprint,
        }
        if self.details:
            d["details"] = _jsonable(dict(self.details))
        return d


@dataclass(frozen=True)
class RuleInfo:
    """Rule metadata carried into results so reporters never import the rule layer."""

    code: str
    name: str
    severity: Severity
    confidence: Confidence
    summary: str
    scope: str
    docs: str = ""  # Markdown, with the What it does / Why ... / Example / Use instead headings
    fixable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "summary": self.summary,
            "scope": self.scope,
            "fixable": self.fixable,
        }


@dataclass(frozen=True)
class WeakPoint:
    rank: int
    target: str
    kind: str  # service | edge | datastore | broker | gateway | file | function
    score: float
    impact: float
    likelihood: float
    reasons: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()  # fingerprints
    journeys: tuple[str, ...] = ()
    fix: str = ""
    breakdown: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "target": self.target,
            "kind": self.kind,
            "score": round(self.score, 4),
            "impact": round(self.impact, 4),
            "likelihood": round(self.likelihood, 4),
            "reasons": list(self.reasons),
            "findings": list(self.findings),
            "journeys": list(self.journeys),
            "fix": self.fix,
            "breakdown": {k: round(v, 4) for k, v in sorted(self.breakdown.items())},
        }


@dataclass(frozen=True)
class Journey:
    name: str
    path: tuple[str, ...]
    weight: float = 1.0
    budget_s: float | None = None  # end-to-end timeout budget for calls on this journey
    inferred: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": list(self.path),
            "weight": self.weight,
            "budget_s": self.budget_s,
            "inferred": self.inferred,
        }


@dataclass(frozen=True)
class ScanResult:
    root: str
    tool_version: str
    services: tuple[Service, ...] = ()
    edges: tuple[Edge, ...] = ()
    findings: tuple[Finding, ...] = ()
    weak_points: tuple[WeakPoint, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    journeys: tuple[Journey, ...] = ()
    rules: tuple[RuleInfo, ...] = ()
    # metrics: {"files": [...], "functions": [...], "services": {...}, ...} -- JSON-ready data
    metrics: Mapping[str, Any] = field(default_factory=dict)
    event: Mapping[str, Any] = field(default_factory=dict)
    # free-form extra sections (gate verdict, comparison, graph analyses, shard info)
    extra: Mapping[str, Any] = field(default_factory=dict)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """Convert tuples/sets/enums/dataclass-ish values into JSON-ready data, deterministically."""
    # fast paths on the exact type (perf, issue #8): reports carry ~10^6 plain values, and the ABC
    # and hasattr checks below cost more than the conversion; enum members never match (subclasses)
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def jsonable(value: Any) -> Any:
    """Public alias of the JSON conversion used by the reporters."""
    return _jsonable(value)
