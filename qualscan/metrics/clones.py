"""Clone detection over the normalised token streams of every non-test Python file.

Tokens are normalised in the worker (``raw.py``): identifiers, numbers and strings are abstracted,
so exact copies (type-1) and renamed copies (type-2) have the same stream.

Algorithm (a CPD-style index):

1. every token that starts a source line starts a window of ``min_tokens`` tokens; windows are
   bucketed by their text;
2. buckets are taken in order of their first occurrence (file, position); the occurrences of a
   bucket are extended forward together as long as every occurrence has the same next token
   (and occurrences in the same file do not overlap);
3. a group is kept when it spans at least ``min_tokens`` tokens and ``min_lines`` lines in each
   occurrence; the windows it covers are marked so that its own suffixes are not reported again.

Each group lists every occurrence (file, first line, last line, service). A group is
*cross-service* when its occurrences belong to two or more different services.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Mapping
from itertools import accumulate, compress, count, repeat
from typing import Any

from qualscan.metrics.encoding import clone_token_count, decode_clone_text


def find_clones(
    streams: Mapping[str, str | tuple[str, list[int]]],
    service_of: Mapping[str, str | None],
    *,
    min_tokens: int = 50,
    min_lines: int = 6,
) -> list[dict[str, Any]]:
    """``streams``: path -> encoded clone text (``encoding.encode_clone_text``, the ``clone`` per-file
    fact) or (token string, run-length lines). Returns the clone groups, sorted."""
    k = max(1, min_tokens)
    paths = sorted(p for p, s in streams.items() if _token_count(s) >= k)
    tokens: list[str] = []
    starts: list[list[int]] = []  # per file: token position of each line start
    rows: list[list[int]] = []  # per file: the line of each line start
    # every window (k tokens from a line start) in (file, position) order, built and counted at C
    # level: only the windows seen twice or more go into buckets
    windows: list[str] = []
    win_file: list[int] = []
    win_pos: list[int] = []
    for fi, p in enumerate(paths):
        toks, st, rw = _lines(streams[p])
        tokens.append(toks)
        starts.append(st)
        rows.append(rw)
        n = bisect_right(st, len(toks) - k)
        first = st[:n]
        windows.extend(map(toks.__getitem__, map(slice, first, map(k.__add__, first))))
        win_file.extend(repeat(fi, n))
        win_pos.extend(first)
    seen = Counter(windows)
    buckets: dict[str, list[tuple[int, int]]] = {}
    for i in compress(count(), map((1).__lt__, map(seen.__getitem__, windows))):
        buckets.setdefault(windows[i], []).append((win_file[i], win_pos[i]))
    del windows, seen
    candidates = list(buckets.values())
    del buckets
    candidates.sort(key=lambda occ: occ[0])
    covered: set[tuple[int, int]] = set()
    groups: list[dict[str, Any]] = []
    for occ in candidates:
        occ = [o for o in occ if o not in covered]
        occ = _drop_overlaps(occ, k)
        if len(occ) < 2:
            continue
        length = k + _extension(tokens, occ, k, _max_length(occ))
        spans = []
        for fi, pos in occ:
            spans.append((paths[fi], _line_of(starts[fi], rows[fi], pos), _line_of(starts[fi], rows[fi], pos + length - 1)))
        if any(end - start + 1 < min_lines for _, start, end in spans):
            continue
        for fi, pos in occ:
            st = starts[fi]
            i = bisect_left(st, pos)
            last = pos + length - k
            while i < len(st) and st[i] <= last:
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


def _token_count(stream: str | tuple[str, list[int]]) -> int:
    return clone_token_count(stream) if isinstance(stream, str) else len(stream[0])


def _lines(stream: str | tuple[str, list[int]]) -> tuple[str, list[int], list[int]]:
    """(tokens, position of each line start, its line)."""
    if isinstance(stream, str):
        return decode_clone_text(stream)
    toks, runs = stream
    st = list(accumulate(runs[1::2], initial=0))
    st.pop()
    return toks, st, runs[0::2]


def _line_of(starts: list[int], rows: list[int], pos: int) -> int:
    return rows[bisect_right(starts, pos) - 1]


def _extension(tokens: list[str], occ: list[tuple[int, int]], k: int, max_len: int) -> int:
    """How many tokens past the first ``k`` every occurrence still shares (bounded by ``max_len``)."""
    fi0, p0 = occ[0]
    ref = tokens[fi0]
    ext = 0
    budget = max_len - k
    for step in (256, 16, 1):
        while ext + step <= budget:
            a = p0 + k + ext
            chunk = ref[a : a + step]
            if len(chunk) < step:
                break
            if all(tokens[fi][pos + k + ext : pos + k + ext + step] == chunk for fi, pos in occ[1:]):
                ext += step
            else:
                break
    return ext


def _drop_overlaps(occ: list[tuple[int, int]], k: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    last: dict[int, int] = {}
    for fi, pos in sorted(occ):
        if fi in last and pos < last[fi] + k:
            continue
        last[fi] = pos
        out.append((fi, pos))
    return out


def _max_length(occ: list[tuple[int, int]]) -> int:
    """The longest a group may grow before two of its occurrences in one file overlap."""
    best = 1 << 60
    by_file: dict[int, list[int]] = defaultdict(list)
    for fi, pos in occ:
        by_file[fi].append(pos)
    for positions in by_file.values():
        positions.sort()
        for a, b in zip(positions, positions[1:]):
            best = min(best, b - a)
    return best


def duplicated_lines(groups: list[dict[str, Any]]) -> dict[str, set[int]]:
    """path -> set of lines inside some clone occurrence."""
    out: dict[str, set[int]] = defaultdict(set)
    for g in groups:
        for o in g["occurrences"]:
            out[o["file"]].update(range(o["line"], o["end_line"] + 1))
    return out
