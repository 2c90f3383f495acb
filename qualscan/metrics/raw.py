"""One ``tokenize`` pass per file: radon-compatible raw counts and the normalised clone token stream.

Raw counts follow ``radon.raw.analyze`` exactly (radon is the reference the maintainability index
is checked against), but from a single tokenization of the whole file instead of radon's
line-by-line re-tokenization:

* a *chunk* is the smallest run of physical lines that tokenizes on its own: one logical line
  (ended by ``NEWLINE``), or a blank / comment-only line outside brackets (ended by ``NL``);
* ``loc = sloc + blank + multi + single_comments``;
* a chunk made of one ``COMMENT`` token is a single comment line; a chunk made of one ``STRING``
  token is a docstring: ``single_comments += 1`` if it fits on one line, else its non-empty lines
  go to ``multi`` and its empty lines to ``blank``; in every other chunk, non-empty lines are
  ``sloc`` and empty lines ``blank``;
* ``comments`` counts ``COMMENT`` tokens (also trailing ones);
* ``lloc`` uses radon's ``_logical`` rule on each chunk (statements split on ``;``; a ``:`` that is
  not the last token means a compound statement with its body on the same line: 2).

Clone tokens: every significant token is mapped to one character; identifiers become ``$``,
numbers ``0`` and strings ``"``, so renamed copies (type-2 clones) tokenize identically. Keywords
and operators keep their identity. Lines are stored run-length encoded, flat: ``[line, count, ...]``.
"""

from __future__ import annotations

import io
import keyword
import token
import tokenize
from itertools import groupby

from qualscan.metrics.scanner import scan

_SKIP_CLONE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
    tokenize.ENCODING,
}
_OPEN = {"(", "[", "{"}
_CLOSE = {")", "]", "}"}

# Deterministic vocabulary: keywords and exact operator tokens each get one private character.
_VOCAB: dict[str, str] = {}
for _i, _w in enumerate(sorted(set(keyword.kwlist) | set(keyword.softkwlist) | set(token.EXACT_TOKEN_TYPES))):
    _VOCAB[_w] = chr(0x100 + _i)
IDENT = "$"
NUMBER = "0"
STRING = '"'


def raw_and_tokens(text: str) -> tuple[dict[str, int], str, list[int]]:
    """Return (raw counts, clone token string, run-length line table).

    Raises ``tokenize.TokenError`` / ``SyntaxError`` on text that does not tokenize; callers turn
    that into a diagnostic.
    """
    lines = io.StringIO(text).readlines()
    # nonempty[i] = number of non-blank lines among the first i lines
    nonempty = [0]
    acc = 0
    for ln in lines:
        if ln.strip():
            acc += 1
        nonempty.append(acc)
    n_lines = len(lines)
    lloc = sloc = comments = multi = blank = single = 0
    depth = 0
    first_row = 1
    # per-chunk state
    n_comment = n_sig = 0
    first_sig_type = -1
    part_cnt = 0  # tokens of the current ';'-part without COMMENT/NL/NEWLINE
    part_colon = -1  # index of the last ':' in the current part
    chunk_lloc = 0
    clone_chars: list[str] = []
    token_rows: list[int] = []
    add_char = clone_chars.append
    add_row = token_rows.append
    vocab_get = _VOCAB.get
    T_NAME, T_NUMBER, T_STRING, T_OP = tokenize.NAME, tokenize.NUMBER, tokenize.STRING, tokenize.OP
    T_COMMENT, T_NL, T_NEWLINE = tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE
    for ttype, tstring, row in scan(lines):
        if ttype == T_COMMENT:
            n_comment += 1
            n_sig += 1
            if first_sig_type < 0:
                first_sig_type = ttype
            continue
        if ttype in (T_NL, T_NEWLINE):
            if ttype == T_NEWLINE or depth == 0:
                # end of chunk
                last_row = row
                if last_row < first_row:
                    last_row = first_row
                nrows = last_row - first_row + 1
                ne = nonempty[min(last_row, n_lines)] - nonempty[min(first_row - 1, n_lines)]
                comments += n_comment
                if n_sig == 1 and first_sig_type == T_COMMENT:
                    single += 1
                elif n_sig == 1 and first_sig_type == T_STRING:
                    if nrows == 1:
                        single += 1
                    else:
                        multi += ne
                        blank += nrows - ne
                else:
                    sloc += ne
                    blank += nrows - ne
                # last part: radon appends ENDMARKER, so "colon is last real token" = index cnt-1
                if part_colon >= 0:
                    chunk_lloc += 1 if part_colon == part_cnt - 1 else 2
                elif part_cnt:
                    chunk_lloc += 1
                lloc += chunk_lloc
                n_comment = n_sig = 0
                first_sig_type = -1
                part_cnt = 0
                part_colon = -1
                chunk_lloc = 0
                first_row = last_row + 1
            continue
        # a significant token
        n_sig += 1
        if first_sig_type < 0:
            first_sig_type = ttype
        add_row(row)
        if ttype == T_NAME:
            add_char(vocab_get(tstring, IDENT))
        elif ttype == T_NUMBER:
            add_char(NUMBER)
        elif ttype == T_STRING:
            add_char(STRING)
        else:
            add_char(vocab_get(tstring, "?"))
            if ttype == T_OP:
                if tstring in _OPEN:
                    depth += 1
                elif tstring in _CLOSE:
                    if depth:
                        depth -= 1
                elif tstring == ";":
                    # a non-final part: radon sees no ENDMARKER in it
                    if part_colon >= 0:
                        chunk_lloc += 1 if part_colon == part_cnt - 2 else 2
                    elif part_cnt:
                        chunk_lloc += 1
                    part_cnt = 0
                    part_colon = -1
                    continue
                elif tstring == ":":
                    part_colon = part_cnt
        part_cnt += 1
    # flat [line, count, line, count, ...]: one list of ints, nothing for the cyclic GC to walk
    runs: list[int] = []
    for row, grp in groupby(token_rows):
        runs.append(row)
        runs.append(sum(1 for _ in grp))
    # trailing lines that produced no chunk end
    if first_row <= n_lines:
        ne = nonempty[n_lines] - nonempty[first_row - 1]
        sloc += ne
        blank += n_lines - first_row + 1 - ne
    loc = sloc + blank + multi + single
    raw = {
        "loc": loc,
        "lloc": lloc,
        "sloc": sloc,
        "comments": comments,
        "multi": multi,
        "blank": blank,
        "single_comments": single,
    }
    return raw, "".join(clone_chars), runs


def decode_runs(runs: list[int]) -> list[int]:
    """Expand the flat run-length line table back to one line number per token."""
    out: list[int] = []
    for i in range(0, len(runs), 2):
        out.extend([runs[i]] * runs[i + 1])
    return out
