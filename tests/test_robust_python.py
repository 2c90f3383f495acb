"""Issue #9, bad Python input: every kind becomes one diagnostic naming the file and the reason, and
the good file beside it is still analysed (its ``requests.get(u)`` with no timeout is QS101 on line 4).

The corpus is built here, in temporary directories, and scanned from disk through the real pipeline
(discovery -> read -> decode/parse -> metrics/graph/rules -> JSON report validated by the schema).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest

from qualscan.config import Config
from qualscan.discovery import discover, read_file
from qualscan.engine.pipeline import ScanInputs, run, scan_path
from qualscan.model import Diagnostic, ScanResult
from qualscan.reporters import json_report

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "qualscan" / "schema" / "report.schema.json").read_text())
GOOD = "import requests\n\n\ndef fetch(u):\n    return requests.get(u)\n"
GOOD_PATH = "services/cart/app/client.py"
GOOD_FINDING = ("QS101", GOOD_PATH, 5)
BAD_DIR = "services/cart/app"
CONFIG = Config(use_cache=False, jobs=1)


def build(root: Path, files: dict[str, bytes | str]) -> None:
    base = {"services/cart/pyproject.toml": "[project]\nname = 'cart'\n", GOOD_PATH: GOOD}
    for rel, content in {**base, **files}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            p.write_text(content, encoding="utf-8")
        else:
            p.write_bytes(content)


def check_report(result: ScanResult) -> dict[str, object]:
    data = json.loads(json_report.render(result))
    jsonschema.validate(data, SCHEMA)
    return data


def diags_for(result: ScanResult, rel: str) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.file == rel]


def assert_good_file_analysed(result: ScanResult) -> None:
    found = {(f.rule, f.file, f.line) for f in result.findings if f.file == GOOD_PATH}
    assert found == {GOOD_FINDING}


# (file name, content, expected line, reason substring, level)
CASES: list[tuple[str, bytes, int, str, str]] = [
    ("syntax_error.py", b"x = 1\ndef total(items:\n    return sum(items)\n", 2, "syntax error", "error"),
    ("py2_print.py", b"import os\nprint 'hello %s' % os.name\n", 2, "Python 2 syntax", "error"),
    ("py2_exec.py", b"x = 1\nexec 'y = 2'\n", 2, "Python 2 syntax", "error"),
    # ``except A, e:`` is Python 2 *and* PEP 758 (3.14) syntax: reported as newer syntax on older interpreters
    ("py2_or_pep758_except.py", b"try:\n    pass\nexcept ValueError, e:\n    pass\n", 3, "PEP 758", "warning"),
    ("pep695_alias.py", b"type Money = int\n", 1, "PEP 695 type alias", "warning"),
    ("pep695_generic.py", b"def first[T](xs: list[T]) -> T:\n    return xs[0]\n", 1, "PEP 695 generic function", "warning"),
    ("pep695_class.py", b"class Box[T]:\n    item: T\n", 1, "PEP 695 generic class", "warning"),
    ("pep750_tstring.py", b"name = 'x'\ngreeting = t'hello {name}'\n", 2, "PEP 750 template string", "warning"),
    ("latin1_no_coding.py", "NAME = '\u00e9l\u00e8ve'\n".encode("latin-1"), 1, "not valid UTF-8", "error"),
    ("latin1_late_error.py", b"a = 1\nb = 2\nNAME = '\xe9'\n", 3, "not valid utf-8", "error"),
    ("unknown_coding.py", b"# -*- coding: klingon -*-\nx = 1\n", 1, "cannot decode", "error"),
    ("punycode_coding.py", b"# -*- coding: punycode -*-\nx = 1\n", 1, "cannot decode as punycode", "error"),
    ("undefined_coding.py", b"# -*- coding: undefined -*-\nx = 1\n", 1, "cannot decode as undefined", "error"),
    ("zlib_coding.py", b"# -*- coding: zlib -*-\nx = 1\n", 1, "cannot decode", "error"),
    ("bom_and_latin1_coding.py", b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n", 1, "cannot decode", "error"),
    ("nul_bytes.py", b"x = 1\n\x00y = 2\n", 1, "NUL bytes", "error"),
    ("random_binary.py", bytes(range(256)) * 16, 1, "binary content", "error"),
    ("deep_parens.py", b"x = " + b"(" * 500 + b"1" + b")" * 500 + b"\n", 1, "too many nested parentheses", "error"),
    ("deep_brackets.py", b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", 1, "too many nested parentheses", "error"),
    ("deep_binop.py", b"x = 1" + b" + 1" * 100_000 + b"\n", 1, "nested too deeply", "error"),
    ("deep_unary.py", b"x = " + b"-" * 100_000 + b"1\n", 1, "nested too deeply", "error"),
    ("deep_indent.py", b"".join(b"    " * i + b"if x:\n" for i in range(120)) + b"    " * 120 + b"pass\n", 101, "indentation", "error"),
]


@pytest.mark.parametrize(("name", "content", "line", "reason", "level"), CASES, ids=[c[0] for c in CASES])
def test_bad_python_file_is_one_diagnostic_and_the_rest_is_analysed(
    tmp_path: Path, name: str, content: bytes, line: int, reason: str, level: str
) -> None:
    rel = f"{BAD_DIR}/{name}"
    build(tmp_path, {rel: content})
    result = scan_path(tmp_path, CONFIG)
    diags = diags_for(result, rel)
    assert len(diags) == 1, diags
    assert diags[0].line == line
    assert reason.lower() in diags[0].message.lower()
    assert diags[0].level.value == level
    assert not [f for f in result.findings if f.file == rel]
    assert_good_file_analysed(result)
    check_report(result)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.py", b"\xef\xbb\xbfimport requests\n\n\ndef f(u):\n    return requests.get(u)\n"),
        ("latin1_declared.py", b"# -*- coding: latin-1 -*-\nimport requests\nNAME = '\xe9'\n\ndef f(u):\n    return requests.get(u)\n"),
        ("crlf.py", b"import requests\r\n\r\n\r\ndef f(u):\r\n    return requests.get(u)\r\n"),
        ("form_feed.py", b"import requests\n\x0c\n\ndef f(u):\n    return requests.get(u)\n"),
    ],
)
def test_odd_but_valid_encodings_are_analysed_normally(tmp_path: Path, name: str, content: bytes) -> None:
    rel = f"{BAD_DIR}/{name}"
    build(tmp_path, {rel: content})
    result = scan_path(tmp_path, CONFIG)
    assert diags_for(result, rel) == []
    assert {(f.rule, f.line) for f in result.findings if f.file == rel} == {("QS101", 5 if name != "latin1_declared.py" else 6)}
    assert_good_file_analysed(result)


def test_newer_syntax_is_a_warning_not_an_error_and_names_the_interpreter(tmp_path: Path) -> None:
    """Decision (issue #9): files only a newer Python can parse are reported, not analysed with libcst."""
    rel = f"{BAD_DIR}/aliases.py"
    build(tmp_path, {rel: "import requests\n\ntype Url = str\n\nrequests.get('http://x')\n"})
    result = scan_path(tmp_path, CONFIG)
    if sys.version_info >= (3, 12):
        assert diags_for(result, rel) == []
        return
    (diag,) = diags_for(result, rel)
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert diag.line == 3 and f"newer than Python {ver}" in diag.message and "rules skipped" in diag.message
    assert_good_file_analysed(result)


def test_nesting_that_parses_but_exhausts_the_analyses_is_contained(tmp_path: Path) -> None:
    """``ast`` accepts ~1,200 chained attributes, the libcst-based rules hit the recursion limit:
    each failing analysis becomes a diagnostic on the file, the scan completes."""
    rel = f"{BAD_DIR}/chain.py"
    build(tmp_path, {rel: "import requests\nx = requests" + ".a" * 1200 + "()\n"})
    result = scan_path(tmp_path, CONFIG)
    diags = diags_for(result, rel)
    assert diags, "expected the recursion failure to be reported"
    assert all(any(w in d.message for w in ("nesting too deep", "nested too deeply", "nested deeper than")) for d in diags), diags
    # libcst's parser is super-linear in nesting: such files skip the libcst rules instead of parsing for seconds
    assert [d.message for d in diags if "libcst-based rules skipped" in d.message] == [
        "expressions nested deeper than 300 levels: libcst-based rules skipped"
    ]
    assert_good_file_analysed(result)
    check_report(result)


def test_file_over_the_size_limit_is_skipped_with_a_diagnostic(tmp_path: Path) -> None:
    rel = f"{BAD_DIR}/generated.py"
    build(tmp_path, {rel: "import requests\n" + "requests.get(u)\n" * 5000})
    result = scan_path(tmp_path, Config(use_cache=False, jobs=1, max_file_size=10_000))
    (diag,) = diags_for(result, rel)
    assert "over max_file_size (10000)" in diag.message and "skipped" in diag.message
    assert not [f for f in result.findings if f.file == rel]
    assert_good_file_analysed(result)


def test_max_file_size_comes_from_the_configuration_file(tmp_path: Path) -> None:
    rel = f"{BAD_DIR}/generated.py"
    build(tmp_path, {rel: "x = 1\n" * 3000, "qualscan.toml": "max_file_size = 4096\n"})
    from qualscan.config import load_config

    result = scan_path(tmp_path, load_config(tmp_path).with_overrides(use_cache=False, jobs=1))
    (diag,) = diags_for(result, rel)
    assert "over max_file_size (4096)" in diag.message
    assert_good_file_analysed(result)


def _run_after(tmp_path: Path, change: object) -> ScanResult:
    """Discover, then change the tree (as a concurrent process would), then run the real pipeline."""
    inventory = discover(tmp_path, CONFIG)
    assert callable(change)
    change()
    inputs = ScanInputs(
        inventory=inventory,
        read=lambda rel: read_file(tmp_path, rel, CONFIG.max_file_size),
        root_name=tmp_path.name,
    )
    return run(inputs, CONFIG)


def test_file_that_vanishes_during_the_scan(tmp_path: Path) -> None:
    rel = f"{BAD_DIR}/temp.py"
    build(tmp_path, {rel: "x = 1\n"})
    result = _run_after(tmp_path, lambda: (tmp_path / rel).unlink())
    (diag,) = diags_for(result, rel)
    assert "vanished during the scan" in diag.message
    assert_good_file_analysed(result)
    check_report(result)


def test_file_replaced_by_a_directory_during_the_scan(tmp_path: Path) -> None:
    rel = f"{BAD_DIR}/swap.py"
    build(tmp_path, {rel: "x = 1\n"})

    def swap() -> None:
        (tmp_path / rel).unlink()
        (tmp_path / rel).mkdir()

    result = _run_after(tmp_path, swap)
    (diag,) = diags_for(result, rel)
    assert "no longer a regular file" in diag.message
    assert_good_file_analysed(result)


def test_file_replaced_by_a_symlink_to_outside_during_the_scan(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    secret = tmp_path / "outside.py"
    secret.write_text("import requests\nrequests.get('http://secret')\n")
    rel = f"{BAD_DIR}/swap.py"
    build(root, {rel: "x = 1\n"})

    def swap() -> None:
        (root / rel).unlink()
        os.symlink(secret, root / rel)

    inventory = discover(root, CONFIG)
    swap()
    result = run(
        ScanInputs(inventory=inventory, read=lambda r: read_file(root, r, CONFIG.max_file_size), root_name="repo"),
        CONFIG,
    )
    (diag,) = diags_for(result, rel)
    assert "no longer a regular file" in diag.message
    assert not [f for f in result.findings if f.file == rel]


def test_file_that_grows_over_the_limit_during_the_scan(tmp_path: Path) -> None:
    rel = f"{BAD_DIR}/log.py"
    build(tmp_path, {rel: "x = 1\n"})
    limit = 4096
    config = Config(use_cache=False, jobs=1, max_file_size=limit)
    inventory = discover(tmp_path, config)
    (tmp_path / rel).write_text("x = 1\n" * 2000)
    result = run(
        ScanInputs(inventory=inventory, read=lambda r: read_file(tmp_path, r, limit), root_name="r"), config
    )
    (diag,) = diags_for(result, rel)
    assert "max_file_size" in diag.message
    assert_good_file_analysed(result)


def test_every_bad_python_kind_at_once_in_a_process_pool(tmp_path: Path) -> None:
    """The whole corpus in one tree, scanned with two worker processes (the pool path), via the CLI."""
    import subprocess

    files: dict[str, bytes | str] = {f"{BAD_DIR}/{name}": content for name, content, *_ in CASES}
    for i in range(30):  # enough files for the pool to start
        files[f"{BAD_DIR}/filler_{i}.py"] = f"VALUE_{i} = {i}\n"
    build(tmp_path, files)
    proc = subprocess.run(
        [sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", "json", "--no-cache", "-j", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    by_file: dict[str, list[str]] = {}
    for d in data["diagnostics"]:
        by_file.setdefault(d["file"], []).append(d["message"])
    for name, _, _, reason, _ in CASES:
        messages = by_file.get(f"{BAD_DIR}/{name}", [])
        assert len(messages) == 1 and reason.lower() in messages[0].lower(), (name, messages)
    assert [(f["rule"], f["file"], f["line"]) for f in data["findings"] if f["file"] == GOOD_PATH] == [GOOD_FINDING]


def test_lone_surrogates_from_string_literals_never_break_a_report(tmp_path: Path) -> None:
    """``"\\udcff"`` in a literal is a lone surrogate once parsed; it reaches messages and details
    (the upstream of a call) and must come out as U+FFFD, in valid UTF-8, for every format."""
    import subprocess

    rel = f"{BAD_DIR}/surrogates.py"
    build(tmp_path, {rel: 'import requests\n\n\ndef f():\n    return requests.get("http://pay\\udcffment:8080/\\ud800")\n'})
    for fmt in ("json", "sarif", "html", "md", "github", "junit", "text"):
        out = tmp_path / f"report.{fmt}"
        proc = subprocess.run(
            [sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", fmt, "--no-cache", "-o", str(out)],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        out.read_bytes().decode("utf-8")  # strict: no surrogates, no raw 0xff
    proc = subprocess.run([sys.executable, "-m", "qualscan", "scan", str(tmp_path), "-f", "json", "--no-cache"],
                          capture_output=True, timeout=300)
    data = json.loads(proc.stdout.decode("utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert (("QS101", rel, 5)) in {(f["rule"], f["file"], f["line"]) for f in data["findings"]}


def test_diagnostics_alone_never_fail_the_gate(tmp_path: Path) -> None:
    """Every bad-input kind at once and no finding: ``check`` passes (exit 0), ``scan`` exits 0."""
    import subprocess

    files: dict[str, bytes | str] = {f"{BAD_DIR}/{name}": content for name, content, *_ in CASES}
    files[GOOD_PATH] = "import requests\n\n\ndef fetch(u):\n    return requests.get(u, timeout=2)\n"
    build(tmp_path, files)
    for command in ("scan", "check"):
        proc = subprocess.run([sys.executable, "-m", "qualscan", command, str(tmp_path), "-f", "json", "--no-cache"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (command, proc.stderr)
        data = json.loads(proc.stdout)
        assert len([d for d in data["diagnostics"] if d["level"] in ("error", "warning")]) >= len(CASES)


def test_every_codec_python_knows_as_a_coding_declaration() -> None:
    """A coding cookie can name any codec: text encodings, bytes-to-bytes transforms (zlib, base64),
    str-to-str ones (rot13) and codecs that raise plain ``UnicodeError`` (punycode, undefined)."""
    import encodings
    import pkgutil

    from qualscan.parsers import python as pyparser

    names = sorted({m.name for m in pkgutil.iter_modules(encodings.__path__)} - {"aliases"})
    bodies = [b"x = 1\n", b"x = '\\xff'\n", b"\xff\xfe\x80 x\n", b"\\u0069mport os\n", b"x = '\\'\n", b"+AAo-x\n"]
    for name in names:
        for body in bodies:
            data = b"# -*- coding: " + name.encode() + b" -*-\n" + body
            text, diag = pyparser.decode("x.py", data)
            assert (text is None) != (diag is None), name
            if text is not None:
                tree, diag = pyparser.parse("x.py", text)
                assert (tree is None) != (diag is None), name
