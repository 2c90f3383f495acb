"""Cost of the QS1xx call-site rules on Django 5.2.8's sdist, against ``radon cc`` alone.

    python benchmarks/bench_rules.py [--root benchmarks/.work/django-5.2.8] [--skip-radon]

Runs every Python rule whose code starts with QS1 on every ``.py`` file of the tree, one process,
the way the engine's worker does (one ``ast.parse`` per file, test files skipped as discovery
classifies them, triggers checked on the file's imports, libcst parsed lazily and shared by the
rules of a file), and times ``radon cc -s -j``
on the same tree in a subprocess. The sdist is fetched by ``benchmarks/compare_radon.py``.
Prints how many files started libcst, and the time of each part.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from qualscan.config import Config  # noqa: E402
from qualscan.discovery import is_test_path  # noqa: E402
from qualscan.engine.registry import all_rules  # noqa: E402
from qualscan.engine.rule import PythonFileContext, PythonRule  # noqa: E402


def _imports(tree: ast.Module) -> frozenset[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return frozenset(out)


def run_rules(root: Path, include_tests: bool = False, show: bool = False) -> dict[str, object]:
    rules = [r for r in all_rules() if issubclass(r, PythonRule) and r.code.startswith("QS1")]
    config = Config()
    files = sorted(root.rglob("*.py"))
    parse_s = rules_s = 0.0
    libcst_files = hits = errors = 0
    per_rule: dict[str, float] = {r.code: 0.0 for r in rules}
    for path in files:
        data = path.read_bytes()
        t0 = time.perf_counter()
        try:
            text = data.decode("utf-8")
            tree = ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        imports = _imports(tree)  # the engine's worker computes these for every file anyway
        t1 = time.perf_counter()
        rel = path.relative_to(root).as_posix()
        is_test = is_test_path(rel) and not include_tests
        ctx = PythonFileContext(rel, text, tree, service=None, is_test=is_test, config=config, imports=imports)
        for rule in rules:
            if is_test and not rule.include_tests:
                continue
            if rule.triggers and not (rule.triggers & ctx.imports):
                continue
            ctx.options = dict(rule.options)
            r0 = time.perf_counter()
            try:
                for hit in rule().check(ctx):
                    hits += 1
                    if show:
                        print(f"{rel}:{hit.line}: {rule.code} {hit.message}", file=sys.stderr)
            except Exception:  # noqa: BLE001 - counted, as the engine turns it into a diagnostic
                errors += 1
            per_rule[rule.code] += time.perf_counter() - r0
        if ctx._cst is not None:
            libcst_files += 1
        t2 = time.perf_counter()
        parse_s += t1 - t0
        rules_s += t2 - t1
        del ctx, tree
    return {
        "per_rule_s": {k: round(v, 2) for k, v in per_rule.items() if v >= 0.01},
        "files": len(files),
        "libcst_files": libcst_files,
        "hits": hits,
        "rule_errors": errors,
        "ast_parse_and_imports_s": round(parse_s, 2),
        "qs1_rules_s": round(rules_s, 2),
    }


def run_radon(root: Path) -> float | None:
    exe = shutil.which("radon")
    if exe is None:
        return None
    t0 = time.perf_counter()
    subprocess.run([exe, "cc", "-s", "-j", str(root)], check=True, capture_output=True)
    return round(time.perf_counter() - t0, 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=HERE / ".work" / "django-5.2.8")
    ap.add_argument("--skip-radon", action="store_true")
    ap.add_argument("--show", action="store_true", help="print every finding on stderr")
    ap.add_argument(
        "--include-tests", action="store_true",
        help="run the rules on test files too (the engine skips them: rules have include_tests = False)",
    )
    args = ap.parse_args(argv)
    if not args.root.is_dir():
        raise SystemExit(f"{args.root} not found: run benchmarks/compare_radon.py once to fetch the sdist")
    result: dict[str, object] = dict(run_rules(args.root, args.include_tests, args.show))
    if not args.skip_radon:
        radon_s = run_radon(args.root)
        result["radon_cc_s"] = radon_s
        if radon_s:
            result["qs1_over_radon_cc"] = round(float(result["qs1_rules_s"]) / radon_s, 3)  # type: ignore[arg-type]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
