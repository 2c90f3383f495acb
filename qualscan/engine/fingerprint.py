"""Finding fingerprints that survive unrelated edits.

A fingerprint hashes what the finding *is*, not where it sits: the rule code, the file, the rule's
own discriminator (``Hit.key``: e.g. callee and enclosing function) or else the reported line's
code with all whitespace and comments removed, plus the occurrence index among otherwise identical
findings in the file. Moving code, inserting lines above or reformatting keeps it; changing the
flagged code (or the file it lives in) changes it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

_COMMENT = re.compile(r"\s+#.*$|^#.*$")
_WS = re.compile(r"\s+")


def normalise_line(line: str) -> str:
    return _WS.sub("", _COMMENT.sub("", line))


def line_text(lines: Sequence[str], line: int) -> str:
    if 1 <= line <= len(lines):
        return normalise_line(lines[line - 1])
    return ""


def fingerprint(code: str, file: str, key: str, occurrence: int = 0) -> str:
    h = hashlib.sha256(f"{code}\x1f{file}\x1f{key}\x1f{occurrence}".encode()).hexdigest()
    return h[:20]
