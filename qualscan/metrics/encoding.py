"""Compact forms of the per-file facts that are long lists of line numbers.

The per-file facts travel as JSON (the engine's cache, shard files), and a warm run decodes every
file's facts in the main process. A list of ints costs the JSON decoder one Python object per
number; a string costs one object. The two longest lists are therefore stored as strings and
decoded only by the consumer that needs them, only for the files it needs:

* ``clone`` -- the clone token string (``raw.py``: one character per token) with the source
  lines put back: the tokens of line ``n`` follow ``n - 1`` ``LINE_BREAK`` characters, so a line
  without tokens is an empty segment. ``LINE_BREAK`` is a space, a character no token uses and
  JSON writes as it is. ``find_clones`` decodes it for the non-test files long enough to hold a
  clone (``decode_clone_text``: a few C-level passes, no Python loop per line); the rest of a run
  never looks inside it.
* ``statements`` -- the executable lines (``filefacts.statement_lines``, sorted, distinct) as
  comma-separated differences from the previous one (the first from 0): decoded only when coverage
  data is read.

Both round-trip exactly (``tests/test_metrics_encoding.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate, compress, count

LINE_BREAK = " "


def encode_clone_text(tokens: str, runs: Sequence[int]) -> str:
    """``tokens`` and its flat run-length line table ``[line, count, ...]`` (lines strictly
    increasing from 1, as ``raw.raw_and_tokens`` gives them) as one string."""
    parts: list[str] = []
    add = parts.append
    pos = 0
    prev = 0  # the line of the previous run (0: none yet)
    for j in range(0, len(runs), 2):
        row, n = runs[j], runs[j + 1]
        if row <= prev or n < 1:
            raise ValueError(f"run-length line table not strictly increasing from line 1 at run {j // 2}")
        add(LINE_BREAK * (row - max(prev, 1)))
        add(tokens[pos : pos + n])
        pos += n
        prev = row
    if pos != len(tokens):
        raise ValueError(f"run-length line table covers {pos} of {len(tokens)} tokens")
    return "".join(parts)


def clone_token_count(text: str) -> int:
    """The number of tokens in an encoded clone text (nothing decoded)."""
    return len(text) - text.count(LINE_BREAK)


def decode_clone_text(text: str) -> tuple[str, list[int], list[int]]:
    """(token string, position of the first token of each line that has tokens, that line)."""
    segments = text.split(LINE_BREAK)
    starts = list(accumulate(filter(None, map(len, segments)), initial=0))
    starts.pop()  # the total
    return "".join(segments), starts, list(compress(count(1), segments))


def runs_of(starts: Sequence[int], rows: Sequence[int], n_tokens: int) -> list[int]:
    """The flat run-length line table ``[line, count, ...]`` back from ``decode_clone_text``."""
    out: list[int] = []
    ends = [*starts[1:], n_tokens]
    for row, a, b in zip(rows, starts, ends):
        out.append(row)
        out.append(b - a)
    return out


def encode_lines(lines: Sequence[int]) -> str:
    """Sorted distinct positive line numbers as comma-separated differences (``""`` for none)."""
    prev = 0
    out: list[str] = []
    for n in lines:
        if n <= prev:
            raise ValueError("line numbers must be positive, sorted and distinct")
        out.append(str(n - prev))
        prev = n
    return ",".join(out)


def decode_lines(text: str) -> list[int]:
    return list(accumulate(map(int, text.split(",")))) if text else []
