"""Monorepo discovery: walk the root, classify files, find services. The only module besides the
CLI that reads the disk (files, git).

The walk is gitignore-aware (nested ``.gitignore`` files too), never follows symlinks out of the
root or into loops, and turns every unreadable thing into a diagnostic. The pure core,
``build_inventory``, works on a list of (path, size) pairs so in-memory scans share it.

Ignore patterns: the usual ones (names, ``*``/``?`` globs, ``**``, anchoring and directory
slashes, no negation) are translated here to the regular expressions pathspec would compile;
anything else (``!`` re-includes, ``[...]`` ranges, ``\\`` escapes) goes through pathspec, which
is imported only then (it pulls in asyncio and ssl: ~45 ms of a one-file gate, issue #8).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from fnmatch import fnmatch
from operator import attrgetter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from qualscan.config import Config
from qualscan.model import Diagnostic, FileKind, Level, NodeKind, Service, SourceFile

if TYPE_CHECKING:
    import pathspec

BUILD_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Dockerfile",
    "package.json",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "Cargo.toml",
    "composer.json",
    "Gemfile",
    "mix.exs",
)
_MARKER_PATTERNS = (re.compile(r"^requirements.*\.txt$"), re.compile(r".*\.csproj$"), re.compile(r"^Dockerfile\..+"))

LANGUAGES = {
    ".py": "python",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".scala": "scala",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".cs": "csharp",
    ".php": "php",
    ".rb": "ruby",
    ".rs": "rust",
    ".ex": "elixir",
    ".exs": "elixir",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".c": "c",
    ".swift": "swift",
}
_MARKER_LANG = {
    "go.mod": "go",
    "package.json": "javascript",
    "pom.xml": "java",
    "build.gradle": "java",
    "build.gradle.kts": "kotlin",
    "Cargo.toml": "rust",
    "composer.json": "php",
    "Gemfile": "ruby",
    "mix.exs": "elixir",
    "pyproject.toml": "python",
    "setup.py": "python",
    "setup.cfg": "python",
}
LIBRARY_DIRS = {"libs", "lib", "packages", "shared", "common", "pkg", "internal-libs"}
COVERAGE_NAMES = {".coverage", "coverage.xml", "lcov.info", "cobertura.xml", "cobertura-coverage.xml"}
TEST_DIRS = {"tests", "test", "testing", "__tests__", "spec", "specs"}
_TEST_FILE = re.compile(r"^(test_.*\.py|.*_test\.py|conftest\.py|.*_test\.go|.*\.(test|spec)\.[jt]sx?|.*Tests?\.(java|cs))$")


@dataclass(frozen=True)
class Inventory:
    files: tuple[SourceFile, ...]
    services: tuple[Service, ...]
    libraries: tuple[Service, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def by_path(self) -> dict[str, SourceFile]:
        return {f.path: f for f in self.files}


# --- classification (pure) -----------------------------------------------------------------------


def classify(path: str, helm_chart_dirs: Sequence[str] = ()) -> tuple[FileKind, str | None]:
    """Kind and language of a file from its relative path."""
    return _classify(path, path.rpartition("/")[2], helm_chart_dirs)


def _suffix(lower: str) -> str:
    """``os.path.splitext(lower)[1]`` of a file name (no "/"), without its function calls: the
    text from the last dot, unless only dots come before it (".env", "..py": no suffix)."""
    dot = lower.rfind(".")
    return lower[dot:] if dot > 0 and lower[:dot].lstrip(".") else ""


_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-].*)?\.ya?ml$")


def _classify(path: str, name: str, helm_chart_dirs: Sequence[str]) -> tuple[FileKind, str | None]:
    lower = name.lower()
    suffix = _suffix(lower)
    if lower in COVERAGE_NAMES or lower.endswith(".lcov") or (lower.startswith(".coverage.") and "." in lower[10:]):
        return FileKind.COVERAGE, None
    if suffix == ".py":
        return FileKind.PYTHON, "python"
    if name == "Dockerfile" or name.startswith("Dockerfile.") or lower.endswith(".dockerfile"):
        return FileKind.DOCKERFILE, None
    if suffix in (".yaml", ".yml"):
        if _COMPOSE_NAME.match(lower):
            return FileKind.COMPOSE, None
        for chart in helm_chart_dirs:
            prefix = f"{chart}/templates/" if chart else "templates/"
            if path.startswith(prefix):
                return FileKind.HELM_TEMPLATE, None
        return FileKind.YAML, None
    if suffix == ".tpl":
        for chart in helm_chart_dirs:
            prefix = f"{chart}/templates/" if chart else "templates/"
            if path.startswith(prefix):
                return FileKind.HELM_TEMPLATE, None
    if lower == "nginx.conf" or (suffix == ".conf" and ("nginx" in path.lower() or lower.endswith(".nginx.conf"))):
        return FileKind.NGINX, None
    if lower.endswith((".conf.template", ".conf.tmpl")) and ("nginx" in path.lower() or ".nginx." in lower):
        # the official nginx image's envsubst templates (/etc/nginx/templates/*.conf.template);
        # their ${VARS} resolve from the owner's environment like a plain config's
        return FileKind.NGINX, None
    if lower == ".env" or lower.startswith(".env.") or suffix == ".env":
        return FileKind.ENV, None
    if suffix == ".toml":
        return FileKind.TOML, None
    if suffix in LANGUAGES:
        return FileKind.OTHER_SOURCE, LANGUAGES[suffix]
    return FileKind.OTHER, None


def is_test_path(path: str) -> bool:
    parent, _, name = path.rpartition("/")
    return _is_test(parent, name)


def _is_test(parent: str, name: str) -> bool:
    """A test file: in a test directory, or named like one (``parent`` "" at the root)."""
    return (bool(parent) and not TEST_DIRS.isdisjoint(parent.split("/"))) or _TEST_FILE.match(name) is not None


def is_migration_path(path: str) -> bool:
    return "migrations" in PurePosixPath(path).parts[:-1] or "alembic" in PurePosixPath(path).parts[:-1]


_MARKER_NAMES = frozenset(BUILD_MARKERS)
_MARKER_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in _MARKER_PATTERNS))  # one match, not three


def _is_marker(name: str) -> bool:
    return name in _MARKER_NAMES or _MARKER_ANY.match(name) is not None


# SourceFile is a frozen dataclass: its __init__ sets each of the seven fields through
# object.__setattr__ (~2 us a file, 14 ms on Django's 6,800 files). build_inventory fills the
# instance's __dict__ in one step instead, as unpickling does -- only while the class is the plain
# dataclass this was written for (tests/test_discovery_inventory.py compares both ways).
_SOURCE_FILE_FIELDS = ("path", "kind", "service", "size", "is_test", "language", "library")
_FAST_SOURCE_FILE = (
    tuple(f.name for f in fields(SourceFile)) == _SOURCE_FILE_FIELDS
    and not hasattr(SourceFile, "__post_init__")
    and "__slots__" not in vars(SourceFile)
)


def _source_file(
    path: str, kind: FileKind, service: str | None, size: int, is_test: bool, language: str | None, library: str | None
) -> SourceFile:
    if not _FAST_SOURCE_FILE:
        return SourceFile(path=path, kind=kind, service=service, size=size, is_test=is_test, language=language,
                          library=library)
    obj = object.__new__(SourceFile)
    obj.__dict__.update(path=path, kind=kind, service=service, size=size, is_test=is_test, language=language,
                        library=library)
    return obj


def build_inventory(
    entries: Iterable[tuple[str, int]],
    config: Config,
    diagnostics: Sequence[Diagnostic] = (),
    root_name: str = "root",
) -> Inventory:
    """Classify files and find services from (relative POSIX path, size) pairs. Pure."""
    entries = sorted(entries)
    paths = [p for p, _ in entries]
    # string operations, not PurePosixPath, per path: the walk's paths are already normalised POSIX
    # relative paths ("a/b/c", never "./", "//" or a trailing "/")
    split = [p.rpartition("/") for p in paths]  # (parent or "", "/" or "", name)
    helm_charts = sorted(parent for parent, _, name in split if name == "Chart.yaml")
    # -- candidate service directories: directories holding a build marker
    marker_dirs: dict[str, list[str]] = {}
    for parent, _, name in split:
        if _is_marker(name):
            marker_dirs.setdefault(parent, []).append(name)
    declared = _declared_services(config, paths)
    ignored = {name for name, opts in config.services.items() if opts.get("ignore")}
    service_dirs: dict[str, str] = {}  # dir -> name
    library_dirs: dict[str, str] = {}
    # deepest-first resolution needs outermost-first filtering: a marker dir inside a service is part of it
    for d in sorted(marker_dirs, key=lambda x: (x.count("/") if x else -1, x)):
        if d == "":
            continue
        if d in declared.values() or _owner(d, service_dirs) is not None or _owner(d, library_dirs) is not None:
            continue
        parts = PurePosixPath(d).parts
        has_runtime = any(m.startswith("Dockerfile") for m in marker_dirs[d])
        if any(part in LIBRARY_DIRS for part in parts) and not has_runtime:
            library_dirs[d] = parts[-1]
            continue
        if _is_test_or_example_dir(parts):
            continue
        service_dirs[d] = _service_name(parts)
    if "" in marker_dirs and not service_dirs and not declared:
        service_dirs[""] = root_name
    # -- disambiguate duplicate names (api, web ...) with the parent directory
    counts: dict[str, int] = {}
    for name in service_dirs.values():
        counts[name] = counts.get(name, 0) + 1
    for d, name in list(service_dirs.items()):
        if counts[name] > 1:
            service_dirs[d] = d.replace("/", "-")
    # -- declared services (config) win
    for name, d in declared.items():
        service_dirs = {k: v for k, v in service_dirs.items() if v != name and k != d}
        service_dirs[d] = name
    service_dirs = {d: n for d, n in service_dirs.items() if n not in ignored}
    # -- assign files to the deepest owning directory (ancestor lookups: once per directory)
    files: list[SourceFile] = []
    langs: dict[str, set[str]] = {d: set() for d in service_dirs}
    service_owner = _OwnerLookup(service_dirs)
    library_owner = _OwnerLookup(library_dirs)
    exclude_tests, exclude_migrations = config.exclude_tests, config.exclude_migrations
    for (path, size), (parent, _, name) in zip(entries, split):
        kind, lang = _classify(path, name, helm_charts)
        test = _is_test(parent, name)
        if exclude_tests and test:
            continue
        if exclude_migrations and is_migration_path(path):
            continue
        owner = service_owner(path, parent)
        library = None
        if owner is None:
            service = None
            owner_lib = library_owner(path, parent)
            library = library_dirs[owner_lib] if owner_lib is not None else None
        else:
            service = service_dirs[owner]
            if lang:
                langs[owner].add(lang)
        files.append(_source_file(path, kind, service, size, test, lang, library))
    for d, markers in marker_dirs.items():
        if d in langs:
            for m in markers:
                if m in _MARKER_LANG and not langs[d]:
                    langs[d].add(_MARKER_LANG[m])
    services = tuple(
        Service(
            name=name,
            path=d,
            languages=tuple(sorted(langs.get(d, ()))),
            kind=NodeKind(config.services.get(name, {}).get("kind", "service")),
            markers=tuple(sorted(marker_dirs.get(d, ["config"]))),
            attrs={"critical": True} if config.services.get(name, {}).get("critical") else {},
        )
        for d, name in sorted(service_dirs.items(), key=lambda kv: kv[1])
    )
    libraries = tuple(
        Service(name=name, path=d, languages=("python",), markers=tuple(sorted(marker_dirs.get(d, ()))))
        for d, name in sorted(library_dirs.items(), key=lambda kv: kv[1])
    )
    return Inventory(files=tuple(files), services=services, libraries=libraries, diagnostics=tuple(diagnostics))


def _owner(path: str, dirs: Mapping[str, str]) -> str | None:
    """The deepest directory of ``dirs`` that contains ``path`` (or is it), by walking its ancestors."""
    if path in dirs:
        return path
    end = len(path)
    while end > 0:
        end = path.rfind("/", 0, end)
        key = path[:end] if end > 0 else ""
        if key in dirs:
            return key
    return None


class _OwnerLookup:
    """``_owner(path, dirs)`` for many paths, each directory's answer computed once (``dirs`` must
    not change meanwhile)."""

    def __init__(self, dirs: Mapping[str, str]) -> None:
        self._dirs = dirs
        self._by_dir: dict[str, str | None] = {}

    def __call__(self, path: str, parent: str) -> str | None:
        """``parent``: ``path.rpartition("/")[0]``. The ancestors ``_owner`` tries after ``path``
        itself are exactly ``parent`` and its own ancestors (then ``""``)."""
        if path in self._dirs:
            return path
        if not path:
            return None
        try:
            return self._by_dir[parent]
        except KeyError:
            found = self._by_dir[parent] = self(parent, parent.rpartition("/")[0])
            return found


GENERIC_DIRS = {"src", "app", "server", "service", "backend", "main", "code", "source", "python", "go", "java"}


def _service_name(parts: Sequence[str]) -> str:
    """A service is named after its directory, skipping generic names: ``src/cartservice/src`` is
    ``cartservice``, ``services/cart/app`` would be ``cart``."""
    for part in reversed(parts):
        if part.lower() not in GENERIC_DIRS:
            return part
    return parts[-1]


def _is_test_or_example_dir(parts: Sequence[str]) -> bool:
    return any(part in TEST_DIRS or part in ("docs", "examples", "example", "fixtures", "testdata") for part in parts)


def _declared_services(config: Config, paths: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, opts in sorted(config.services.items()):
        if opts.get("ignore"):
            continue
        if opts.get("path") is not None:
            out[name] = str(PurePosixPath(opts["path"])).strip("/").removeprefix("./") if opts["path"] not in (".", "") else ""
        elif opts.get("paths"):
            dirs = sorted(
                {
                    str(PurePosixPath(p).parent)
                    for p in paths
                    if any(fnmatch(p, g) or fnmatch(str(PurePosixPath(p).parent), g.rstrip("/")) for g in opts["paths"])
                }
            )
            if dirs:
                out[name] = os.path.commonpath(dirs) if len(dirs) > 1 else dirs[0]
    return out


# --- the disk walk ----------------------------------------------------------------------------


# pathspec compiles each ``*`` to ``[^/]*``: a pattern with several of them backtracks exponentially
# (``*a*a*a*a*b`` against a 250-character name: 38 s per file). Real ignore patterns use one or two.
MAX_PATTERN_STARS = 2
MAX_PATTERN_LENGTH = 1024


def safe_patterns(lines: Iterable[str], source: str, diags: list[Diagnostic], numbered: bool = True) -> list[str]:
    """Ignore patterns with the pathological ones left out (each one a diagnostic naming ``source``)."""
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        stars = line.replace("**", "").count("*")
        if stars > MAX_PATTERN_STARS or len(line) > MAX_PATTERN_LENGTH:
            diags.append(Diagnostic(source, number if numbered else 0, Level.WARNING,
                                    f"ignore pattern with more than {MAX_PATTERN_STARS} '*' wildcards or over "
                                    f"{MAX_PATTERN_LENGTH} characters skipped (matching it could take hours)"))
            continue
        out.append(line)
    return out


def _exclude_lines(config: Config, diags: list[Diagnostic]) -> list[str]:
    lines = list(config.exclude) + list(config.extend_exclude)
    source = PurePosixPath(config.source).name or "configuration"  # no absolute path in a report
    return safe_patterns(lines, source, diags, numbered=False)


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_ANY_PARENT = "^(?:.+/)?"  # how a pattern that may match at any depth starts
_DIR_MARK = "(?:/)"  # pathspec's directory marker ``(?P<ps_d>/)`` with its group name left out


class _NeedsPathspec(Exception):
    """An ignore pattern that ``pattern_regex`` leaves to pathspec."""


def _glob_regex(segment: str) -> str:
    return "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment)


def pattern_regex(line: str) -> str | None:
    """The regular expression pathspec's ``GitIgnoreSpec`` compiles for one gitignore line that
    ignores (named groups left out, as ``spec_matcher`` uses them); None for a line that matches
    nothing (blank, comment, ``/``).

    Covers names, ``*``, ``?`` and ``**`` globs, anchoring (``/x``, ``a/b``) and directory patterns
    (``x/``): gitignore's rules as pathspec implements them. Raises ``_NeedsPathspec`` for a
    re-include (``!``), a bracket expression or a backslash escape.
    tests/test_discovery_ignore.py holds the two to the same answers."""
    if "\\" in line or "[" in line:
        raise _NeedsPathspec(line)
    text = line.rstrip()  # trailing spaces are dropped (only a backslash keeps one)
    if not text or text.startswith("#") or text == "/":
        return None
    if text.startswith("!"):
        raise _NeedsPathspec(line)
    segments = text.split("/")
    is_dir = not segments[-1]
    if not segments[0]:
        del segments[0]  # "/x": relative to the directory of the ignore file
    elif (len(segments) == 1 or (len(segments) == 2 and not segments[1])) and segments[0] != "**":
        segments.insert(0, "**")  # "x", "x/": at any depth
    if not segments[-1]:
        segments[-1] = "**"  # "x/": the directory and everything under it
    for i in range(len(segments) - 1, 0, -1):
        if segments[i - 1] == "**" and segments[i] == "**":
            del segments[i]
    if segments == ["**"]:
        return _DIR_MARK if is_dir else "."
    if segments == ["**", "*"]:
        return "."
    if segments == ["**", "*", "**"]:
        return _DIR_MARK if is_dir else "/"
    out: list[str] = []
    need_slash = False
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        if segment == "**":
            if i == 0:
                out.append(_ANY_PARENT)
            elif i < last:
                out.append("(?:/.+)?")
                need_slash = True
            else:
                out.append(_DIR_MARK if is_dir else "/")
            continue
        if i == 0:
            out.append("^")
        if need_slash:
            out.append("/")
        out.append("[^/]+" if segment == "*" else _glob_regex(segment))
        if i == last:
            out.append(f"(?:{_DIR_MARK}|$)")  # "x" is a file, or a directory with everything under it
        need_slash = True
    return "".join(out)


def _search_any(sources: Sequence[str]) -> Callable[[str], bool] | None:
    """A predicate: does any of the regular expressions ``sources`` match (``re.search``)? None if
    they do not compile. The alternatives that start with ``^(?:.+/)?`` share it (``A(B|C)`` is
    ``AB|AC``): one backtracking pass over the path instead of one per pattern, ~6x cheaper for
    the default excludes."""
    if not sources:
        return lambda _path: False
    shared = [src[len(_ANY_PARENT) :] for src in sources if src.startswith(_ANY_PARENT)]
    alternatives = [src for src in sources if not src.startswith(_ANY_PARENT)]
    if shared:
        alternatives.append(_ANY_PARENT + "(?:" + "|".join(f"(?:{src})" for src in shared) + ")")
    try:
        combined = re.compile("|".join(f"(?:{src})" for src in alternatives))
    except re.error:
        return None
    search = combined.search
    return lambda path: search(path) is not None


def spec_matcher(spec: pathspec.GitIgnoreSpec) -> Callable[[str], bool]:
    """A predicate equal to ``spec.match_file`` for normalised relative POSIX paths, but cheaper.

    When every pattern of the spec ignores (no ``!`` re-include), git's precedence rules cannot
    change the outcome: a path is ignored exactly when some pattern matches it, so the patterns are
    joined into one regular expression and searched once (the walk probes every entry: ~20
    default exclude patterns x 10,000 entries on Django were 200,000 ``re.search`` calls). A spec
    with a negation keeps pathspec's own matching.
    """
    sources: list[str] = []
    for pattern in spec.patterns:
        include = getattr(pattern, "include", None)
        regex = getattr(pattern, "regex", None)
        if include is None or regex is None:
            continue  # a no-op line (comment, blank)
        if include is not True or not isinstance(regex.pattern, str) or regex.flags != re.UNICODE:
            return spec.match_file
        sources.append(_NAMED_GROUP.sub("(?:", regex.pattern))
    matcher = _search_any(sources)
    return matcher if matcher is not None else spec.match_file


def ignore_matcher(lines: Sequence[str]) -> Callable[[str], bool]:
    """``spec_matcher(pathspec.GitIgnoreSpec.from_lines(lines))``, without importing pathspec when
    ``pattern_regex`` translates every line. Raises ValueError where pathspec does."""
    try:
        sources = [src for src in map(pattern_regex, lines) if src is not None]
    except _NeedsPathspec:
        sources = None
    matcher = _search_any(sources) if sources is not None else None
    if matcher is not None:
        return matcher
    import pathspec  # lazily: ~45 ms of imports (asyncio, ssl) a tree with plain patterns never needs

    return spec_matcher(pathspec.GitIgnoreSpec.from_lines(lines))


MAX_DIR_DEPTH = 200


def walk(root: Path, config: Config) -> tuple[list[tuple[str, int]], list[Diagnostic]]:
    """Every regular file under ``root`` that is not excluded or gitignored, as (relpath, size).

    One ``lstat`` per entry (``DirEntry.stat``, which a directory's loop check reuses) and one
    ``scandir`` per directory; a directory's ``.gitignore`` is looked for in its listing."""
    root = root.resolve()
    entries: list[tuple[str, int]] = []
    diags: list[Diagnostic] = []
    excludes = ignore_matcher(_exclude_lines(config, diags))
    ignore_stack: list[tuple[str, Callable[[str], bool]]] = []
    seen_dirs: set[tuple[int, int]] = set()
    by_name = attrgetter("name")

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        if excludes(probe):
            return True
        for base, matches in ignore_stack:
            if base and not rel.startswith(base + "/"):
                continue
            sub = rel[len(base) + 1 :] if base else rel
            if matches(sub + "/" if is_dir else sub):
                return True
        return False

    def push_gitignore(directory: str, rel_dir: str) -> bool:
        """Read ``directory/.gitignore`` onto the ignore stack, if it is a regular file."""
        gi = os.path.join(directory, ".gitignore")  # strings, not pathlib: this runs once per directory
        try:  # Path.is_file() raises PermissionError (EACCES) in a directory we may not search
            if not stat.S_ISREG(os.lstat(gi).st_mode):
                return False
        except OSError:
            return False
        gi_rel = f"{rel_dir}/.gitignore".lstrip("/")
        try:
            with open(gi, encoding="utf-8", errors="replace") as fh:
                gi_lines = fh.read().splitlines()
            ignore_stack.append((rel_dir, ignore_matcher(safe_patterns(gi_lines, gi_rel, diags))))
            return True
        except (OSError, ValueError) as exc:
            diags.append(Diagnostic(gi_rel, 0, Level.WARNING, f"unreadable .gitignore: {exc}"))
            return False

    def visit(directory: str, rel_dir: str, depth: int, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        try:
            with os.scandir(directory) as it:
                items = sorted(it, key=by_name)
        except OSError as exc:
            if push_gitignore(directory, rel_dir):  # an unlistable directory may still hold one: its diagnostics
                ignore_stack.pop()
            diags.append(Diagnostic(rel_dir or ".", 0, Level.WARNING, f"cannot read directory: {exc.strerror or exc}"))
            return
        at = bisect_left(items, ".gitignore", key=by_name)
        pushed = at < len(items) and items[at].name == ".gitignore" and push_gitignore(directory, rel_dir)
        for entry in items:
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not name.isascii() and not _utf8_name(name):  # undecodable bytes (surrogate escapes) cannot be reported
                shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                diags.append(Diagnostic(shown, 0, Level.WARNING, "file name is not valid UTF-8; skipped"))
                continue
            if "\\" in name:  # report paths are POSIX and never hold a backslash (schema relpath)
                diags.append(Diagnostic(rel, 0, Level.WARNING, "file name contains a backslash; skipped"))
                continue
            try:
                if entry.is_symlink():
                    _note_symlink(root, Path(entry.path), rel, diags)
                    continue
                entry_st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                diags.append(Diagnostic(rel, 0, Level.WARNING, f"cannot stat: {exc.strerror or exc}"))
                continue
            mode = entry_st.st_mode
            if stat.S_ISDIR(mode):
                if not ignored(rel, True):
                    if depth >= MAX_DIR_DEPTH:  # the walk recurses: a hostile tree must not exhaust the stack
                        diags.append(Diagnostic(rel, 0, Level.WARNING, f"directory nested deeper than {MAX_DIR_DEPTH} levels; not descended"))
                        continue
                    visit(entry.path, rel, depth + 1, entry_st)
            elif stat.S_ISREG(mode) and not ignored(rel, False):
                entries.append((rel, entry_st.st_size))
        if pushed:
            ignore_stack.pop()

    try:
        root_st = os.stat(root)
    except OSError as exc:
        diags.append(Diagnostic(".", 0, Level.WARNING, f"cannot read directory: {exc.strerror}"))
        return entries, diags
    visit(str(root), "", 0, root_st)
    return entries, diags


def _utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _note_symlink(root: Path, link: Path, rel: str, diags: list[Diagnostic]) -> None:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        diags.append(Diagnostic(rel, 0, Level.INFO, "symbolic link loop or dangling link; not followed"))
        return
    if not target.is_relative_to(root):
        diags.append(Diagnostic(rel, 0, Level.INFO, "symbolic link points outside the scanned root; not followed"))
    # links inside the root are not followed either: their target is scanned where it lives


def discover(root: Path, config: Config) -> Inventory:
    entries, diags = walk(root, config)
    return build_inventory(entries, config, diags, root_name=root.resolve().name or "root")


def read_file(root: Path, rel: str, max_size: int) -> bytes | Diagnostic:
    """Read one discovered file; vanished, unreadable and oversized files become diagnostics."""
    path = root / rel
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):
            return Diagnostic(rel, 0, Level.WARNING, "no longer a regular file; skipped")
        if st.st_size > max_size:
            return Diagnostic(rel, 0, Level.WARNING, f"file of {st.st_size} bytes is over max_file_size ({max_size}); skipped")
        with open(path, "rb") as fh:
            data = fh.read(max_size + 1)
        if len(data) > max_size:
            return Diagnostic(rel, 0, Level.WARNING, f"file grew over max_file_size ({max_size}); skipped")
        return data
    except FileNotFoundError:
        return Diagnostic(rel, 0, Level.WARNING, "file vanished during the scan; skipped")
    except OSError as exc:
        return Diagnostic(rel, 0, Level.WARNING, f"cannot read: {exc.strerror or exc}; skipped")


# --- git --------------------------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_PAGER": "cat"})
    return env


def run_git(root: Path, args: Sequence[str], timeout: float = 300, stdin: str | None = None) -> tuple[int, str, str]:
    """Run git read-only in ``root``; returns (exit code, stdout, stderr). 127 when git is missing.
    ``stdin``: text for git's standard input (else none)."""
    git = shutil.which("git")
    if git is None:
        return 127, "", "git is not installed"
    try:
        proc = subprocess.run(
            # a scanned .git/config may name commands (fsmonitor hook, textconv/external diff drivers):
            # none of them may run, whatever git subcommand is added here later
            [git, "-c", "core.quotepath=off", "-c", "safe.directory=*", "-c", "core.fsmonitor=false",
             "-C", str(root), *args],
            capture_output=True,
            timeout=timeout,
            env=_git_env(),
            input=stdin.encode("utf-8") if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return 124, "", f"git {args[0]} timed out after {timeout:.0f} s"
    except OSError as exc:
        return 126, "", f"cannot run git: {exc}"
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


class HistoryMemo(Protocol):
    """Where ``git_log`` keeps texts between runs (engine/cache.py's ``Cache``)."""

    def get_history(self, key: str) -> str | None: ...

    def put_history(self, key: str, text: str) -> None: ...


def history_since(since_days: int, today: _dt.date | None = None) -> str:
    """The history window's start: midnight UTC ``since_days`` days before today. A whole day, not
    "now minus N days": the window (and so a stored log) stays the same for a whole day."""
    day = (today or _dt.datetime.now(_dt.timezone.utc).date()) - _dt.timedelta(days=max(0, since_days))
    return f"{day.isoformat()} 00:00:00 +0000"


def git_log(
    root: Path, args: Sequence[str], since_days: int, memo: HistoryMemo | None = None, today: _dt.date | None = None
) -> tuple[str | None, str | None]:
    """One ``git log`` pass for the history metrics: (text, None) or (None|partial, problem).

    With a ``memo`` (the cache), what git printed is kept, since a commit's entry never changes:

    * the whole text under a digest of everything it depends on -- the commit HEAD names,
      ``args``, the window, the scanned directory inside the repository, a shallow clone, the
      mailmap (``.mailmap`` at the top of the work tree and the ``mailmap.*`` settings) -- reused
      as it is while HEAD stays (a re-scan, a gate on uncommitted changes);
    * each commit's entry, under the same digest without HEAD and window: on a new HEAD (a pull
      request's commit or merge) ``git rev-list`` lists the window's commits in the order the log
      would print them (the same walk, without diffs) and only the commits not seen before go
      through ``git log --numstat``; the text is their entries in that order, byte for byte what
      the whole log prints (tests/test_history_memo.py). Anything unexpected -- an option this
      does not know, git listing other commits than asked -- runs the whole log instead.

    The log of 2,818 files added in one commit alone takes ~0.3 s; a busy repository's year,
    seconds."""
    code, out, err = run_git(
        root, ["rev-parse", "--is-inside-work-tree", "--is-shallow-repository", "--show-prefix", "--show-toplevel"], timeout=30
    )
    if code == 127:
        return None, "git is not installed; history metrics are absent"
    lines = out.split("\n")
    if code != 0 or lines[0].strip() != "true":
        return None, "not a git repository; history metrics are absent"
    problem = None
    if len(lines) > 1 and lines[1].strip() == "true":
        problem = "shallow clone: history metrics cover only the commits present"
    since = f"--since={history_since(since_days, today)}"
    command = ["log", "--no-ext-diff", "--no-textconv", *args, since, "--relative", "--", "."]
    keys = _history_keys(root, command, lines) if memo is not None else None
    if memo is not None and keys is not None:
        text = _remembered_log(root, args, since, memo, keys)
        if text is not None:
            return text, problem
    code, out, err = run_git(root, command)
    if code != 0:
        first = (err.strip().splitlines() or ["unknown error"])[-1]
        if "does not have any commits" in err:
            return "", "repository has no commits yet; history metrics are empty"
        return (out or None), f"git log failed ({first}); history metrics may be partial"
    if memo is not None and keys is not None:
        memo.put_history(keys[0], out)
        if _log_entries(out) is not None:
            memo.put_history(keys[1], out)  # every commit's entry, for the next HEAD
    return out, problem


def _remembered_log(root: Path, args: Sequence[str], since: str, memo: HistoryMemo, keys: tuple[str, str]) -> str | None:
    """The log from the memo: the whole text stored for this HEAD, else assembled from the commits'
    entries (stored as the whole text for the next run on this HEAD); None: run the whole log."""
    stored = memo.get_history(keys[0])
    if stored is not None:
        return stored
    text = _log_from_entries(root, args, since, memo, keys[1])
    if text is not None:
        memo.put_history(keys[0], text)
    return text


# ``git log`` options that change what is printed for a commit but not which commits the walk lists
_OUTPUT_ONLY = ("--numstat", "--no-renames")
# ... and those that change the walk, which ``git rev-list`` takes the same way
_WALK = ("--no-merges",)


def _walk_options(args: Sequence[str]) -> list[str] | None:
    out = []
    for a in args:
        if a in _WALK:
            out.append(a)
        elif not (a in _OUTPUT_ONLY or a.startswith("--format=%x1e")):
            return None  # unknown to this: the whole log is run
    return out


def _log_entries(text: str) -> dict[str, str] | None:
    """sha -> the commit's entry (``--format=%x1e%H...``: each entry starts with the record separator
    and the full hash). None when the text is not a sequence of such entries."""
    if not text:
        return {}
    if not text.startswith("\x1e"):
        return None
    out: dict[str, str] = {}
    for part in text[1:].split("\x1e"):
        sha = part.split("\x1f", 1)[0]
        if len(sha) not in (40, 64) or sha in out or not all(c in "0123456789abcdef" for c in sha):
            return None
        out[sha] = "\x1e" + part
    return out


def _log_from_entries(root: Path, args: Sequence[str], since: str, memo: HistoryMemo, entries_key: str) -> str | None:
    walk = _walk_options(args)
    if walk is None:
        return None
    code, listed, _ = run_git(root, ["rev-list", *walk, since, "HEAD", "--", "."])
    if code != 0:
        return None
    order = listed.split()
    known = _log_entries(memo.get_history(entries_key) or "") or {}
    missing = [sha for sha in order if sha not in known]
    if missing:
        code, out, _ = run_git(
            root, ["log", "--no-ext-diff", "--no-textconv", *args, "--no-walk=unsorted", "--stdin", "--relative", "--", "."],
            stdin="".join(sha + "\n" for sha in missing),
        )
        new = _log_entries(out) if code == 0 else None
        if new is None or set(new) != set(missing):
            return None  # git printed other commits than asked: do not guess
        known.update(new)
    text = "".join(known[sha] for sha in order)
    if missing or len(known) != len(order):
        memo.put_history(entries_key, text)  # the window's entries (older ones fall out)
    return text


def _history_keys(root: Path, command: Sequence[str], rev_parse: Sequence[str]) -> tuple[str, str] | None:
    """The digests the whole ``git log`` text and the commits' entries are stored under (None:
    HEAD names no commit, nothing to store). The second leaves out HEAD and the window."""
    code, head, _ = run_git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], timeout=30)
    if code != 0 or not head.strip():
        return None
    _, mailmap_config, _ = run_git(root, ["config", "--get-regexp", r"^mailmap\."], timeout=30)
    top = rev_parse[3].strip() if len(rev_parse) > 3 else ""
    try:
        mailmap = hashlib.sha256(Path(top, ".mailmap").read_bytes()).hexdigest() if top else None
    except OSError:
        mailmap = None
    context = [[line.strip() for line in rev_parse[1:3]], mailmap_config, mailmap]
    whole = [head.strip(), list(command), *context]
    entries = ["entries", [a for a in command if not a.startswith("--since=")], *context]
    return (
        hashlib.sha256(json.dumps(whole).encode("utf-8", "surrogatepass")).hexdigest(),
        hashlib.sha256(json.dumps(entries).encode("utf-8", "surrogatepass")).hexdigest(),
    )


