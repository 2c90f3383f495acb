"""Reading and damaging the on-disk cache (engine/cache.py, format 3) the way a disk fault or an
attacker would: byte edits of the pack file, not calls into the cache's internals."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from _gate_support import write

from qualscan.config import Config, parse_config
from qualscan.engine import cache as cache_mod

CALL = 'import requests\n\n\ndef f{i}(x):\n    return requests.get(f"http://cart/{{x}}/{i}")\n'


def build_tree(root: Path, n_files: int) -> Config:
    """A checkout service of ``n_files`` modules, each with one timeout-less call (a QS101 finding)."""
    files = {"qualscan.toml": '[journeys]\nbuy = ["gateway", "checkout", "payment"]\n',
             "services/checkout/Dockerfile": "FROM python:3.12\n"}
    for i in range(n_files):
        files[f"services/checkout/mod{i:03}.py"] = CALL.format(i=i)
    write(root, files)
    return parse_config((root / "qualscan.toml").read_bytes(), source="qualscan.toml").with_overrides(jobs=1)


def pack_file(cache_dir: Path) -> Path:
    return cache_dir / cache_mod.PACK_NAME


def read_pack(cache_dir: Path) -> tuple[dict[str, Any], bytes]:
    head, _, body = pack_file(cache_dir).read_bytes().partition(b"\n")
    return json.loads(head), body


def write_pack(cache_dir: Path, header: dict[str, Any], body: bytes) -> None:
    pack_file(cache_dir).write_bytes(json.dumps(header).encode() + b"\n" + body)


def entry_for(cache_dir: Path, rel: str) -> tuple[str, dict[str, Any]]:
    """The key of ``rel``'s single entry and its payload, read through the cache's own API."""
    header, _ = read_pack(cache_dir)
    reader = cache_mod.Cache(cache_dir, Config())
    found = []
    for key in header["entries"]:
        payload = reader.get(key)
        if payload is not None and payload["path"] == rel:
            found.append((key, payload))
    assert len(found) == 1, found
    return found[0]


def entry_bytes(cache_dir: Path, key: str) -> bytes:
    header, body = read_pack(cache_dir)
    offset, length = header["entries"][key][:2]
    return body[offset : offset + length]


def replace_entry(cache_dir: Path, key: str, data: bytes, *, valid_crc: bool) -> None:
    """Put ``data`` in place of ``key``'s entry (appended to the body); with ``valid_crc`` its
    checksum is recomputed as anyone can (a forgery), else the old one is kept (an edit)."""
    header, body = read_pack(cache_dir)
    entry = header["entries"][key]
    crc = zlib.crc32(data, zlib.crc32(key.encode())) if valid_crc else entry[2]
    header["entries"][key] = [len(body), len(data), crc, entry[3]]
    write_pack(cache_dir, header, body + data)


def forge(cache_dir: Path, rel: str, **changes: Any) -> None:
    """Rewrite ``rel``'s cached outcome with ``changes`` and a valid checksum."""
    key, payload = entry_for(cache_dir, rel)
    replace_entry(cache_dir, key, json.dumps({**payload, **changes}).encode(), valid_crc=True)
