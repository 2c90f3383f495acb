"""Safe YAML loading that keeps line numbers.

Built on ``yaml.SafeLoader`` (never the full loader): mappings become :class:`LDict` (a ``dict``
that also remembers the 1-based line of every key and of the mapping itself), sequences become
:class:`LList` (a ``list`` that remembers the line of every item). Multi-document streams are
split on ``---`` lines *before* parsing so one broken document is one diagnostic and the other
documents still load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from qualscan.model import Diagnostic, Level


class LDict(dict):  # type: ignore[type-arg]
    """A dict with ``key_lines`` (key -> 1-based line) and ``line`` (line of the first key)."""

    line: int = 0
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}
        self.line = 0

    def line_of(self, key: Any, default: int | None = None) -> int:
        return self.key_lines.get(key, default if default is not None else self.line)


class LList(list):  # type: ignore[type-arg]
    """A list with ``item_lines`` (1-based line of each item) and ``line``."""

    line: int = 0
    item_lines: list[int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines = []
        self.line = 0

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when available: same safety


class _LineLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader whose mappings and sequences carry line numbers (offset by ``line_offset``)."""

    line_offset = 0
    duplicates: list[tuple[str, int]]  # (key, 1-based line) of keys repeated in one mapping


def _note_duplicates(loader: _LineLoader, node: yaml.MappingNode) -> None:
    """Record keys written twice in one mapping (before ``<<`` merges, whose overrides are legal)."""
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        ident = (key_node.tag, key_node.value)
        if ident in seen and hasattr(loader, "duplicates"):
            loader.duplicates.append((key_node.value, key_node.start_mark.line + 1 + loader.line_offset))
        seen.add(ident)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LDict:
    _note_duplicates(loader, node)
    loader.flatten_mapping(node)
    result = LDict()
    result.line = node.start_mark.line + 1 + loader.line_offset
    for key_node, value_node in node.value:
        try:
            key = loader.construct_object(key_node, deep=True)
        except yaml.YAMLError:
            continue
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1 + loader.line_offset
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LList:
    result = LList()
    result.line = node.start_mark.line + 1 + loader.line_offset
    for child in node.value:
        result.append(loader.construct_object(child, deep=True))
        result.item_lines.append(child.start_mark.line + 1 + loader.line_offset)
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)  # type: ignore[arg-type]