# --- coverage files --------------------------------------------------------------------------


def coverage_files(root: Path, inventory: Inventory, config: Config) -> tuple[list[tuple[str, bytes]], list[Diagnostic]]:
    wanted = [f.path for f in inventory.files if f.kind is FileKind.COVERAGE]
    out: list[tuple[str, bytes]] = []
    diags: list[Diagnostic] = []
    for extra in config.metric("coverage_files", []):
        rel = str(PurePosixPath(extra)).removeprefix("./")
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            # named by the (possibly untrusted) repository configuration: never read outside the root
            diags.append(Diagnostic(rel, 0, Level.WARNING, "coverage file outside the scanned root; not read"))
            continue
        if rel not in wanted:
            wanted.append(rel)
    for rel in sorted(wanted):
        data = read_file(root, rel, max(config.max_file_size, 200_000_000))
        if isinstance(data, Diagnostic):
            diags.append(data)
        else:
            out.append((rel, data))
    return out, diags


# --- git: changed lines since a merge base (the pre-merge gate) -----------------------------------


class GitError(Exception):
    """A git problem the user must fix (missing base ref, not a repository...): exit code 2."""


@dataclass(frozen=True)
class DiffInfo:
    """Lines added or modified since the merge base of ``base`` and HEAD, working tree included.

    ``files`` maps every changed or added file (relative to the scanned root, POSIX) to the set of
    its changed line numbers in the new version; a file renamed without edits maps to an empty set.
    Deleted files are listed apart. Untracked files (not ignored) count as wholly added.
    """

    base: str
    merge_base: str
    head: str
    files: dict[str, frozenset[int]]
    deleted: tuple[str, ...] = ()
    shallow: bool = False

    @property
    def line_count(self) -> int:
        return sum(len(v) for v in self.files.values())

    def to_json(self) -> dict[str, object]:
        return {
            "base": self.base,
            "merge_base": self.merge_base,
            "head": self.head,
            "files": len(self.files),
            "lines": self.line_count,
            "deleted": len(self.deleted),
            "shallow": self.shallow,
        }


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_git_path(text: str) -> str:
    """Undo git's C-style quoting of unusual paths (``"caf\\303\\251.py"`` -> ``café.py``)."""
    if not (len(text) >= 2 and text[0] == '"' and text[-1] == '"'):
        return text
    body = text[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and i + 4 <= len(body):
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.append(_C_ESCAPES.get(nxt, ord(nxt)))
            i += 2
            continue
        out.extend(ch.encode("utf-8"))
        i += 1
    return out.decode("utf-8", "replace")


def parse_unified_diff(text: str) -> tuple[dict[str, set[int]], list[str]]:
    """Changed line numbers (new side) per file from ``git diff --unified=0`` output. Pure.

    Expects ``a/``/``b/`` prefixes. Returns (files, deleted files). A renamed file with no edit
    maps to an empty set; binary files map to an empty set too.
    """
    files: dict[str, set[int]] = {}
    deleted: list[str] = []
    current: str | None = None
    old: str | None = None
    for line in text.splitlines():
        if line.startswith("diff --git "):
            current = old = None
        elif line.startswith("rename to "):
            files.setdefault(unquote_git_path(line[len("rename to ") :]), set())
        elif line.startswith("--- "):
            path = unquote_git_path(line[4:].removesuffix("\t"))  # git adds a tab after names with spaces
            old = path[2:] if path.startswith("a/") else None
            current = None
        elif line.startswith("+++ "):
            path = unquote_git_path(line[4:].removesuffix("\t"))
            if path == "/dev/null":
                current = None
                if old:
                    deleted.append(old)
            else:
                current = path[2:] if path.startswith("b/") else path
                files.setdefault(current, set())
        elif line.startswith("Binary files ") and line.endswith(" differ"):
            new_side = unquote_git_path(line[: -len(" differ")].rsplit(" and ", 1)[-1])
            if new_side.startswith("b/"):
                files.setdefault(new_side[2:], set())
        elif current is not None:
            m = _HUNK.match(line)
            if m:
                start = int(m.group(1))
                count = int(m.group(2)) if m.group(2) is not None else 1
                files[current].update(range(start, start + count))
    return files, deleted


def _git_first_line(err: str) -> str:
    return (err.strip().splitlines() or ["unknown error"])[-1]


def _fetch_hint(base: str) -> str:
    remote, _, branch = base.partition("/")
    if branch and remote in ("origin", "upstream"):
        return f"git fetch {remote} {branch}"
    return f"git fetch origin {base}"


def changed_lines(root: Path, base: str) -> DiffInfo:
    """What changed since the merge base of ``base`` and HEAD (committed, staged, unstaged, untracked).

    Works in detached-HEAD checkouts (only HEAD is used) and in shallow clones as long as the merge
    base is present. Raises ``GitError`` with an actionable message otherwise.
    """
    if not base or base.startswith("-"):
        raise GitError(f"invalid base ref {base!r}")
    code, out, err = run_git(root, ["rev-parse", "--is-inside-work-tree"], timeout=30)
    if code == 127:
        raise GitError("--diff-base needs git, which is not installed")
    if code != 0 or out.strip() != "true":
        raise GitError(f"--diff-base needs a git repository: {root} is not inside a git work tree")
    code, head, err = run_git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], timeout=30)
    if code != 0:
        raise GitError("the repository has no commit checked out (HEAD is unborn)")
    code, base_sha, _ = run_git(root, ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}"], timeout=30)
    if code != 0 or not base_sha.strip():
        raise GitError(f"base ref {base} not found; run `{_fetch_hint(base)}` (or fetch with enough depth)")
    _, shallow_out, _ = run_git(root, ["rev-parse", "--is-shallow-repository"], timeout=30)
    shallow = shallow_out.strip() == "true"
    code, mb, err = run_git(root, ["merge-base", base_sha.strip(), head.strip()], timeout=120)
    if code != 0 or not mb.strip():
        if shallow:
            raise GitError(
                f"no merge base between {base} and HEAD in this shallow clone; fetch with enough depth "
                "(`git fetch --deepen=200`, `git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)"
            )
        raise GitError(f"{base} and HEAD have no common history (git merge-base failed: {_git_first_line(err)})")
    merge_base = mb.strip().splitlines()[0]
    code, diff, err = run_git(
        root,
        [
            "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--unified=0", "-M", "--relative",
            "--src-prefix=a/", "--dst-prefix=b/", merge_base, "--", ".",
        ],
    )
    if code != 0:
        raise GitError(f"git diff against {base} failed: {_git_first_line(err)}")
    files, deleted = parse_unified_diff(diff)
    code, untracked, _ = run_git(root, ["ls-files", "-z", "--others", "--exclude-standard", "--", "."], timeout=120)
    for rel in (u for u in untracked.split("\0") if u) if code == 0 else ():
        if rel in files:
            continue
        try:
            with open(root / rel, "rb") as fh:
                n = sum(1 for _ in fh)
        except OSError:
            continue
        files[rel] = set(range(1, n + 1))
    return DiffInfo(
        base=base,
        merge_base=merge_base,
        head=head.strip(),
        files={k: frozenset(v) for k, v in sorted(files.items())},
        deleted=tuple(sorted(deleted)),
        shallow=shallow,
    )

