"""Main-process costs of a warm one-file gate on Django that discovery and the cache own, old code
vs new, in one process, interleaved (issue #8).

    python benchmarks/discovery_cache.py [--ref HEAD] [--rounds 5] [--django DIR]

* ``walk``, ``build_inventory``: ``qualscan.discovery`` of the checkout against the same module
  of ``--ref`` (its source from ``git show``, loaded as a separate module; it imports the
  checkout's ``config`` and ``model``);
* ``cache pass``: what ``pipeline._per_file_pass`` asks the cache for each Python file of a warm
  run (``known_sha``, ``key``, ``get``; a fresh ``Cache`` each round, the pack in the page cache),
  ``engine/cache.py`` of the checkout against that of ``--ref``;
* ``keys``: ``Cache.key`` for each file (the facts encoded each time) against ``Cache.keyer`` made
  once per service and owning-test flag (needs the pipeline to call it);
* ``import``: CPU of a fresh interpreter importing ``qualscan.discovery`` and walking the tree
  (``discover``), each version from its own ``git archive`` snapshot, and whether it imported
  pathspec.

The Django copy is committed to a fresh git repository and scanned once (untimed) to fill its
cache, as in benchmarks/warm_gate.py. The old and new walks, inventories and cache answers are
checked equal. CPU = ``time.process_time``; medians of ``--rounds``; the garbage collector tuned as
``cli.run`` tunes it.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DJANGO = REPO / "benchmarks" / ".work" / "django-5.2.8"
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@e.x", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@e.x", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
IMPORT_PROBE = """
import sys, time
from pathlib import Path
t = time.process_time()
from qualscan.config import Config
from qualscan.discovery import discover
inv = discover(Path(sys.argv[1]), Config())
print(time.process_time() - t, "pathspec" in sys.modules, len(inv.files))
"""


def load_old(ref: str, rel: str, name: str) -> ModuleType:
    source = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=REPO, check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{ref}:{rel}", "exec"), module.__dict__)  # noqa: S102 - our own code at a revision
    return module


def snapshot(ref: str, dest: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=REPO, check=True, capture_output=True).stdout
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    for sub in ("rules", "templates"):
        if (dest / sub).is_dir():
            shutil.move(str(dest / sub), str(dest / "qualscan" / sub))
    compile_tree(dest)
    return dest


def compile_tree(path: Path) -> None:
    """Byte-compile as pip does on install (PYTHONDONTWRITEBYTECODE would have us time the compiler)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(path)], check=True, capture_output=True)


def cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="the old code (default HEAD: the checkout's edits are the new code)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--django", type=Path, default=DJANGO)
    args = ap.parse_args()
    # as cli.run does: freeze what is imported, raise the gen-0 threshold (engine docs, "Garbage collector")
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])

    from qualscan import discovery as new_discovery
    from qualscan.config import Config
    from qualscan.engine import cache as new_cache
    from qualscan.engine.pipeline import infer_journeys, service_facts
    from qualscan.model import FileKind

    old_discovery = load_old(args.ref, "qualscan/discovery.py", "old_discovery")
    old_cache = load_old(args.ref, "qualscan/engine/cache.py", "old_cache")
    config = Config()
    work = Path(tempfile.mkdtemp(prefix="qs-discovery-cache-"))
    try:
        root = work / "django"
        shutil.copytree(args.django, root, ignore=shutil.ignore_patterns(".qualscan_cache"))
        env = {**os.environ, **GIT_ENV}
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "django"]):
            subprocess.run(["git", *cmd], cwd=root, env=env, check=True, capture_output=True)
        time.sleep(2.5)  # past the stat index's racy window
        subprocess.run([sys.executable, "-P", "-m", "qualscan", "scan", str(root), "-f", "json", "-o", str(work / "fill.json")],
                       check=True, capture_output=True, cwd=work)
        root = root.resolve()
        entries, diags = new_discovery.walk(root, config)
        inventory = new_discovery.build_inventory(entries, config, diags, root_name=root.name)
        py = [f for f in inventory.files if f.kind is FileKind.PYTHON]
        facts = service_facts(inventory.services, infer_journeys(s.name for s in inventory.services), config)

        def cache_pass(module: ModuleType) -> list[Any]:
            cache = module.Cache(root / config.cache_dir, config, root=root)
            out = []
            for f in py:
                sha = cache.known_sha(f.path, config.max_file_size)
                key = cache.key(f.path, sha, {"service": f.service, "test": f.is_test,
                                              "info": dict(facts.get(f.service or "", {}))})
                out.append((sha, key, cache.get(key)))
            return out

        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for label, disc, cache_mod in (("old", old_discovery, old_cache), ("new", new_discovery, new_cache)):
                t_walk, (e, d) = cpu(lambda disc=disc: disc.walk(root, config))
                t_inv, inv = cpu(lambda disc=disc, e=e, d=d: disc.build_inventory(e, config, d, root_name=root.name))
                t_cache, answers = cpu(lambda cache_mod=cache_mod: cache_pass(cache_mod))
                assert (e, d) == (entries, diags), f"{label}: walk differs"
                assert (inv.files, inv.services, inv.libraries, inv.diagnostics) == (
                    inventory.files, inventory.services, inventory.libraries, inventory.diagnostics), f"{label}: inventory differs"
                assert all(a[2] is not None for a in answers), f"{label}: cache misses"
                times.setdefault(f"walk, {label}", []).append(t_walk)
                times.setdefault(f"build_inventory, {label}", []).append(t_inv)
                times.setdefault(f"cache pass ({len(py)} files), {label}", []).append(t_cache)
                times.setdefault(f"cache pass ({len(py)} files), answers {label}", []).append(hash(repr(answers)))
        def keys_per_file(cache: Any) -> list[str]:
            return [cache.key(f.path, "0" * 64, {"service": f.service, "test": f.is_test,
                                                 "info": dict(facts.get(f.service or "", {}))}) for f in py]

        def keys_per_service(cache: Any) -> list[str]:
            keyers: dict[tuple[str | None, bool], Callable[[str, str], str]] = {}
            out = []
            for f in py:
                keyer = keyers.get((f.service, f.is_test))
                if keyer is None:
                    keyer = keyers[(f.service, f.is_test)] = cache.keyer(
                        {"service": f.service, "test": f.is_test, "info": dict(facts.get(f.service or "", {}))})
                out.append(keyer(f.path, "0" * 64))
            return out

        if hasattr(new_cache.Cache, "keyer"):
            probe = new_cache.Cache(root / config.cache_dir, config, root=root)
            for _ in range(args.rounds):
                t_key, by_file = cpu(lambda: keys_per_file(probe))
                t_keyer, by_service = cpu(lambda: keys_per_service(probe))
                assert by_file == by_service
                times.setdefault("keys: Cache.key per file (what the pipeline does)", []).append(t_key)
                times.setdefault("keys: Cache.keyer per service (a pipeline change)", []).append(t_keyer)
        answers_old, answers_new = (times.pop(f"cache pass ({len(py)} files), answers {v}") for v in ("old", "new"))
        assert answers_old == answers_new, "the cache answers differ"

        compile_tree(REPO / "qualscan")
        snaps = {"old": snapshot(args.ref, work / "old"), "new": REPO}
        for _ in range(args.rounds):
            for label, src in snaps.items():
                out = subprocess.run([sys.executable, "-P", "-c", IMPORT_PROBE, str(root)], capture_output=True, text=True,
                                     check=True, cwd=work, env={**os.environ, "PYTHONPATH": str(src)}).stdout.split()
                times.setdefault(f"fresh process: import + discover, {label} (pathspec imported: {out[1]})", []).append(float(out[0]))

        print(f"Django: {len(entries)} files, {len(py)} Python; CPU seconds, median of {args.rounds} (all rounds)")
        for name, runs in times.items():
            print(f"{name:70} {statistics.median(runs):7.4f}   " + " ".join(f"{r:.4f}" for r in runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
