"""Command line: arguments, files, exit codes.

Exit codes: 0 the command ran (findings do not change it), 1 a quality gate failed, 2 usage,
configuration or internal error. Bad input never shows a traceback (set QUALSCAN_DEBUG=1 to see
one for an internal error).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import gc
import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from qualscan import __version__
from qualscan.config import Config, ConfigError, load_config
from qualscan.engine.registry import RuleLoadError, all_rules, rule_by_code

EXIT_OK, EXIT_GATE, EXIT_ERROR = 0, 1, 2

FORMATS = {
    "text": "text",
    "json": "json_report",
    "html": "html",
    "sarif": "sarif",
    "md": "markdown",
    "markdown": "markdown",
    "github": "github",
    "junit": "junit",
}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"qualscan: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="qualscan",
        description="Find what will break under peak traffic in an e-commerce service monorepo.",
    )
    p.add_argument("--version", action="version", version=f"qualscan {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(sp: argparse.ArgumentParser, *, formats: bool = True) -> None:
        sp.add_argument("path", nargs="?", default=".", help="monorepo root (default: .)")
        sp.add_argument("--config", type=Path, help="configuration file (default: qualscan.toml or [tool.qualscan] in pyproject.toml)")
        sp.add_argument("--no-cache", action="store_true", help="do not read or write the per-file cache")
        sp.add_argument("--cache-dir", help="cache directory (default: .qualscan_cache under the root)")
        sp.add_argument("--jobs", "-j", type=int, help="worker processes (default: one per core)")
        sp.add_argument("--select", help="comma-separated rule codes or prefixes to run (e.g. QS1,QS201)")
        sp.add_argument("--ignore", help="comma-separated rule codes or prefixes to skip")
        if formats:
            sp.add_argument("--format", "-f", choices=sorted(set(FORMATS)), default="text", help="output format (default: text)")
            sp.add_argument("--output", "-o", type=Path, help="write the report to FILE instead of stdout")
            sp.add_argument("--compare", type=Path, help="previous JSON report: show what changed since then")
            sp.add_argument("--timestamp", action="store_true", help="include the generation time in JSON/HTML")

    scan = sub.add_parser("scan", help="scan a monorepo and report")
    common(scan)
    scan.add_argument("--shard", help="analyse a deterministic share of the services: i/n (1-based); "
                      "writes a partial JSON report for `qualscan merge`")

    # sharding (engine/shard.py): join the JSON reports of `scan --shard i/n` runs
    merge = sub.add_parser("merge", help="join the JSON reports of `scan --shard i/n` into the report of the whole")
    merge.add_argument("reports", nargs="+", type=Path, help="the JSON report of every shard")
    merge.add_argument("--root", default=".", help="the checkout the shards scanned: manifests, git history and "
                       "coverage are read from it (default: .)")
    merge.add_argument("--config", type=Path, help="configuration file (must match the shards' configuration)")
    merge.add_argument("--jobs", "-j", type=int, help="worker processes for files no shard covered")
    merge.add_argument("--select", help="as given to the shards")
    merge.add_argument("--ignore", help="as given to the shards")
    merge.add_argument("--format", "-f", choices=sorted(set(FORMATS)), default="json", help="output format (default: json)")
    merge.add_argument("--output", "-o", type=Path, help="write the report to FILE instead of stdout")
    merge.add_argument("--compare", type=Path, help="previous JSON report: show what changed since then")
    merge.add_argument("--timestamp", action="store_true", help="include the generation time in JSON/HTML")

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--markdown", action="store_true", help="print the full rules reference (docs/rules.md)")
    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("code", help="rule code (QS101) or name (no-timeout)")

    graph = sub.add_parser("graph", help="export the service dependency graph, or a what-if")
    common(graph, formats=False)
    graph.add_argument("--format", "-f", choices=["dot", "mermaid", "json", "graphml"], default="mermaid")
    graph.add_argument("--output", "-o", type=Path)
    graph.add_argument("--fail", metavar="NODE", help="what breaks if NODE fails (blast radius)")

    fix = sub.add_parser("fix", help="apply safe automatic fixes (explicit timeouts)")
    fix.add_argument("path", nargs="?", default=".")
    fix.add_argument("--rule", action="append", default=[], help="rule code to fix (default: every fixable rule)")
    fix.add_argument("--diff", action="store_true", help="print the change as a unified diff; write nothing")
    fix.add_argument("--timeout", type=float, help="timeout to add, in seconds (default: [tool.qualscan.fix] default_timeout or 5)")
    fix.add_argument("--config", type=Path)
    _add_gate_parsers(sub, common)
    return p


# --- helpers -------------------------------------------------------------------------------------


def _err(msg: str) -> None:
    print(f"qualscan: error: {msg}", file=sys.stderr)


def _root(path: str) -> Path:
    root = Path(path)
    if not root.exists():
        raise UsageError(f"path does not exist: {path}")
    if not root.is_dir():
        raise UsageError(f"not a directory: {path}")
    return root.resolve()


def _config(args: argparse.Namespace, root: Path) -> Config:
    config = load_config(root, args.config)
    overrides: dict[str, Any] = {}
    if getattr(args, "no_cache", False):
        overrides["use_cache"] = False
    if getattr(args, "cache_dir", None):
        # a command-line path is relative to the working directory (the configuration file's
        # cache_dir is relative to the root, and may not leave it)
        overrides["cache_dir"] = str(Path(args.cache_dir).absolute())
    if getattr(args, "jobs", None) is not None:
        if args.jobs < 0:
            raise UsageError("--jobs must be 0 or more")
        overrides["jobs"] = args.jobs
    if getattr(args, "select", None):
        overrides["select"] = tuple(s.strip().upper() for s in args.select.split(",") if s.strip())
    if getattr(args, "ignore", None):
        overrides["ignore"] = tuple(s.strip().upper() for s in args.ignore.split(",") if s.strip())
    return config.with_overrides(**overrides) if overrides else config


def _progress() -> Any:
    """A rich progress bar on stderr when it is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = prog.add_task("files", total=None)

    def update(done: int, total: int) -> None:
        if total < 50:
            return
        if not prog.live.is_started:
            prog.start()
        prog.update(task, completed=done, total=total)

    return prog, update


