"""Python tokenizers for the metrics pass, built on ``tokenize``'s own regular expressions.

``scan`` is the exact one: it returns the same token stream as ``tokenize.generate_tokens`` -- same
types, strings and start rows -- except that it never produces INDENT, DEDENT, ENCODING or
ENDMARKER (the metrics need none of them) and it builds plain ``(type, string, row)`` tuples
instead of ``TokenInfo`` objects. It raises ``tokenize.TokenError`` where ``tokenize`` does
(unterminated multi-line string or statement). ``tests/test_metrics_complexity.py`` checks it
against ``tokenize`` on real files.

``TOKENS`` is the fast one: one compiled expression whose ``findall`` over the whole text gives the
list of token strings -- significant tokens, newlines, comments, line continuations -- built in C,
without a match object per token. Its alternatives (``_ALTERNATIVES``) are
``tokenize.PseudoToken``'s, reordered only where two of them can never match at the same position
(so the match is the same), the operators grouped by first character, with three changes that make whole-text matching agree with
``tokenize``'s line-by-line matching:

* a string is matched to its end, across lines -- triple-quoted, or single-quoted and continued
  with a backslash-newline -- with ``tokenize``'s ``endpats`` in which ``.`` also matches a newline
  (which is what restarting the match at the next line start amounts to);
* an unterminated one of those is its own alternative (``tokenize`` fails at EOF): the opening
  triple quote alone, or the first line up to its backslash-newline;
* whatever ``tokenize`` would turn into an ERRORTOKEN falls to the last alternative, one
  character, so the caller can fall back to ``scan``.

``qualscan.metrics.raw`` uses ``TOKENS`` and falls back to ``scan`` on the rare inputs it does not
handle itself (error tokens, a closing bracket with none open, no final newline, a lone ``\\r``).
"""

from __future__ import annotations

import re
import tokenize
from collections.abc import Iterable
from tokenize import COMMENT, ERRORTOKEN, NAME, NEWLINE, NL, NUMBER, OP, STRING

_PSEUDO = re.compile(tokenize.PseudoToken, re.UNICODE)
_ENDPATS = {k: re.compile(v) for k, v in tokenize.endpats.items() if v is not None}
_TRIPLE = tokenize.triple_quoted
_SINGLE = tokenize.single_quoted
_NUMCHARS = "0123456789"
_WS = " \t\f"

# -- the whole-text expression ----------------------------------------------------------------------


def _nocap(pattern: str) -> str:
    """``pattern`` with its capturing groups made non-capturing (``lastindex`` must be one of ours)."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


# exactly the string prefixes tokenize accepts (u, b, r, f, br, rb, fr, rf, in any case) or none
_PREFIX = r"(?:[bB][rR]?|[rR][bBfF]?|[fF][rR]?|[uU])?"
# a single-quoted string's body up to its closing quote or a backslash-newline (PseudoToken's ContStr)
_BODY1 = r"[^\n'\\]*(?:\\.[^\n'\\]*)*"
_BODY2 = r'[^\n"\\]*(?:\\.[^\n"\\]*)*'
_CONT = r"\\\r?\n"
_STRING = (
    f"{_PREFIX}(?:'''(?s:{tokenize.Single3})"
    f'|"""(?s:{tokenize.Double3})'
    # (not at a triple quote: PseudoToken tries Triple first; an unterminated one must not end up
    # as an empty string here)
    f"|'(?!''){_BODY1}(?:'|{_CONT}(?s:{tokenize.Single}))"
    f'|"(?!""){_BODY2}(?:"|{_CONT}(?s:{tokenize.Double})))'
)
_UNTERMINATED = f"""{_PREFIX}(?:'''|\"\"\"|'{_BODY1}{_CONT}|"{_BODY2}{_CONT})"""
def _operators() -> str:
    """Every operator of ``tokenize`` (brackets, ``:`` and ``;`` included), grouped by first character.

    PseudoToken tries them longest first, so it matches the longest operator the text starts
    with; here each first character is tried once, then the longest of its continuations that
    matches. ``.`` (and so ``...``) only where PseudoToken's Number, tried before the operators,
    cannot match.
    """
    by_first: dict[str, list[str]] = {}
    for op in sorted(tokenize.EXACT_TOKEN_TYPES):
        by_first.setdefault(op[0], []).append(op)
    alone = "".join(re.escape(c) for c, ops in sorted(by_first.items()) if ops == [c])
    parts = [f"[{alone}]"]
    for first, ops in sorted(by_first.items()):
        if ops == [first]:
            continue
        rest = sorted((op[1:] for op in ops if op != first), key=lambda r: (-len(r), r))
        group = "(?:" + "|".join(map(re.escape, rest)) + ")" + ("?" if first in ops else "")
        guard = r"(?!\.[0-9])" if first == "." else ""
        parts.append(guard + re.escape(first) + group)
    return "|".join(parts)


