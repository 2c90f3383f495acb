"""The rule API.

A rule is a class in a module of the ``qualscan.rules`` package (the top-level ``rules/`` folder).
Rules are discovered automatically: there is no hand-kept list. Each rule carries its own proof,
Fixit-style: ``VALID`` and ``INVALID`` examples that the test suite turns into tests. Every INVALID
example marks each line where the rule must report with ``# qualscan: expect[CODE]`` (Python and
YAML alike); the test compares the exact set of (file, line) the rule reports against the marks.

Two scopes:

* ``PythonRule`` -- runs once per Python file, in a worker process, on the one shared ``ast`` tree
  (``ctx.tree``); a rule that needs libcst's qualified names sets ``needs_libcst = True`` and reads
  ``ctx.cst`` (a ``libcst.metadata.MetadataWrapper`` built lazily, once per file, shared by every
  rule). ``triggers`` lists top-level module names; when non-empty, the rule only runs on files
  that import one of them (this keeps libcst off files that need no call-site analysis).
* ``ProjectRule`` -- runs once per scan in the main process, on the whole monorepo: services,
  deployment model, service graph and metrics.

A rule's docstring is its documentation, in Markdown with the headings ``## What it does``,
``## Why it matters during a sales peak``, ``## Example`` and ``## Use instead``.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Union

from qualscan.model import Confidence, RuleInfo, Severity

if TYPE_CHECKING:  # pragma: no cover
    import libcst.metadata

    from qualscan.config import Config

# An example is either the text of one file (named by the rule's ``example_path``) or a mapping of
# relative path -> text describing a small monorepo.
Example = Union[str, Mapping[str, str]]  # noqa: UP007 - runtime alias on 3.10


@dataclass(frozen=True)
class Hit:
    """What a rule reports; the engine turns it into a ``Finding`` (fingerprint, service, suppression)."""

    message: str
    line: int = 1
    column: int = 0
    file: str | None = None  # required for project rules; python rules default to the checked file
    end_line: int | None = None
    target: str | None = None  # graph node ("payment") or edge ("checkout->payment")
    service: str | None = None  # overrides the service derived from the file
    severity: Severity | None = None  # overrides the rule's default severity
    key: str = ""  # stable discriminator for the fingerprint (e.g. the callee's qualified name)
    details: Mapping[str, Any] = field(default_factory=dict)


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.MEDIUM
    confidence: ClassVar[Confidence] = Confidence.HIGH
    summary: ClassVar[str] = ""
    scope: ClassVar[str] = ""
    # default option values; users override them in [tool.qualscan.rules.CODE]; types are checked
    options: ClassVar[Mapping[str, Any]] = {}
    fixable: ClassVar[bool] = False
    VALID: ClassVar[Sequence[Example]] = ()
    INVALID: ClassVar[Sequence[Example]] = ()
    example_path: ClassVar[str] = "app.py"

    @classmethod
    def docs(cls) -> str:
        return textwrap.dedent(cls.__doc__ or "").strip()

    @classmethod
    def info(cls) -> RuleInfo:
        return RuleInfo(
            code=cls.code,
            name=cls.name,
            severity=cls.severity,
            confidence=cls.confidence,
            summary=cls.summary,
            scope=cls.scope,
            docs=cls.docs(),
            fixable=cls.fixable,
        )


class PythonFileContext:
    """Everything a Python rule may look at for one file. Built by the engine in a worker."""

    def __init__(
        self,
        path: str,
        text: str,
        tree: ast.Module,
        *,
        service: str | None,
        is_test: bool,
        config: Config,
        imports: frozenset[str],
        service_info: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.tree = tree
        self.service = service
        self.is_test = is_test
        self.config = config
        self.imports = imports  # top-level module names imported anywhere in the file
        # facts about the owning service known before the per-file pass: {"critical": bool,
        # "journeys": [...], "budget_s": float|None}
        self.service_info: Mapping[str, Any] = service_info or {}
        self.options: Mapping[str, Any] = {}  # the running rule's options, set by the engine
        self._cst: libcst.metadata.MetadataWrapper | None = None
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    @property
    def cst(self) -> libcst.metadata.MetadataWrapper:
        """libcst module wrapped for metadata; parsed once per file on first use."""
        if self._cst is None:
            import libcst
            import libcst.metadata

            module = libcst.parse_module(self.text)
            self._cst = libcst.metadata.MetadataWrapper(module, unsafe_skip_copy=True)
        return self._cst


class ProjectContext:
    """Everything a project rule may look at: the whole monorepo after the per-file pass."""

    def __init__(
        self,
        *,
        root_name: str,
        config: Config,
        services: Sequence[Any],
        files: Sequence[Any],
        journeys: Sequence[Any],
        deployment: Any = None,
        graph: Any = None,
        metrics: Any = None,
        python_facts: Mapping[str, Any] | None = None,
        texts: Mapping[str, str] | None = None,
    ) -> None:
        self.root_name = root_name
        self.config = config
        self.services = services  # tuple[model.Service, ...]
        self.files = files  # tuple[model.SourceFile, ...]
        self.journeys = journeys  # tuple[model.Journey, ...]
        self.deployment = deployment  # parsed deployment model (qualscan.graph / parsers)
        self.graph = graph  # the service graph object (qualscan.graph)
        self.metrics = metrics  # project metrics (qualscan.metrics)
        self.python_facts = python_facts or {}  # path -> per-file facts from the workers
        self.texts = texts or {}  # path -> text of manifest files (for line lookups)
        self.options: Mapping[str, Any] = {}


class PythonRule(Rule):
    scope: ClassVar[str] = "python"
    needs_libcst: ClassVar[bool] = False
    triggers: ClassVar[frozenset[str]] = frozenset()
    include_tests: ClassVar[bool] = False  # calls in test files are skipped by default

    def check(self, ctx: PythonFileContext) -> Iterable[Hit]:  # pragma: no cover - abstract
        raise NotImplementedError


class ProjectRule(Rule):
    scope: ClassVar[str] = "project"
    example_path: ClassVar[str] = "k8s/app.yaml"

    def check(self, ctx: ProjectContext) -> Iterable[Hit]:  # pragma: no cover - abstract
        raise NotImplementedError
