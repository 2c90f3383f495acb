"""The compact per-file facts (``qualscan/metrics/encoding.py``, FACTS_VERSION 4).

Round trips on real files (the CPython standard library) and edge cases; the clone detector gives
the same groups from the encoded facts as from the token string and run-length table, and as the
bucket build it replaced (``_reference_find_clones`` below); the facts survive the JSON round trip
of the engine's cache unchanged.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import tokenize
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from qualscan.config import Config
from qualscan.metrics import FACTS_VERSION, analyze_file, analyze_project
from qualscan.metrics import clones as clones_mod
from qualscan.metrics.clones import find_clones
from qualscan.metrics.encoding import (
    LINE_BREAK,
    clone_token_count,
    decode_clone_text,
    decode_lines,
    encode_clone_text,
    encode_lines,
    runs_of,
)
from qualscan.metrics.filefacts import analyze_file_facts, statement_lines
from qualscan.metrics.raw import decode_runs, raw_and_tokens
from qualscan.model import FileKind, SourceFile

_STDLIB = Path(os.__file__).parent


@functools.cache
def _stdlib_files() -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(_STDLIB):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        out += [Path(dirpath, f) for f in filenames if f.endswith(".py")]
    return sorted(out)


def _stdlib(step: int, max_size: int = 200_000) -> list[Path]:
    """Every ``step``-th ``.py`` file of the standard library (sorted, no site-packages)."""
    return [p for p in _stdlib_files()[::step] if p.stat().st_size <= max_size]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def _check_clone_round_trip(toks: str, runs: list[int]) -> None:
    text = encode_clone_text(toks, runs)
    assert clone_token_count(text) == len(toks)
    got, starts, rows = decode_clone_text(text)
    assert got == toks
    assert runs_of(starts, rows, len(toks)) == runs
    # each line's segment holds exactly its tokens
    segments = text.split(LINE_BREAK)
    per_token = decode_runs(runs)
    assert "".join(segments[line - 1][:1] for line in rows) == "".join(toks[s] for s in starts)
    assert [len(seg) for seg in segments if seg] == runs[1::2]
    assert len(per_token) == len(toks)


def test_clone_text_round_trip_on_the_stdlib() -> None:
    checked = 0
    for path in _stdlib(3):
        text = _text(path)
        if text is None:
            continue
        try:
            _, toks, runs = raw_and_tokens(text)
        except (tokenize.TokenError, SyntaxError):  # the few files of the corpus that do not tokenize
            continue
        assert LINE_BREAK not in toks
        _check_clone_round_trip(toks, runs)
        checked += 1
    assert checked > 400


def test_statement_lines_round_trip_on_the_stdlib() -> None:
    checked = 0
    for path in _stdlib(8):
        text = _text(path)
        if text is None:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        lines = statement_lines(tree)
        encoded = encode_lines(lines)
        assert decode_lines(encoded) == lines
        assert json.loads(json.dumps(encoded)) == encoded
        checked += 1
    assert checked > 150


@pytest.mark.parametrize(
    "src",
    [
        "",
        "\n\n\n",
        "# only a comment\n",
        "x = 1",  # no final newline (the token-by-token path)
        "'''doc\n\nstring'''\nx = 1\n",  # a multi-line string: the next tokens sit lines below
        "x = (1,\n\n\n     2)\n",  # blank lines inside brackets
        "x = 1 + \\\n    2\n",  # a line continuation
        "if x:\n    pass\n" * 3 + "\n" * 40 + "y = [\n" + "    1,\n" * 200 + "]\n",  # long gaps, many lines
        "s = '''\n" + "\n" * 300 + "'''; t = 1\n",
    ],
)
def test_clone_text_round_trip_edge_cases(src: str) -> None:
    _, toks, runs = raw_and_tokens(src)
    _check_clone_round_trip(toks, runs)


def test_empty_file_facts() -> None:
    facts = analyze_file("empty.py", "", ast.parse(""), Config())
    assert facts["version"] == FACTS_VERSION
    assert facts["clone"] == "" and facts["statements"] == ""
    assert decode_clone_text("") == ("", [], [])
    assert decode_lines("") == []
    assert "tokens" not in facts and "token_lines" not in facts


def test_untokenizable_file_facts_and_project_pass() -> None:
    # a text whose tokenization fails (the tree comes from the one parse the worker made)
    facts = analyze_file_facts("bad.py", "x = (1,\n", ast.parse("x = 1\n"))
    assert facts["clone"] == "" and facts["raw"] is None
    assert facts["problem"].startswith("cannot tokenize")
    assert decode_lines(facts["statements"]) == [1]
    pm = analyze_project(
        config=Config(),
        files=[SourceFile("bad.py", FileKind.PYTHON)],
        services=(),
        file_facts={"bad.py": json.loads(json.dumps(facts))},
        git_log=None,
        git_problem=None,
        coverage=(),
        journeys=(),
        critical_services=frozenset(),
    )
    assert [f["path"] for f in pm.files] == ["bad.py"] and pm.clones == []
    assert [(d.file, d.line) for d in pm.diagnostics] == [("bad.py", 1)]


@pytest.mark.parametrize(
    ("tokens", "runs"),
    [
        ("ab", [1, 1, 1, 1]),  # the same line twice
        ("ab", [2, 1, 1, 1]),  # lines going back
        ("a", [0, 1]),  # line 0
        ("ab", [1, 1]),  # fewer tokens than the string
        ("a", [1, 2]),  # more
        ("a", [1, 0, 2, 1]),  # an empty run
    ],
)
def test_encoder_refuses_tables_it_cannot_represent(tokens: str, runs: list[int]) -> None:
    with pytest.raises(ValueError):
        encode_clone_text(tokens, runs)


@pytest.mark.parametrize("lines", [[0], [2, 2], [3, 1], [-1]])
def test_encode_lines_refuses_unsorted_or_non_positive(lines: list[int]) -> None:
    with pytest.raises(ValueError):
        encode_lines(lines)


def _reference_find_clones(
    streams: dict[str, tuple[str, list[int]]], service_of: dict[str, str | None], *, min_tokens: int, min_lines: int
) -> list[dict[str, Any]]:
    """``find_clones`` as it was before FACTS_VERSION 4: one Python loop over every line start
    building the buckets; the rest (extension, overlap rules, marks) shared."""
    from bisect import bisect_left

    k = max(1, min_tokens)
    paths = sorted(p for p, (toks, _) in streams.items() if len(toks) >= k)
    tokens: list[str] = []
    starts: list[list[int]] = []
    rows: list[list[int]] = []
    buckets: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for fi, p in enumerate(paths):
        toks, runs = streams[p]
        tokens.append(toks)
        st: list[int] = []
        rw: list[int] = []
        pos = 0
        limit = len(toks) - k
        for j in range(0, len(runs), 2):
            st.append(pos)
            rw.append(runs[j])
            if pos <= limit:
                buckets[toks[pos : pos + k]].append((fi, pos))
            pos += runs[j + 1]
        starts.append(st)
        rows.append(rw)
    candidates = sorted((occ for occ in buckets.values() if len(occ) > 1), key=lambda occ: occ[0])
    covered: set[tuple[int, int]] = set()
    groups: list[dict[str, Any]] = []
    for occ in candidates:
        occ = clones_mod._drop_overlaps([o for o in occ if o not in covered], k)
        if len(occ) < 2:
            continue
        length = k + clones_mod._extension(tokens, occ, k, clones_mod._max_length(occ))
        spans = [
            (paths[fi], clones_mod._line_of(starts[fi], rows[fi], pos), clones_mod._line_of(starts[fi], rows[fi], pos + length - 1))
            for fi, pos in occ
        ]
        if any(end - start + 1 < min_lines for _, start, end in spans):
            continue
        for fi, pos in occ:
            st = starts[fi]
            i = bisect_left(st, pos)
            while i < len(st) and st[i] <= pos + length - k:
                covered.add((fi, st[i]))
                i += 1
        occurrences = sorted(
            ({"file": p, "line": s, "end_line": e, "service": service_of.get(p)} for p, s, e in spans),
            key=lambda o: (o["file"], o["line"]),
        )
        services = sorted({o["service"] for o in occurrences if o["service"] is not None})
        groups.append(
            {
                "tokens": length,
                "lines": max(e - s + 1 for _, s, e in spans),
                "occurrences": occurrences,
                "services": services,
                "cross_service": len(services) > 1,
            }
        )
    groups.sort(key=lambda g: (g["occurrences"][0]["file"], g["occurrences"][0]["line"], -g["tokens"]))
    return groups


def test_find_clones_on_the_stdlib_same_groups_from_every_form() -> None:
    streams: dict[str, tuple[str, list[int]]] = {}
    for path in _stdlib(2, max_size=60_000):
        rel = path.relative_to(_STDLIB).as_posix()
        if rel.startswith(("test/", "idlelib/idle_test/")):
            continue
        text = _text(path)
        if text is None:
            continue
        try:
            _, toks, runs = raw_and_tokens(text)
        except (tokenize.TokenError, SyntaxError):
            continue
        streams[rel] = (toks, runs)
    service_of = {p: p.split("/")[0] if "/" in p else None for p in streams}
    encoded = {p: encode_clone_text(*s) for p, s in streams.items()}
    for min_tokens, min_lines in ((50, 6), (30, 3), (120, 10)):
        expected = _reference_find_clones(streams, service_of, min_tokens=min_tokens, min_lines=min_lines)
        assert len(expected) > 10, len(expected)
        assert find_clones(encoded, service_of, min_tokens=min_tokens, min_lines=min_lines) == expected
        assert find_clones(streams, service_of, min_tokens=min_tokens, min_lines=min_lines) == expected


def test_want_tokens_false_leaves_only_the_clone_text_out() -> None:
    src = (_STDLIB / "json" / "decoder.py").read_text(encoding="utf-8")
    full = analyze_file("d.py", src, ast.parse(src), Config())
    lean = analyze_file("d.py", src, ast.parse(src), Config(), want_tokens=False)
    assert full["clone"] and clone_token_count(full["clone"]) > 1000
    assert lean == {**full, "clone": ""}