# The alternatives, the most frequent first.
_ALTERNATIVES = (
    # an ASCII identifier not followed by a quote: PseudoToken's ``\w+``, and no earlier
    # alternative of PseudoToken can match where it does (with a quote after it: STRING or the
    # second ``\w+`` below)
    r"[a-zA-Z_]\w*+(?!['\"])",
    _operators(),
    r"\r?\n",
    _STRING,
    _nocap(tokenize.Number),
    r"#[^\r\n]*",
    _CONT,
    _UNTERMINATED,
    # the names the first alternative leaves (non-ASCII start, or a would-be prefix whose string did
    # not match): tokenize makes them NAME when their first character starts an identifier, else OP
    r"\w+",
    r"\Z",
    # an ERRORTOKEN
    r"[\s\S]",
)
# one group around them all, for ``findall``: the token strings, built in C without a match object
# per token (``finditer`` costs a third more); ``qualscan.metrics.raw`` tells the kinds apart from
# the strings
TOKENS = re.compile(r"[ \f\t]*+(" + "|".join(_ALTERNATIVES) + ")")


def scan(lines: Iterable[str]) -> list[tuple[int, str, int]]:
    """Tokens of ``lines`` (as from ``readlines()``): ``[(type, string, start row), ...]``."""
    out: list[tuple[int, str, int]] = []
    add = out.append
    parenlev = 0
    continued = False
    contstr: str | None = None
    strrow = 0
    endprog: re.Pattern[str] | None = None
    lnum = 0
    last_line = ""
    for line in lines:
        lnum += 1
        prev_line, last_line = last_line, line
        pos, mx = 0, len(line)
        if contstr is not None:
            assert endprog is not None
            m = endprog.match(line)
            if m:
                pos = m.end(0)
                add((STRING, contstr + line[:pos], strrow))
                contstr = None
            else:
                contstr += line
                continue
        elif parenlev == 0 and not continued:
            while pos < mx and line[pos] in _WS:
                pos += 1
            if pos == mx:
                # a whitespace-only last line without newline: tokenize stops there, and its
                # "last line" for the implicit NEWLINE is the one before
                last_line = prev_line
                break
            c = line[pos]
            if c == "#":
                comment = line[pos:].rstrip("\r\n")
                add((COMMENT, comment, lnum))
                add((NL, line[pos + len(comment):], lnum))
                continue
            if c in "\r\n":
                add((NL, line[pos:], lnum))
                continue
        else:
            continued = False
        while pos < mx:
            m = _PSEUDO.match(line, pos)
            if m:
                start, end = m.span(1)
                pos = end
                if start == end:
                    continue
                token = line[start:end]
                initial = line[start]
                if initial in _NUMCHARS or (initial == "." and token != "." and token != "..."):
                    add((NUMBER, token, lnum))
                elif initial in "\r\n":
                    add((NL if parenlev > 0 else NEWLINE, token, lnum))
                elif initial == "#":
                    add((COMMENT, token, lnum))
                elif token in _TRIPLE:
                    endprog = _ENDPATS[token]
                    em = endprog.match(line, pos)
                    if em:
                        pos = em.end(0)
                        add((STRING, line[start:pos], lnum))
                    else:
                        strrow = lnum
                        contstr = line[start:]
                        break
                elif initial in _SINGLE or token[:2] in _SINGLE or token[:3] in _SINGLE:
                    if token[-1] == "\n":
                        strrow = lnum
                        endprog = _ENDPATS.get(initial) or _ENDPATS.get(token[1]) or _ENDPATS[token[2]]
                        contstr = line[start:]
                        break
                    add((STRING, token, lnum))
                elif initial.isidentifier():
                    add((NAME, token, lnum))
                elif initial == "\\":
                    continued = True
                else:
                    if initial in "([{":
                        parenlev += 1
                    elif initial in ")]}":
                        parenlev -= 1
                    add((OP, token, lnum))
            else:
                add((ERRORTOKEN, line[pos], lnum))
                pos += 1
    if contstr is not None:
        raise tokenize.TokenError("EOF in multi-line string", (strrow, 0))
    if parenlev > 0 or continued:
        raise tokenize.TokenError("EOF in multi-line statement", (lnum, 0))
    if last_line and last_line[-1] not in "\r\n" and not last_line.strip().startswith("#"):
        add((NEWLINE, "", lnum))
    return out
