"""Persistent cache: per-file worker outcomes, a stat index of file contents, and whole-run reports.

Nothing here is ever unpickled: a scanned repository could plant a cache (docs/security.md). Three
stores live in the cache directory (format 3, issue #8 perf):

``outcomes-v3.pack``
    Every per-file outcome in one file: a JSON header line ``{"format", "gen", "entries": {key:
    [offset, length, crc, gen]}}`` then the entries' JSON bytes back to back. The key hashes the
    file's content, its path and owning-service facts, the qualscan version and every setting that
    changes a per-file outcome (enabled rules, their options, metric settings). ``crc`` is the
    CRC-32 of the key followed by the entry's bytes, so a truncated, edited or misplaced entry is
    rejected (and re-analysed), never trusted. Only the entries a run reads are decoded; a run
    that analysed something rewrites the pack: the old body as it is plus the new entries (no
    re-encoding; compacted once a quarter of it is dead), dropping entries no run used in the last
    ``KEEP_GENERATIONS`` writes.
``stat-<root digest>.json``
    path -> (size, mtime_ns, ctime_ns, inode, SHA-256 of the content): a file whose ``lstat`` still
    matches is neither read nor hashed. An entry is recorded only when the file's mtime and ctime
    were at least ``RACY_NS`` older than the clock when it was read (git's "racy clean" rule): a
    later write then always moves one of them, even on a file system with coarse timestamps.
``results/<key>.json``
    The rendered report of a whole run (``qualscan scan``), keyed by everything the run reads: the
    inventory, the content hash of every file it reads, ``git log``, coverage, the configuration
    and the qualscan code itself. A re-scan with nothing changed writes the stored bytes.
``history/<key>.json``
    ``git log`` texts of the history metrics (``discovery.git_log``): the whole text keyed by the
    commit HEAD names, the log's arguments and window, the scanned directory inside the repository,
    whether the clone is shallow and the mailmap; and every commit's entry keyed by the same without
    HEAD and window (a commit's entry never changes: a new HEAD logs only the commits not seen
    before). Same header line as the reports: format, key and the SHA-256 of the text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from qualscan import __version__
from qualscan.config import Config

CACHE_FORMAT = 3
PACK_NAME = "outcomes-v3.pack"
RESULTS_DIR = "results"
HISTORY_DIR = "history"
MAX_HISTORY = 6  # git log texts kept (whole texts of recent HEADs and commit entries)
KEEP_GENERATIONS = 8  # a pack entry unused by this many writing runs is dropped
MAX_RESULTS = 4  # whole-run reports kept (most recently written) ...
MAX_RESULTS_BYTES = 256_000_000  # ... within this many bytes (the newest is always kept)
RACY_NS = 2_000_000_000  # FAT's 2 s timestamps; covers ext4/APFS/NTFS granularity and small clock skew


def settings_digest(config: Config) -> str:
    """Everything besides the file itself that changes a per-file outcome."""
    from qualscan import metrics as metrics_layer  # lazy: a warm run that reuses its report needs neither
    from qualscan.engine.registry import enabled_rules, rule_options

    rules = [(r.code, sorted((k, repr(v)) for k, v in rule_options(r, config).items())) for r in enabled_rules(config)]
    material = json.dumps(
        {
            "format": 2,  # the per-file key material is unchanged since cache format 2
            "version": __version__,
            "rules": rules,
            "metrics": sorted((k, repr(v)) for k, v in config.metrics.items()),
            "facts": metrics_layer.FACTS_VERSION,  # shape of the per-file metric facts
            "max_file_size": config.max_file_size,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


_KEY_ENCODER = json.JSONEncoder(sort_keys=True, default=str)  # = json.dumps(sort_keys=True, default=str), built once


def entry_key(settings: str, path: str, content_sha: str, facts: Mapping[str, Any]) -> str:
    material = _KEY_ENCODER.encode([settings, path, content_sha, facts])
    return hashlib.sha256(material.encode()).hexdigest()


def entry_keyer(settings: str, facts: Mapping[str, Any]) -> Callable[[str, str], str]:
    """``entry_key(settings, path, content_sha, facts)`` as a function of ``path`` and
    ``content_sha``, with ``settings`` and ``facts`` encoded once: a run asks for a key per file but
    the facts are those of the file's service (on Django, encoding the same facts 2,818 times was
    ~70 % of the cost of the keys). ``facts`` must not change afterwards. The material is the
    encoder's, piece by piece: ``[a, b, c, d]`` is ``"[" + a + ", " + b + ", " + c + ", " + d + "]"``
    and a string is written by ``encode_basestring_ascii`` (tests/test_cache_keys.py)."""
    head = "[" + _KEY_ENCODER.encode(settings) + ", "
    tail = ", " + _KEY_ENCODER.encode(facts) + "]"
    quote = encode_basestring_ascii

    def key(path: str, content_sha: str) -> str:
        if not isinstance(path, str) or not isinstance(content_sha, str):
            return entry_key(settings, path, content_sha, facts)
        return hashlib.sha256(f"{head}{quote(path)}, {quote(content_sha)}{tail}".encode()).hexdigest()

    return key


_CODE: str | None = None


DEPENDENCIES = ("libcst", "radon", "networkx", "coverage", "jinja2", "yaml", "pathspec", "rich", "markupsafe")


def code_fingerprint() -> str:
    """Size and mtime of every file of the installed qualscan (package, rules, templates), the
    Python version and the libraries' entry files: a report stored by other code -- an edited
    editable install, a reinstall of the same version, an upgraded library -- is not reused.
    About 100 ``stat`` calls."""
    global _CODE
    if _CODE is None:
        import importlib.util

        import qualscan

        dirs = [Path(qualscan.__file__).parent]
        for sub in ("qualscan.rules", "qualscan.templates"):
            with contextlib.suppress(ImportError, ValueError):
                spec = importlib.util.find_spec(sub)
                if spec is not None and spec.submodule_search_locations:
                    dirs += [Path(p) for p in spec.submodule_search_locations]
        rows = []
        for base in dict.fromkeys(dirs):
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for name in sorted(filenames):
                    if name.endswith((".pyc", ".pyo")):
                        continue
                    with contextlib.suppress(OSError):
                        st = os.stat(os.path.join(dirpath, name))
                        rows.append(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}")
        rows.append(sys.version)
        for dep in DEPENDENCIES:  # an upgraded library rewrites its files: found without importing it
            with contextlib.suppress(ImportError, ValueError, OSError):
                spec = importlib.util.find_spec(dep)
                if spec is not None and spec.origin:
                    st = os.stat(spec.origin)
                    rows.append(f"{dep}:{spec.origin}:{st.st_size}:{st.st_mtime_ns}")
        _CODE = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return _CODE


def _read_nofollow(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))  # a symlinked file: ELOOP
        with os.fdopen(fd, "rb") as fh:
            return fh.read()
    except OSError:
        return None


class Cache:
    def __init__(self, directory: Path, config: Config, *, root: Path | None = None) -> None:
        self.directory = directory
        self.root = root  # scanned root: enables the stat index (None: every file is read and hashed)
        self._config = config
        self._settings: str | None = None
        self.hits = 0
        self.misses = 0
        self.rejected = 0
        self.write_errors = 0
        self.stat_hits = 0
        # pack
        self._loaded = False
        self._entries: dict[str, list[int]] = {}
        self._body: bytes | memoryview = b""
        self._gen = 0
        self._used: set[str] = set()
        self._new: dict[str, bytes] = {}
        # stat index
        self._stat: dict[str, list[Any]] | None = None
        self._stat_dirty = False
        self._probe: dict[str, tuple[int, os.stat_result]] = {}
        self._root_prefix: str | None = None

    # -- the per-file outcome store ---------------------------------------------------------------

    @property
    def settings(self) -> str:
        if self._settings is None:
            self._settings = settings_digest(self._config)
        return self._settings

    def key(self, path: str, content_sha: str, facts: Mapping[str, Any]) -> str:
        return entry_key(self.settings, path, content_sha, facts)

    def keyer(self, facts: Mapping[str, Any]) -> Callable[[str, str], str]:
        """``lambda path, content_sha: self.key(path, content_sha, facts)``, cheaper per key (see
        ``entry_keyer``): for the files that share ``facts`` (those of one service)."""
        return entry_keyer(self.settings, facts)

    def _inside(self, path: Path) -> bool:
        """Read and write only inside the cache directory (no symbolic link out of it)."""
        try:
            return path.resolve().is_relative_to(self.directory.resolve())
        except (OSError, RuntimeError):
            return False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        raw = _read_nofollow(self.directory / PACK_NAME)
        if not raw:
            return
        end = raw.find(b"\n")
        try:
            header = json.loads(raw[:end]) if end >= 0 else {}
            entries = header["entries"] if header.get("format") == CACHE_FORMAT else {}
            gen = int(header.get("gen", 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            entries, gen = {}, 0
        if end < 0 or not isinstance(entries, dict):
            entries = {}
        self._entries = entries
        self._body = memoryview(raw)[end + 1 :]  # no copy of the (tens of MB) body
        self._gen = gen

    def get(self, key: str) -> dict[str, Any] | None:
        self._load()
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        payload: Any = None
        try:
            offset, length, crc = int(entry[0]), int(entry[1]), int(entry[2])
            data = self._body[offset : offset + length] if offset >= 0 and length >= 0 else b""
            ok = len(data) == length and zlib.crc32(data, zlib.crc32(key.encode())) == crc
            payload = json.loads(bytes(data)) if ok else None
        except (ValueError, TypeError, IndexError):
            ok = False
        if not ok or not isinstance(payload, dict):
            self.rejected += 1
            self.misses += 1
            return None
        self.hits += 1
        self._used.add(key)
        return payload

    def put(self, key: str, payload: dict[str, Any]) -> None:
        self._new[key] = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()

    def flush(self) -> None:
        """Write what this run added: the pack (when an outcome was analysed) and the stat index."""
        if self._new:
            self._write_pack()
        if self._stat_dirty:
            self._write_stat()

    def _write_pack(self) -> None:
        """Header + the kept entries' bytes + the new ones. With little dead space the old body is
        written back as it is (one copy, no per-entry work) and the new entries appended; else it
        is compacted. Entries no run used in the last KEEP_GENERATIONS writes are dropped."""
        self._load()
        gen = self._gen + 1
        body_len = len(self._body)
        keep: dict[str, list[int]] = {}
        live = 0
        for key, entry in self._entries.items():
            if key in self._new:
                continue
            try:
                start, length, crc, last = int(entry[0]), int(entry[1]), int(entry[2]), int(entry[3])
            except (ValueError, TypeError, IndexError):
                continue
            if key in self._used:
                last = gen
            if last <= gen - KEEP_GENERATIONS or start < 0 or length < 0 or start + length > body_len:
                continue  # too old, or cut off: dropped (a damaged entry is rejected when read)
            keep[key] = [start, length, crc, last]
            live += length
        chunks: list[bytes | memoryview]
        if live * 4 >= body_len * 3:
            chunks, offset, entries = [self._body], body_len, keep
        else:
            chunks, offset, entries = [], 0, {}
            for key in sorted(keep):
                start, length, crc, last = keep[key]
                chunks.append(self._body[start : start + length])
                entries[key] = [offset, length, crc, last]
                offset += length
        for key in sorted(self._new):
            data = self._new[key]
            chunks.append(data)
            entries[key] = [offset, len(data), zlib.crc32(data, zlib.crc32(key.encode())), gen]
            offset += len(data)
        header = json.dumps({"format": CACHE_FORMAT, "gen": gen, "entries": entries}, separators=(",", ":")).encode()
        if self._atomic_write(self.directory / PACK_NAME, [header, b"\n", *chunks]):
            self._new.clear()
            self._used.clear()
            self._loaded = False  # a later read loads what was written
            self._entries, self._body = {}, b""

    def _atomic_write(self, target: Path, parts: list[bytes | memoryview]) -> bool:
        try:
            self.ensure_gitignore()
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self._inside(target.parent):
                self.write_errors += 1
                return False
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.writelines(parts)
                os.replace(tmp, target)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            return True
        except OSError:
            self.write_errors += 1
            return False

    def ensure_gitignore(self) -> None:
        """Keep the cache out of version control, like pytest's and ruff's caches."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gi = self.directory / ".gitignore"
            if not gi.exists():
                gi.write_text("# created by qualscan\n*\n", encoding="utf-8")
        except OSError:
            self.write_errors += 1

    # -- the stat index ---------------------------------------------------------------------------

    def _stat_file(self) -> Path:
        digest = hashlib.sha256(str(self.root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return self.directory / f"stat-{digest}.json"

    def _load_stat(self) -> dict[str, list[Any]]:
        if self._stat is None:
            self._stat = {}
            raw = _read_nofollow(self._stat_file()) if self.root is not None else None
            if raw:
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    data = json.loads(raw)
                    if data.get("format") == CACHE_FORMAT and isinstance(data.get("files"), dict):
                        self._stat = data["files"]
        return self._stat

    def known_sha(self, rel: str, max_size: int) -> str | None:
        """The SHA-256 of ``rel``'s content when its ``lstat`` matches the index, else None (then
        read the file and call ``note_read``)."""
        if self.root is None:
            return None
        now = time.time_ns()
        if self._root_prefix is None:
            self._root_prefix = os.path.join(str(self.root), "")
        try:
            st = os.lstat(self._root_prefix + rel)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_size:
            return None  # read_file reports it
        self._probe[rel] = (now, st)
        row = self._load_stat().get(rel)
        if (
            isinstance(row, list)
            and len(row) == 5
            and row[:4] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
            and isinstance(row[4], str)
        ):
            self.stat_hits += 1
            return row[4]
        return None

    def note_read(self, rel: str, data: bytes, sha: str) -> None:
        """Record the content hash of a file just read, if its timestamps make the record safe."""
        probe = self._probe.pop(rel, None)
        if probe is None:
            return
        now, st = probe
        if len(data) != st.st_size or st.st_mtime_ns >= now - RACY_NS or st.st_ctime_ns >= now - RACY_NS:
            return  # racy (changed within the timestamp granularity of the read), or changed meanwhile
        index = self._load_stat()
        row = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, sha]
        if index.get(rel) != row:
            index[rel] = row
            self._stat_dirty = True

    def _write_stat(self) -> None:
        body = json.dumps({"format": CACHE_FORMAT, "files": self._stat}, separators=(",", ":"), sort_keys=True)
        if self._atomic_write(self._stat_file(), [body.encode()]):
            self._stat_dirty = False

    def file_sha(self, rel: str, read: Callable[[str], Any], max_size: int) -> tuple[str | None, Any]:
        """(content hash, bytes read or None) of ``rel``: from the stat index, else read and hashed.
        A read that fails returns (None, the Diagnostic)."""
        sha = self.known_sha(rel, max_size)
        if sha is not None:
            return sha, None
        data = read(rel)
        if not isinstance(data, bytes):
            return None, data
        sha = hashlib.sha256(data).hexdigest()
        self.note_read(rel, data, sha)
        return sha, data

    # -- whole-run reports ------------------------------------------------------------------------

    def get_result(self, key: str) -> bytes | None:
        return self._get_blob(RESULTS_DIR, key)

    def put_result(self, key: str, data: bytes) -> None:
        self._put_blob(RESULTS_DIR, key, data, MAX_RESULTS, MAX_RESULTS_BYTES)

    # -- git history ------------------------------------------------------------------------------

    def get_history(self, key: str) -> str | None:
        """The ``git log`` text stored under ``key`` (discovery.git_log's ``memo``)."""
        data = self._get_blob(HISTORY_DIR, key)
        if data is None:
            return None
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return None

    def put_history(self, key: str, text: str) -> None:
        self._put_blob(HISTORY_DIR, key, text.encode("utf-8", "surrogatepass"), MAX_HISTORY, MAX_RESULTS_BYTES)

    # -- blobs: a header line (format, key, SHA-256 of the body) then the body ---------------------

    def _get_blob(self, kind: str, key: str) -> bytes | None:
        folder = self.directory / kind
        if not self._inside(folder):
            return None
        raw = _read_nofollow(folder / f"{key}.json")
        if raw is None:
            return None
        head, _, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            ok = (
                header.get("format") == CACHE_FORMAT
                and header.get("key") == key
                and header.get("check") == hashlib.sha256(body).hexdigest()
            )
        except (ValueError, TypeError, AttributeError):
            ok = False
        if not ok:
            self.rejected += 1
            return None
        return body

    def _put_blob(self, kind: str, key: str, data: bytes, keep: int, max_bytes: int) -> None:
        header = json.dumps({"check": hashlib.sha256(data).hexdigest(), "format": CACHE_FORMAT, "key": key}).encode()
        folder = self.directory / kind
        if not self._atomic_write(folder / f"{key}.json", [header, b"\n", data]):
            return
        try:  # keep the most recent few, within max_bytes (the newest is always kept)
            stored = sorted(((p.stat(), p) for p in folder.glob("*.json")), key=lambda sp: sp[0].st_mtime_ns, reverse=True)
            total = 0
            for i, (st, old) in enumerate(stored):
                total += st.st_size
                if i and (i >= keep or total > max_bytes):
                    old.unlink()
        except OSError:
            pass