def render(result: Any, fmt: str, **options: Any) -> str:
    module_name = FORMATS[fmt]
    try:
        module = importlib.import_module(f"qualscan.reporters.{module_name}")
    except ImportError as exc:
        raise UsageError(f"the {fmt} format is not available in this build ({exc})") from None
    return str(module.render(result, **options))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _write(text: str, output: Path | None) -> None:
    # scanned code can put lone surrogates in a report ("\udcff" in a string literal becomes a URL in a
    # message): they cannot be encoded, and stdout's surrogateescape would emit invalid UTF-8 bytes
    try:  # the encoder finds a lone surrogate faster than the regex (a 13 MB report: 16 vs 57 ms)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    if output is None:
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not a JSON report: {exc}") from None
    if not isinstance(data, dict) or "findings" not in data:
        raise UsageError(f"{path} is not a qualscan JSON report")
    return data


# --- commands ------------------------------------------------------------------------------------


def cmd_scan(args: argparse.Namespace) -> int:
    from qualscan.engine.pipeline import scan_path_report

    root = _root(args.path)
    config = _config(args, root)
    shard = _shard_spec(args)
    options: dict[str, Any] = {}
    if args.compare:
        options["compare"] = _load_json(args.compare)
    if args.timestamp:
        options["timestamp"] = True
    if "top" in config.scoring:  # how many weak points the summaries show
        options["top"] = int(config.scoring["top"])
    prog, update = _progress()
    try:
        if shard is not None:
            from qualscan.engine.shard import scan_shard

            text = render(scan_shard(root, config, shard, progress=update), args.format, **options)
        else:
            # a report that depends on nothing but the scan can be stored and reused (engine/cache.py)
            reusable = not args.compare and not args.timestamp
            render_id = json.dumps([args.format, FORMATS[args.format], options], sort_keys=True) if reusable else None
            text = scan_path_report(root, config, lambda result: render(result, args.format, **options), render_id,
                                    progress=update)
    finally:
        if prog is not None and prog.live.is_started:
            prog.stop()
    _write(text, args.output)
    return EXIT_OK


