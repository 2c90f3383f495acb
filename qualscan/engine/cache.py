"""Persistent per-file cache of worker outcomes.

Entries are JSON (never pickle: a scanned repository could plant a cache file), one per key under
``<cache_dir>/<key[:2]>/<key>.json``. The key hashes the file's content, its path and owning-service
facts, the qualscan version and every setting that changes a per-file outcome (enabled rules, their
options, metric settings). Each entry stores its own key and a checksum of its payload; an entry
whose key or checksum does not match, or that does not parse, is ignored and rewritten.
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
from qualscan.config import Config
from qualscan.engine.registry import enabled_rules, rule_options

CACHE_FORMAT = 1


def settings_digest(config: Config) -> str:
    """Everything besides the file itself that changes a per-file outcome."""
    rules = [(r.code, sorted((k, repr(v)) for k, v in rule_options(r, config).items())) for r in enabled_rules(config)]
    material = json.dumps(
        {
            "format": CACHE_FORMAT,
            "version": __version__,
            "rules": rules,
            "metrics": sorted((k, repr(v)) for k, v in config.metrics.items()),
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

    def get(self, key: str) -> dict[str, Any] | None:
        file = self._file(key)
        if not self._inside(file):
            self.rejected += 1
            self.misses += 1
            return None
        try:
            raw = file.read_bytes()
        except OSError:
            self.misses += 1
            return None
        try:
            entry = json.loads(raw)
            payload = entry["payload"]
            ok = (
                entry.get("key") == key
                and entry.get("check") == _checksum(payload)
                and isinstance(payload, dict)
            )
        except (ValueError, KeyError, TypeError):
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
        entry = {"key": key, "check": _checksum(payload), "payload": payload}
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            if not self._inside(file.parent):
                self.write_errors += 1
                return
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, separators=(",", ":"), sort_keys=True)
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


def _checksum(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