def _unknown_tag(loader: _LineLoader, suffix: str, node: yaml.Node) -> Any:
    """Custom tags (``!Ref``, ``!reset``...) load as their plain value instead of failing."""
    if isinstance(node, yaml.MappingNode):
        return _construct_mapping(loader, node)
    if isinstance(node, yaml.SequenceNode):
        return _construct_sequence(loader, node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_LineLoader.add_multi_constructor("!", _unknown_tag)  # type: ignore[no-untyped-call]
_LineLoader.add_multi_constructor("tag:", _unknown_tag)  # type: ignore[no-untyped-call]


class _PyLineLoader(yaml.SafeLoader):
    """Pure-Python twin of ``_LineLoader``, used only to explain a parse error: libyaml's messages
    leave out the offending character ("found character that cannot start any token")."""


def _python_error(chunk: str) -> yaml.YAMLError | None:
    loader: _PyLineLoader | None = None
    try:
        loader = _PyLineLoader(chunk)  # the reader itself raises on NUL and other control characters
        loader.get_single_node()
    except yaml.YAMLError as exc:
        return exc
    except (ValueError, TypeError, RecursionError):
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return None


# Alias bombs ("billion laughs"): aliases make PyYAML share one object many times, so loading is
# cheap but any walk over the data (rules, JSON output) is exponential. The composed node graph is
# measured before any object is built: a document whose aliases expand it to more than
# MAX_EXPANDED_NODES nodes, and to more than ALIAS_AMPLIFICATION times its distinct nodes, is
# rejected. Documents without aliases are never rejected (their size is bounded by max_file_size).
MAX_EXPANDED_NODES = 200_000
ALIAS_AMPLIFICATION = 10


class AliasBombError(yaml.YAMLError):
    """A document whose aliases expand beyond the bound; carries ``problem`` like PyYAML errors."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


def check_alias_expansion(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> None:
    """Raise ``AliasBombError`` when ``root`` expands (aliases followed) beyond the bound.

    Iterative, memoised on node identity: linear in the number of distinct nodes.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            total = 1
            if isinstance(node, yaml.SequenceNode):
                total += sum(sizes[id(c)] for c in node.value)
            elif isinstance(node, yaml.MappingNode):
                total += sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            sizes[key] = total
            if total > limit and total > ALIAS_AMPLIFICATION * len(sizes):
                raise AliasBombError(
                    f"aliases expand the document to more than {limit} nodes (alias bomb?); not loaded"
                )
            continue
        if key in sizes:
            continue
        if key in active:
            raise AliasBombError("recursive alias (a node that contains itself); not loaded")
        active.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in reversed(children):
            if id(child) not in sizes:
                stack.append((child, False))


# PyYAML's scanner is quadratic in the nesting of flow collections (``[[[[...``: 5,000 levels, 10 KB,
# cost 4.5 s before failing with RecursionError). Legitimate manifests nest flow collections a few
# levels deep; deeper documents are rejected before the scanner sees them.
MAX_FLOW_DEPTH = 100
_QUOTED_OR_COMMENT = re.compile(r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"|#[^\n]*")
_BRACKET = re.compile(r"[\[\]{}]")


def flow_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside quoted scalars and comments (an over-estimate at worst)."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_QUOTED_OR_COMMENT.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


@dataclass(frozen=True)
class YamlDoc:
    """One document of a YAML stream: its data and the 1-based line where it starts."""

    data: Any
    start_line: int
    end_line: int


_DOC_SEP = re.compile(r"^---(\s.*)?$")


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Yield (0-based first line, chunk text) for each ``---``-separated document.

    Content on the ``---`` line itself (``--- {a: 1}``, ``--- |``, ``--- !!map``, an anchor)
    belongs to the document it starts: the line stays in that chunk with the marker blanked out
    (columns and line numbers unchanged), never dropped."""
    lines = text.splitlines()
    start = 0
    for i, line in enumerate(lines):
        if _DOC_SEP.match(line) or line.rstrip() == "...":
            if i > start:
                yield start, "\n".join(lines[start:i]) + "\n"
            start = i + 1
            rest = line[3:].strip() if line.startswith("---") else ""
            if rest and not rest.startswith("#"):
                lines[i] = "   " + line[3:]
                start = i
    if start < len(lines):
        yield start, "\n".join(lines[start:]) + "\n"


# an unquoted template action: a line starting with ``{{``, or a key / list item whose value does
_TEMPLATE = re.compile(r"^[ \t]*(?:-[ \t]+)?(?:[^\s:#'\"{][^:#\n]*:[ \t]+)?\{\{", re.M)


def load_documents(text: str, path: str) -> tuple[list[YamlDoc], list[Diagnostic]]:
    """Parse every document of ``text``; a broken document becomes a diagnostic."""
    docs: list[YamlDoc] = []
    diags: list[Diagnostic] = []
    templated = _TEMPLATE.search(text)
    if templated is not None:
        diags.append(
            Diagnostic(
                path,
                text.count("\n", 0, templated.start()) + 1,
                Level.INFO,
                "Go/Helm template syntax ({{ ... }}) in a plain YAML file: template expressions are read "
                "as literal text, so values here may be wrong",
            )
        )
    for offset, chunk in _split_documents(text):
        if not chunk.strip() or all(
            not ln.strip() or ln.lstrip().startswith("#") for ln in chunk.splitlines()
        ):
            continue
        if chunk.count("[") + chunk.count("{") > MAX_FLOW_DEPTH and flow_depth(chunk) > MAX_FLOW_DEPTH:
            diags.append(
                Diagnostic(
                    path, offset + 1, Level.WARNING,
                    f"YAML document not parsed: flow collections nested deeper than {MAX_FLOW_DEPTH} levels",
                )
            )
            continue
        loader: _LineLoader | None = None
        try:
            loader = _LineLoader(chunk)  # raises ReaderError on NUL and other unprintable characters
            loader.line_offset = offset
            loader.duplicates = []
            node = loader.get_single_node()
            data = None
            if node is not None:
                if "*" in chunk:  # no alias, no expansion to bound
                    check_alias_expansion(node)
                data = loader.construct_document(node)
        except yaml.YAMLError as c_exc:
            exc = c_exc
            if _Base is not yaml.SafeLoader and not isinstance(c_exc, AliasBombError):
                exc = _python_error(chunk) or c_exc
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = offset + (mark.line + 1 if mark is not None else 1)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            if "maximum nesting depth" in str(problem):  # libyaml >= 0.2.5 / PyYAML 6.0.4 bound
                diags.append(Diagnostic(path, offset + 1, Level.WARNING, TOO_DEEP))
                continue
            diags.append(Diagnostic(path, line, Level.WARNING, f"YAML document not parsed: {problem}"))
            continue
        except RecursionError:  # older PyYAML: block nesting deeper than Python's recursion limit
            diags.append(Diagnostic(path, offset + 1, Level.WARNING, TOO_DEEP))
            continue
        except (ValueError, TypeError) as exc:
            diags.append(Diagnostic(path, offset + 1, Level.WARNING, f"YAML document not parsed: {exc}"))
            continue
        finally:
            if loader is not None:
                loader.dispose()
        for key, line in loader.duplicates[:20]:
            diags.append(Diagnostic(path, line, Level.WARNING, f"duplicate key {key[:80]!r}: the last value wins"))
        if data is None:
            continue
        docs.append(YamlDoc(data, offset + 1, offset + chunk.count("\n")))  # chunks end with one "\n" per line
    return docs, diags


TOO_DEEP = "YAML document not parsed: collections nested too deeply (recursion limit)"


def load_one(text: str, path: str) -> tuple[Any, list[Diagnostic]]:
    """Load the first document of ``text`` (``None`` when empty or broken)."""
    docs, diags = load_documents(text, path)
    return (docs[0].data if docs else None), diags


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def get(obj: Any, *keys: Any, default: Any = None) -> Any:
    """Safe nested lookup through dicts (and list indexes)."""
    cur = obj
    for key in keys:
        if isinstance(cur, dict):
            if key not in cur:
                return default
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(key, int):
            if not -len(cur) <= key < len(cur):
                return default
            cur = cur[key]
        else:
            return default
    return cur


def line_of(obj: Any, key: Any, default: int = 0) -> int:
    if isinstance(obj, LDict):
        return obj.key_lines.get(key, obj.line or default)
    return default


def as_dict(obj: Any) -> LDict:
    if isinstance(obj, LDict):
        return obj
    result = LDict()
    if isinstance(obj, dict):
        result.update(obj)
    return result


def as_list(obj: Any) -> LList:
    if isinstance(obj, LList):
        return obj
    result = LList()
    if isinstance(obj, list):
        result.extend(obj)
    return result