def rules_reference() -> str:
    """The rules reference in Markdown, generated from rule metadata (docs/rules.md)."""
    out = [
        "# Rules reference",
        "",
        "Generated from the rules' own metadata by `qualscan rules --markdown > docs/rules.md`; do not edit by hand.",
        "Codes are stable and never reused. Configure a rule in `[tool.qualscan.rules.CODE]` "
        "(`enabled`, `severity`, and the options listed under it).",
        "",
        "| code | name | severity | confidence | summary |",
        "|---|---|---|---|---|",
    ]
    rules = all_rules()
    for r in rules:
        out.append(f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.severity.value} | {r.confidence.value} | {r.summary} |")
    for r in rules:
        out += ["", f"## {r.code} {r.name}", ""]
        out.append(f"*Severity* {r.severity.value} · *Confidence* {r.confidence.value} · *Scope* {r.scope}"
                   + (" · *Fixable* with `qualscan fix`" if r.fixable else ""))
        out += ["", r.summary, ""]
        out += [("#" + line) if line.startswith("## ") else line for line in r.docs().splitlines()]
        if r.options:
            out += ["", "### Options", ""]
            out += [f"- `{k}` (default `{v!r}`)" for k, v in sorted(r.options.items())]
    return "\n".join(out) + "\n"


