"""``raw_and_tokens`` before and after issue #3's rewrite, on every Python file of Django 5.2.8.

    python benchmarks/raw_tokens.py [--reps 3] [--before COMMIT] [--corpus DIR]

The "before" implementation is ``qualscan/metrics/raw.py`` + ``scanner.py`` as of ``--before``
(default 5f83e1e, the commit before the rewrite), extracted with ``git show`` into
``benchmarks/.work/raw_before/`` and imported from there. Every file is decoded as the pipeline
decodes it; the script checks that both give the same output on every file (raw counts, clone
string, line table, or the same exception), then times both over the whole corpus, interleaved
(before, after, before, after, ...), in CPU seconds (``time.process_time``), and prints the medians.
The corpus must already be unpacked (``benchmarks/compare_radon.py`` downloads it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import tokenize
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from qualscan.metrics import raw as after  # noqa: E402
from qualscan.parsers.python import decode  # noqa: E402


def load_before(commit: str) -> Any:
    out = HERE / ".work" / "raw_before"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("scanner", "raw"):
        src = subprocess.run(
            ["git", "show", f"{commit}:qualscan/metrics/{name}.py"], cwd=REPO, check=True,
            capture_output=True, text=True,
        ).stdout
        src = src.replace("from qualscan.metrics.scanner import", "from raw_before_scanner import")
        (out / f"raw_before_{name}.py").write_text(src, encoding="utf-8")
    sys.path.insert(0, str(out))
    spec = importlib.util.spec_from_file_location("raw_before_raw", out / "raw_before_raw.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def corpus(root: Path) -> list[tuple[str, str]]:
    files = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as fh:
                    text, _ = decode(path, fh.read())
                if text is not None:
                    files.append((path, text))
    return files


def result(func: Any, text: str) -> Any:
    try:
        return func(text)
    except (tokenize.TokenError, SyntaxError) as exc:
        return (type(exc).__name__, exc.args)


def cpu(func: Any, files: list[tuple[str, str]]) -> float:
    start = time.process_time()
    for _, text in files:
        with contextlib.suppress(tokenize.TokenError, SyntaxError):
            func(text)
    return time.process_time() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--before", default="5f83e1e")
    ap.add_argument("--corpus", type=Path, default=HERE / ".work" / "django-5.2.8")
    args = ap.parse_args()
    before = load_before(args.before)
    files = corpus(args.corpus)
    lines = sum(t.count("\n") for _, t in files)
    print(f"{len(files)} files, {lines} lines under {args.corpus}")

    differ = [p for p, t in files if result(before.raw_and_tokens, t) != result(after.raw_and_tokens, t)]
    fallback = 0
    for _, text in files:
        try:
            if (text and text[-1] != "\n") or text.count("\r") != text.count("\r\n"):
                raise after._Fallback  # raw_and_tokens' own test
            after._raw_and_tokens_fast(text)
        except after._Fallback:
            fallback += 1
        except tokenize.TokenError:
            pass
    print(f"identical output: {len(files) - len(differ)}/{len(files)} files; fast path taken on "
          f"{len(files) - fallback} (the others handed over to the token-by-token implementation)")
    for path in differ[:10]:
        print("  DIFFERS:", path)

    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.reps):
        times["before"].append(cpu(before.raw_and_tokens, files))
        times["after"].append(cpu(after.raw_and_tokens, files))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:6s} CPU s: median {med[k]:.3f}  runs " + " ".join(f"{x:.3f}" for x in v))
    print(f"after / before: {med['after'] / med['before']:.2f}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
