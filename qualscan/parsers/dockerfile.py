"""Dockerfile ``ENV`` defaults and ``EXPOSE`` ports (line-aware, continuation lines joined)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from qualscan.parsers.yamlsafe import decode

MAX_SHLEX_LINE = 8192


@dataclass
class Dockerfile:
    path: str
    env: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (value, line)
    expose: list[int] = field(default_factory=list)
    base_images: list[tuple[str, int]] = field(default_factory=list)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buf = ""
    start = 0
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf:
            start = i
            if line.lstrip().startswith("#"):
                continue
        elif line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def parse_dockerfile(data: bytes | str, path: str) -> Dockerfile:
    df = Dockerfile(path)
    for line_no, line in _logical_lines(decode(data)):
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        instr, rest = parts[0].upper(), parts[1]
        if instr == "FROM":
            df.base_images.append((rest.split()[0], line_no))
        elif instr == "ENV":
            try:
                # shlex is pure Python and super-linear (an 800 KB ENV line: 31 s); long lines split on blanks
                tokens = shlex.split(rest) if len(rest) <= MAX_SHLEX_LINE else rest.split()
            except ValueError:
                tokens = rest.split()
            if tokens and "=" not in tokens[0]:
                df.env[tokens[0]] = (" ".join(tokens[1:]), line_no)
            else:
                for tok in tokens:
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        df.env[k] = (v, line_no)
        elif instr == "EXPOSE":
            for tok in rest.split():
                m = re.match(r"^(\d+)", tok)
                if m:
                    df.expose.append(int(m.group(1)))
    return df
