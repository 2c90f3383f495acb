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

How: ``_raw_and_tokens_fast`` takes the token strings of ``scanner.TOKENS`` (one ``findall`` over the
whole text) and touches each once: a dict gives keywords and operators their character, another
the tokens that make the structure (newlines, brackets, ``:``, ``;``, line continuations), and the
rest is told apart by its first and last characters. Newlines, line continuations and multi-line
strings move the row; the raw counts come from totals plus a look at the chunks of one token. It
hands the text over to ``_raw_and_tokens_scan`` -- the same rules token by token over
``scanner.scan``'s exact ``tokenize`` stream -- for what it does not handle itself: no final
newline, a lone ``\\r``, a token ``tokenize`` calls ERRORTOKEN, a closing bracket with none open, a
one-token chunk with a line continuation. Both give identical results
(``tests/test_metrics_raw_tokens.py``); on Django 5.2.8 the fast path takes every file and costs
under a quarter of the CPU (``benchmarks/raw_tokens.py``).
"""

from __future__ import annotations

import io
import keyword
import token
import tokenize
from itertools import groupby

from qualscan.metrics.scanner import TOKENS, scan

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

# Deterministic vocabulary: keywords and exact operator tokens each get one private character,
# printable ASCII first (85 words on Python 3.11, 89 characters free): an ASCII token string is a
# compact 1-byte-per-character str, and JSON carries it verbatim -- characters beyond ASCII were
# written as 6-byte "\uXXXX" escapes, a third of the per-file cache, and decoding them cost 25 %
# more time on a warm Django run. Any word beyond the ASCII set falls back to U+0100 onwards.
_ASCII = [c for c in map(chr, range(0x21, 0x7F)) if c not in '$0"?\\']
_VOCAB: dict[str, str] = {}
for _i, _w in enumerate(sorted(set(keyword.kwlist) | set(keyword.softkwlist) | set(token.EXACT_TOKEN_TYPES))):
    _VOCAB[_w] = _ASCII[_i] if _i < len(_ASCII) else chr(0x100 + _i)
IDENT = "$"
NUMBER = "0"
STRING = '"'


def _raw_and_tokens_scan(text: str) -> tuple[dict[str, int], str, list[int]]:
    """``raw_and_tokens`` token by token over ``scan``'s exact stream: the fallback, and the
    definition the fast path is checked against."""
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


# The token strings of scanner.TOKENS that tell their kind by themselves: keywords and operators
# (their clone character) and the tokens that give the structure (their kind).
_CHARS = {k: v for k, v in _VOCAB.items() if k not in {"(", ")", "[", "]", "{", "}", ":", ";"}}
T_NEWLINE, T_OPEN, T_CLOSE, T_COLON, T_SEMICOLON, T_CONTINUATION = range(1, 7)
_STRUCTURE = {
    **dict.fromkeys(("\n", "\r\n"), T_NEWLINE),
    **dict.fromkeys("([{", T_OPEN),
    **dict.fromkeys(")]}", T_CLOSE),
    ":": T_COLON,
    ";": T_SEMICOLON,
    **dict.fromkeys(("\\\n", "\\\r\n"), T_CONTINUATION),
}
_CONTINUATIONS = ("\\\n", "\\\r\n")
_ASCII_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_PREFIX_CHARS = "bBrRuUfF"


class _Fallback(Exception):
    """The fast path met an input it does not handle itself."""


def raw_and_tokens(text: str) -> tuple[dict[str, int], str, list[int]]:
    """Return (raw counts, clone token string, run-length line table).

    Raises ``tokenize.TokenError`` on text that does not tokenize (where ``scanner.scan`` does);
    callers turn that into a diagnostic.
    """
    if (text and text[-1] != "\n") or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return _raw_and_tokens_scan(text)
    try:
        return _raw_and_tokens_fast(text)
    except _Fallback:
        return _raw_and_tokens_scan(text)


def _raw_and_tokens_fast(text: str) -> tuple[dict[str, int], str, list[int]]:
    """One ``findall`` over the whole text (empty or ending with a newline, no lone ``\\r``).

    Raw counts from totals: every line belongs to exactly one chunk, and the chunks counted in
    ``single_comments`` (a comment line, a one-line docstring) have no blank line, so ``blank`` is
    the number of blank lines of the file, ``multi`` the non-blank lines of the multi-line
    docstring chunks, and ``sloc`` the remaining non-blank lines less the lines of the
    ``single_comments`` chunks. Only the chunks of exactly one token need a look of their own.
    """
    chars: list[str] = []
    add = chars.append
    runs: list[int] = []
    vocab = _VOCAB
    vget = vocab.get
    cget = _CHARS.get
    sget = _STRUCTURE.get
    colon_char = vocab[":"]
    semi_char = vocab[";"]
    row = 1
    flushed = 0  # len(chars) at the last run flush
    depth = 0
    comments = 0
    lloc = single = multi = single_rows = 0
    chunk_start = part_start = 0  # indexes into chars
    chunk_comments = 0  # comments before the chunk
    chunk_row = 1
    colon_at = -1  # index in chars of the last ':'
    cont_row = 0  # row of the last line continuation
    mstring = ""  # the last string token spanning lines ...
    mstring_at = -1  # ... and its index in chars
    toks = TOKENS.findall(text)
    toks.pop()  # the empty match at the end of the text
    for tok in toks:
        c = cget(tok)
        if c is not None:  # a keyword or an operator other than a bracket, ':' or ';'
            add(c)
        elif tok[0] in _ASCII_NAME_START and tok[-1] not in "'\"\n":
            # a name (a string ends with a quote, or a newline if it is unterminated)
            add(IDENT)
        else:
            k = sget(tok)
            if k == T_NEWLINE:
                n = len(chars)
                if n != flushed:
                    runs.append(row)
                    runs.append(n - flushed)
                    flushed = n
                if depth == 0:  # NEWLINE, or NL of a blank / comment-only line: the chunk ends
                    if n != part_start:
                        lloc += 1 if colon_at < part_start or colon_at == n - 1 else 2
                    if n - chunk_start + comments - chunk_comments == 1:
                        if cont_row >= chunk_row:
                            raise _Fallback  # a one-token chunk with a line continuation
                        if n == chunk_start:  # a comment
                            single += 1
                            single_rows += row - chunk_row + 1
                        elif chars[n - 1] == STRING:  # a docstring
                            nrows = row - chunk_row + 1
                            if nrows == 1:
                                single += 1
                                single_rows += 1
                            else:
                                inner = mstring.split("\n")[1:-1] if mstring_at == n - 1 else []
                                multi += nrows - sum(map(str.isspace, inner)) - inner.count("")
                    chunk_start = part_start = n
                    chunk_comments = comments
                    chunk_row = row + 1
                row += 1
            elif k == T_OPEN:
                depth += 1
                add(vocab[tok])
            elif k == T_CLOSE:
                if not depth:
                    raise _Fallback  # tokenize's parenlev goes negative: NEWLINE inside "brackets"
                depth -= 1
                add(vocab[tok])
            elif k == T_COLON:
                colon_at = len(chars)
                add(colon_char)
            elif k == T_CONTINUATION:
                n = len(chars)
                if n != flushed:
                    runs.append(row)
                    runs.append(n - flushed)
                    flushed = n
                cont_row = row
                row += 1
            elif k == T_SEMICOLON:
                add(semi_char)
                n = len(chars)  # the part is chars[part_start:n - 1]; radon sees no ENDMARKER in it
                if colon_at >= part_start:
                    lloc += 1 if colon_at == n - 3 else 2
                elif n - 1 != part_start:
                    lloc += 1
                part_start = n
            else:  # what the string alone tells: see TOKENS' alternatives in scanner.py
                first = tok[0]
                if first == "#":
                    comments += 1
                elif tok[-1] in "'\"" and len(tok) > 1:  # a string, or a lone opening triple quote
                    if tok.lstrip(_PREFIX_CHARS) in ("'''", '"""'):
                        raise tokenize.TokenError("EOF in multi-line string", (row, 0))
                    add(STRING)
                    if "\n" in tok:
                        n = len(chars)
                        runs.append(row)
                        runs.append(n - flushed)
                        flushed = n
                        row += tok.count("\n")
                        mstring = tok
                        mstring_at = n - 1
                elif first in "0123456789.":  # ('.' and '...' are operators, found by cget)
                    add(NUMBER)
                elif tok[-1] == "\n":  # (newlines and continuations are found by sget)
                    # a string continued with a backslash-newline that never ends
                    raise tokenize.TokenError("EOF in multi-line string", (row, 0))
                elif first.isalnum() or first == "_":  # ``\w+`` not starting with an ASCII letter
                    add(vget(tok, IDENT) if first.isidentifier() else "?")
                else:
                    raise _Fallback  # an ERRORTOKEN
    n_lines = row - 1
    if depth or (toks and toks[-1] in _CONTINUATIONS):
        raise tokenize.TokenError("EOF in multi-line statement", (n_lines, 0))
    lines = text.split("\n")
    blank = sum(map(str.isspace, lines)) + lines.count("") - 1  # the last item: after the final newline
    sloc = n_lines - blank - multi - single_rows
    raw = {
        "loc": sloc + blank + multi + single,
        "lloc": lloc,
        "sloc": sloc,
        "comments": comments,
        "multi": multi,
        "blank": blank,
        "single_comments": single,
    }
    return raw, "".join(chars), runs


def decode_runs(runs: list[int]) -> list[int]:
    """Expand the flat run-length line table back to one line number per token."""
    out: list[int] = []
    for i in range(0, len(runs), 2):
        out.extend([runs[i]] * runs[i + 1])
    return out