def cmd_rules(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(rules_reference())
        return EXIT_OK
    rows = [(r.code, r.name, r.severity.value, r.summary) for r in all_rules()]
    if not rows:
        print("no rules installed")
        return EXIT_OK
    w1 = max(len(r[1]) for r in rows)
    for code, name, sev, summary in rows:
        print(f"{code}  {name:<{w1}}  {sev:<8}  {summary}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    rule = rule_by_code(args.code)
    if rule is None:
        raise UsageError(f"no rule {args.code!r} (see `qualscan rules`)")
    print(f"# {rule.code} {rule.name}\n")
    print(f"Severity: {rule.severity.value} · Confidence: {rule.confidence.value} · Scope: {rule.scope}"
          + (" · Fixable" if rule.fixable else ""))
    print(f"\n{rule.summary}\n")
    print(rule.docs())
    if rule.options:
        print("\n## Options\n")
        for k, v in sorted(rule.options.items()):
            print(f"- `{k}` (default `{v!r}`)")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from qualscan import graph as graph_layer
    from qualscan.engine.pipeline import scan_path_detailed

    root = _root(args.path)
    config = _config(args, root)
    if not hasattr(graph_layer, "export"):
        raise UsageError("the graph layer is not available in this build")
    _, model, _ = scan_path_detailed(root, config)
    if model is None:
        raise UsageError("the service graph could not be built (see diagnostics of `qualscan scan`)")
    if args.fail:
        report = graph_layer.what_if(model, args.fail)
        if report is None or report.get("error"):
            raise UsageError((report or {}).get("error") or f"no node {args.fail!r} in the graph")
        text = json.dumps(report, indent=2, sort_keys=True) + "\n" if args.format == "json" else _what_if_text(report)
    else:
        text = graph_layer.export(model, args.format)
    _write(text, args.output)
    return EXIT_OK


def _what_if_text(report: dict[str, Any]) -> str:
    lines = [f"If {report.get('node')} fails:"]
    broken = report.get("broken") or []
    degraded = report.get("degraded") or []
    lines.append("  journeys broken:   " + (", ".join(broken) if broken else "none"))
    lines.append("  journeys degraded: " + (", ".join(degraded) if degraded else "none"))
    for key in ("unreachable", "affected_services"):
        if report.get(key):
            lines.append(f"  {key.replace('_', ' ')}: " + ", ".join(report[key]))
    return "\n".join(lines) + "\n"


def cmd_fix(args: argparse.Namespace) -> int:
    try:
        from qualscan.engine.fix import fix_source
    except ImportError:
        raise UsageError("automatic fixes are not available in this build") from None
    from qualscan.discovery import discover, read_file
    from qualscan.model import Diagnostic, FileKind

    target = Path(args.path)
    if not target.exists():
        raise UsageError(f"path does not exist: {args.path}")
    root = target.resolve() if target.is_dir() else target.resolve().parent
    config = load_config(root, args.config)
    fixable = {r.code for r in all_rules() if r.fixable}
    wanted = {(r.code if (r := rule_by_code(c)) is not None else c.upper()) for c in args.rule} or fixable
    unknown = wanted - fixable
    if unknown:
        raise UsageError(f"not fixable: {', '.join(sorted(unknown))} (fixable rules: {', '.join(sorted(fixable)) or 'none'})")
    timeout = args.timeout if args.timeout is not None else float(config.fix.get("default_timeout", 5.0))
    if timeout <= 0:
        raise UsageError("--timeout must be greater than 0")
    if target.is_dir():
        files = [f.path for f in discover(root, config).files if f.kind is FileKind.PYTHON and not f.is_test]
    else:
        files = [target.name]
    changed_files = 0
    changes = 0
    for rel in files:
        data = read_file(root, rel, config.max_file_size)
        if isinstance(data, Diagnostic):
            print(f"qualscan: {rel}: {data.message}", file=sys.stderr)
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            print(f"qualscan: {rel}: not UTF-8; skipped", file=sys.stderr)
            continue
        try:
            new, n = fix_source(text, default_timeout=timeout, rules=wanted)
        except Exception as exc:  # noqa: BLE001 - unparsable file: skip with a one-line note
            print(f"qualscan: {rel}: cannot fix ({type(exc).__name__}); skipped", file=sys.stderr)
            continue
        if n and new != text:
            changed_files += 1
            changes += n
            if args.diff:
                sys.stdout.writelines(
                    difflib.unified_diff(text.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}")
                )
            else:
                (root / rel).write_text(new, encoding="utf-8")
    verb = "would change" if args.diff else "changed"
    print(f"qualscan fix: {verb} {changes} call(s) in {changed_files} file(s)", file=sys.stderr)
    return EXIT_OK


def _shard_spec(args: argparse.Namespace) -> Any:
    """The parsed ``--shard i/n`` (None without it); a shard report is JSON only."""
    if not getattr(args, "shard", None):
        return None
    from qualscan.engine.shard import ShardError, parse_shard

    try:
        spec = parse_shard(args.shard)
    except ShardError as exc:
        raise UsageError(str(exc)) from None
    if args.format != "json":
        raise UsageError("--shard writes a partial report for `qualscan merge`: use --format json")
    return spec


def cmd_merge(args: argparse.Namespace) -> int:
    from qualscan.engine.shard import ShardError, merge_shards

    root = _root(args.root)
    config = _config(args, root)
    reports = [_load_json(p) for p in args.reports]
    prog, update = _progress()
    try:
        result = merge_shards(root, config, reports, names=[str(p) for p in args.reports], progress=update)
    except ShardError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if prog is not None and prog.live.is_started:
            prog.stop()
    options: dict[str, Any] = {}
    if args.compare:
        options["compare"] = _load_json(args.compare)
    if args.timestamp:
        options["timestamp"] = True
    _write(render(result, args.format, **options), args.output)
    return EXIT_OK


# --- the pre-merge gate: check and baseline (docs/ci.md) ------------------------------------------


def _add_gate_parsers(sub: Any, common: Any) -> None:
    check = sub.add_parser("check", help="scan and apply the quality gate: exit 0 pass, 1 fail, 2 error")
    common(check, formats=False)
    check.add_argument("--format", "-f", choices=sorted(set(FORMATS)), default="text", help="output format (default: text)")
    check.add_argument("--output", "-o", type=Path, help="write the report to FILE instead of stdout")
    check.add_argument("--baseline", type=Path, metavar="FILE", help="fail only on findings not recorded in FILE")
    check.add_argument("--diff-base", metavar="REF", help="judge only lines changed since the merge base with REF (e.g. origin/main)")
    check.add_argument("--profile", help="gate profile (default: freeze inside the event's freeze window, else none)")
    check.add_argument("--summary", type=Path, metavar="FILE", help="also write a Markdown summary (for a PR comment) to FILE")
    check.add_argument(
        "--coverage", type=Path, action="append", default=[], metavar="FILE",
        help="coverage data for the diff coverage gate (.coverage, Cobertura XML, LCOV); repeatable",
    )
    check.add_argument("--all-findings", action="store_true", help="report every finding, not only those the gate judges new")
    check.add_argument("--today", metavar="YYYY-MM-DD", help="date that decides the event freeze window (default: today)")
    baseline = sub.add_parser("baseline", help="record today's findings so that `check --baseline` fails only on new ones")
    common(baseline, formats=False)
    baseline.add_argument(
        "--output", "-o", type=Path, default=Path(".qualscan-baseline.json"),
        help="baseline file to write (default: .qualscan-baseline.json)",
    )


def _scan_for_gate(root: Path, config: Config, before_run: Any = None) -> tuple[Any, Any]:
    """The scan and its inputs, reporting cache use on stderr (a cache directory tracked by git is
    refused by ``prepare_inputs`` with a diagnostic). ``before_run`` is called between gathering
    the inputs and the analysis (check waits there for ``git diff``, which ran meanwhile)."""
    from qualscan.engine.pipeline import prepare_inputs, run

    inputs = prepare_inputs(root, config)
    if before_run is not None:
        before_run()
    prog, update = _progress()
    try:
        result = run(inputs, config, progress=update)
    finally:
        if prog is not None and prog.live.is_started:
            prog.stop()
    cache = inputs.cache
    if cache is not None:
        print(f"qualscan: cache {cache.hits} hit(s), {cache.misses} miss(es), {cache.rejected} rejected entr(ies) "
              f"in {cache.directory}", file=sys.stderr)
    return result, inputs


def _with_diagnostics(result: Any, diags: Sequence[Any]) -> Any:
    if not diags:
        return result
    from dataclasses import replace

    merged = sorted({*result.diagnostics, *diags}, key=lambda d: (d.file, d.line, d.level.value, d.message))
    return replace(result, diagnostics=tuple(merged))


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _diff_coverage_inputs(
    root: Path, config: Config, args: argparse.Namespace, changed: Any, inputs: Any
) -> tuple[Any, dict[str, Any], list[str], list[Any]]:
    """Coverage by repository path, executable lines of changed Python files, test files, diagnostics
    (the scan's inventory and coverage files are reused: its coverage diagnostics are in the result)."""
    import ast

    from qualscan import gate
    from qualscan.discovery import read_file
    from qualscan.metrics.filefacts import statement_lines
    from qualscan.model import Diagnostic, FileKind

    inventory = inputs.inventory
    files = list(inputs.coverage)
    # coverage data is usually gitignored, so the walk does not see it: look for the usual names
    seen = {name for name, _ in files}
    for name in (".coverage", "coverage.xml", "lcov.info", "cobertura.xml"):
        if name not in seen and (root / name).is_file():
            data = read_file(root, name, max(config.max_file_size, 200_000_000))
            if not isinstance(data, Diagnostic):
                files.append((name, data))
    for extra in args.coverage:
        files.append((str(extra), _read_bytes(extra, "coverage data")))
    py = [f for f in inventory.files if f.kind is FileKind.PYTHON]
    coverage, cov_diags = gate.read_coverage(files, [f.path for f in py])
    statements: dict[str, Any] = {}
    for f in py:
        if f.path in changed.files and not f.is_test:
            data = read_file(root, f.path, config.max_file_size)
            if isinstance(data, Diagnostic):
                continue
            try:
                statements[f.path] = frozenset(statement_lines(ast.parse(data)))
            except (SyntaxError, ValueError, RecursionError):
                statements[f.path] = None  # unparsable: its lines cannot be judged
    return coverage, statements, [f.path for f in py if f.is_test], list(cov_diags)


def _gate_text(verdict: dict[str, Any]) -> str:
    lines = ["", "Quality gate: " + ("PASSED" if verdict["passed"] else "FAILED")]
    if verdict.get("profile"):
        lines.append(f"  profile: {verdict['profile']} ({verdict.get('profile_reason') or ''})")
    if verdict.get("diff"):
        d = verdict["diff"]
        lines.append(f"  diff: {d.get('files')} file(s), {d.get('lines')} line(s) changed since {d.get('base')} "
                     f"(merge base {str(d.get('merge_base', ''))[:12]})")
    if verdict.get("baseline"):
        b = verdict["baseline"]
        lines.append(f"  baseline: {b['entries']} entr(ies) in {b['source']}, {b['fixed']} now fixed")
    for c in verdict["conditions"]:
        mark = {"pass": "ok  ", "fail": "FAIL", "skipped": "skip"}[c["status"]]
        lines.append(f"  [{mark}] {c['id']}: {c['summary']}")
        if c["status"] == "fail":
            for item in c["items"][:20]:
                where = f"{item.get('file')}:{item.get('line')}" if item.get("file") else "-"
                lines.append(f"         {where} {item.get('rule', '')} {item.get('message', '')}".rstrip())
            if len(c["items"]) > 20:
                lines.append(f"         ... and {len(c['items']) - 20} more")
    fixed = verdict.get("fixed") or []
    if fixed:
        lines.append(f"  fixed since the baseline ({len(fixed)}):")
        for e in fixed[:20]:
            lines.append(f"         {e.get('file')}:{e.get('line')} {e.get('rule')} {e.get('message', '')}")
        if len(fixed) > 20:
            lines.append(f"         ... and {len(fixed) - 20} more")
    return "\n".join(lines) + "\n"


def _gate_github(verdict: dict[str, Any]) -> str:
    """Workflow commands for gate items that are not findings (complexity, diff coverage), then the verdict."""
    from qualscan.reporters.github import command

    out = []
    for c in verdict["conditions"]:
        if c["status"] != "fail" or c["id"] in ("new_findings",):
            continue
        for item in c["items"]:
            if c["id"] == "sync_dependency_timeout" and item.get("rule"):
                continue  # already annotated as a finding
            if item.get("file"):
                out.append(command("error", str(item.get("message", "")), file=item["file"], line=item.get("line") or 1,
                                   title=f"qualscan gate: {c['id']}"))
    fixed = verdict.get("fixed") or []
    if fixed:
        shown = ", ".join(f"{e.get('file')}:{e.get('line')} {e.get('rule')}" for e in fixed[:10])
        more = f" and {len(fixed) - 10} more" if len(fixed) > 10 else ""
        out.append(command("notice", f"{len(fixed)} baseline entr(ies) now fixed: {shown}{more}; "
                           "refresh the baseline with `qualscan baseline`", title="qualscan baseline"))
    text = "; ".join(verdict["reasons"]) if verdict["reasons"] else "every condition passed"
    out.append(command("error" if not verdict["passed"] else "notice",
                       f"quality gate {'FAILED' if not verdict['passed'] else 'passed'}: {text}", title="qualscan gate"))
    return "".join(line + "\n" for line in out)


def cmd_check(args: argparse.Namespace) -> int:
    import datetime as _dt

    from qualscan import gate
    from qualscan.discovery import GitError, changed_lines

    root = _root(args.path)
    config = _config(args, root)
    try:
        today = _dt.date.fromisoformat(args.today) if args.today else _dt.date.today()
    except ValueError:
        raise UsageError(f"--today: {args.today!r} is not a date (YYYY-MM-DD)") from None
    try:
        profile, reason = gate.choose_profile(config, args.profile, today)
        config = gate.apply_profile_rules(config, profile)
        policy = gate.resolve_policy(config, profile, reason)
        baseline = gate.load_baseline(_read_bytes(args.baseline, "baseline"), str(args.baseline)) if args.baseline else None
    except gate.GateError as exc:
        raise UsageError(str(exc)) from None
    changed: Any = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        # git diff runs in child processes while this thread walks the tree (issue #8)
        diff_job = pool.submit(changed_lines, root, args.diff_base) if args.diff_base else None

        def wait_for_diff() -> None:
            nonlocal changed
            if diff_job is not None:
                try:
                    changed = diff_job.result()
                except GitError as exc:
                    raise UsageError(str(exc)) from None
            pool.shutdown()  # its thread leaves: the analysis forks (qualscan/parallel.py) from one thread

        result, inputs = _scan_for_gate(root, config, wait_for_diff)
    diags: list[Any] = []
    coverage = None
    statements: dict[str, Any] = {}
    tests: list[str] = []
    wants_cov = policy.base.min_diff_coverage is not None or any(
        s.min_diff_coverage is not None for s in policy.services.values()
    )
    if changed is not None and wants_cov:
        coverage, statements, tests, cov_diags = _diff_coverage_inputs(root, config, args, changed, inputs)
        diags += cov_diags
    verdict = gate.evaluate(
        result,
        policy,
        baseline=baseline,
        changed=changed.files if changed is not None else None,
        diff_info=changed.to_json() if changed is not None else None,
        coverage=coverage,
        statements=statements,
        test_files=tests,
    )
    out = _with_diagnostics(gate.gate_result(result, verdict, all_findings=args.all_findings), diags)
    vj = out.extra["gate"]
    text = render(out, args.format)
    if args.format == "text":
        text += _gate_text(vj)
    elif args.format == "github":
        text += _gate_github(vj)
    _write(text, args.output)
    if args.summary:
        _write(render(out, "md"), args.summary)
    if args.format != "text" or args.output is not None:
        status = "passed" if verdict.passed else "FAILED: " + "; ".join(verdict.reasons)
        print(f"qualscan check: quality gate {status}", file=sys.stderr)
        if verdict.fixed:
            print(f"qualscan check: {len(verdict.fixed)} baseline entr(ies) now fixed; "
                  "refresh the baseline with `qualscan baseline`", file=sys.stderr)
    return EXIT_OK if verdict.passed else EXIT_GATE


def cmd_baseline(args: argparse.Namespace) -> int:
    from qualscan import gate

    root = _root(args.path)
    config = _config(args, root)
    try:
        policies = [gate.resolve_policy(config, name) for name in (None, gate.FREEZE, *config.profiles)]
    except gate.GateError as exc:
        raise UsageError(str(exc)) from None
    result, _ = _scan_for_gate(root, config)
    doc = gate.make_baseline(result, complexity_floor=gate.complexity_floor(policies))
    _write(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", args.output)
    print(f"qualscan baseline: recorded {len(doc['findings'])} finding(s) in {args.output}", file=sys.stderr)
    return EXIT_OK


COMMANDS = {
    "scan": cmd_scan,
    "merge": cmd_merge,
    "rules": cmd_rules,
    "explain": cmd_explain,
    "graph": cmd_graph,
    "fix": cmd_fix,
    "check": cmd_check,
    "baseline": cmd_baseline,
}


# The same setting as the pool workers' (engine/worker.py GC_THRESHOLD): a scan builds millions of
# short-lived objects (decoded cache entries, per-file facts, report records) and few cycles; the
# default gen-0 threshold of 700 makes the cyclic collector rescan them over and over. Measured on a
# one-file Django gate: 2.76 -> 2.28 s user CPU.
GC_THRESHOLD = (50_000, 20, 100)


def run() -> int:
    """The program's entry point (console script and ``python -m qualscan``): tune the GC, then ``main``.

    ``main`` itself leaves the GC alone, so that callers embedding qualscan (tests, IDEs) keep theirs.
    """
    gc.freeze()  # the imported modules: never garbage, never rescanned
    gc.set_threshold(*GC_THRESHOLD)
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except ConfigError as exc:
        _err(f"invalid configuration in {exc.source}:")
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_ERROR
    except RuleLoadError as exc:
        _err(f"cannot load rules: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_ERROR
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - internal errors: one line, exit 2
        if os.environ.get("QUALSCAN_DEBUG"):
            traceback.print_exc()
        _err(f"internal error: {type(exc).__name__}: {exc} (set QUALSCAN_DEBUG=1 for a traceback)")
        return EXIT_ERROR
