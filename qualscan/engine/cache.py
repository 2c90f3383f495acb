"""Persistent per-file cache of worker outcomes.

Entries are JSON (never pickle: a scanned repository could plant a cache file), one per key under
``<cache_dir>/<key[:2]>/<key>.json``. The key hashes the file's content, its path and owning-service
facts, the qualscan version and every setting that changes a per-file outcome (enabled rules, their
options, metric settings). Each entry stores its own key and a checksum of its payload; an entry
whose key or checksum does not match, or that does not parse, is ignored and rewritten.

Entry layout (format 2, issue #8 perf): one JSON header line ``{"check", "format", "key"}`` then the
payload's JSON bytes; the checksum is the SHA-256 of those bytes, so a read verifies it without
re-serialising the payload (that re-serialisation was ~35% of a warm Django re-scan's cache time).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qualscan import __version__
from qualscan import metrics as metrics_layer
from qualscan.config import Config
from qualscan.engine.registry import enabled_rules, rule_options

CACHE_FORMAT = 2


def settings_digest(config: Config) -> str:
    """Everything besides the file itself that changes a per-file outcome."""
    rules = [(r.code, sorted((k, repr(v)) for k, v in rule_options(r, config).items())) for r in enabled_rules(config)]
    material = json.dumps(
        {
            "format": CACHE_FORMAT,
            "version": __version__,
            "rules": rules,
            "metrics": sorted((k, repr(v)) for k, v in config.metrics.items()),
            "facts": metrics_layer.FACTS_VERSION,  # shape of the per-file metric facts
            "max_file_size": config.max_file_size,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def entry_key(settings: str, path: str, content_sha: str, facts: Mapping[str, Any]) -> str:
    material = json.dumps([settings, path, content_sha, facts], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


class Cache:
    def __init__(self, directory: Path, config: Config) -> None:
        self.directory = directory
        self.settings = settings_digest(config)
        self.hits = 0
        self.misses = 0
        self.rejected = 0
        self.write_errors = 0
        self._dir_ok: dict[str, bool] = {}  # two-hex subdirectory -> resolves inside the cache (perf)

    def key(self, path: str, content_sha: str, facts: Mapping[str, Any]) -> str:
        return entry_key(self.settings, path, content_sha, facts)

    def _file(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _inside(self, path: Path) -> bool:
        """Entries are only read and written inside the cache directory (no symbolic link out of it)."""
        try:
            return path.resolve().is_relative_to(self.directory.resolve())
        except (OSError, RuntimeError):
            return False

    def _subdir_inside(self, file: Path) -> bool:
        """``_inside`` for the entry's subdirectory, resolved once per run (perf: resolving every entry
        path cost ~13% of a warm re-scan); the entry file itself is opened with O_NOFOLLOW."""
        ok = self._dir_ok.get(file.parent.name)
        if ok is None:
            ok = self._dir_ok[file.parent.name] = self._inside(file.parent)
        return ok

    def get(self, key: str) -> dict[str, Any] | None:
        file = self._file(key)
        if not self._subdir_inside(file):
            self.rejected += 1
            self.misses += 1
            return None
        try:
            fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))  # a symlinked entry: ELOOP
            with os.fdopen(fd, "rb") as fh:
                raw = fh.read()
        except OSError:
            self.misses += 1
            return None
        try:
            head, _, body = raw.partition(b"\n")
            entry = json.loads(head)
            ok = (
                entry.get("format") == CACHE_FORMAT
                and entry.get("key") == key
                and entry.get("check") == hashlib.sha256(body).hexdigest()
            )
            payload = json.loads(body) if ok else None
            ok = ok and isinstance(payload, dict)
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
            payload = None
        if not ok:
            self.rejected += 1
            self.misses += 1
            return None
        self.hits += 1
        return payload  # type: ignore[no-any-return]

    def put(self, key: str, payload: dict[str, Any]) -> None:
        file = self._file(key)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        head = json.dumps({"check": hashlib.sha256(body).hexdigest(), "format": CACHE_FORMAT, "key": key}).encode()
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            if not self._inside(file.parent):
                self.write_errors += 1
                return
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(head + b"\n" + body)
            os.replace(tmp, file)
        except OSError:
            self.write_errors += 1

    def ensure_gitignore(self) -> None:
        """Keep the cache out of version control, like pytest's and ruff's caches."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gi = self.directory / ".gitignore"
            if not gi.exists():
                gi.write_text("# created by qualscan\n*\n", encoding="utf-8")
        except OSError:
            self.write_errors += 1
