"""Suppression comments, expectation marks and fingerprints."""

from __future__ import annotations

from qualscan.engine.fingerprint import fingerprint, normalise_line
from qualscan.engine.suppress import parse_expectations, parse_suppressions


def test_line_suppressions() -> None:
    text = "a = 1  # qualscan: ignore[QS101]\nb = 2  # qualscan: ignore[qs101, QS109]\nc = 3  # qualscan: ignore\nd = 4\n"
    s = parse_suppressions(text)
    assert s.suppressed(1, "QS101") and not s.suppressed(1, "QS109")
    assert s.suppressed(2, "QS101") and s.suppressed(2, "QS109")
    assert s.suppressed(3, "QS999")
    assert not s.suppressed(4, "QS101")


def test_file_suppression_only_near_the_top() -> None:
    assert parse_suppressions("# qualscan: ignore-file\nx = 1\n").suppressed(2, "QS101")
    late = "\n" * 30 + "# qualscan: ignore-file\n"
    assert not parse_suppressions(late).whole_file


def test_yaml_resource_suppression_covers_the_document() -> None:
    text = (
        "# qualscan: ignore[QS201]\n"
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "spec:\n"
        "  replicas: 1\n"
        "---\n"
        "apiVersion: apps/v1\n"
        "kind: Deployment  # qualscan: ignore[QS202]\n"
        "spec:\n"
        "  replicas: 1\n"
    )
    s = parse_suppressions(text, yaml=True)
    assert s.suppressed(5, "QS201") and not s.suppressed(5, "QS202")
    assert s.suppressed(10, "QS202") and not s.suppressed(10, "QS201")


def test_expectations() -> None:
    text = "x = 1  # qualscan: expect[QS101]\ny = 2\nz = 3  # qualscan: expect[QS101, QS108]\n"
    assert parse_expectations(text) == {1: frozenset({"QS101"}), 3: frozenset({"QS101", "QS108"})}


def test_fingerprint_ignores_layout_but_not_content() -> None:
    a = normalise_line("    resp = requests.get(url)   # slow")
    b = normalise_line("resp=requests.get( url )")
    c = normalise_line("resp = requests.get(url, timeout=3)")
    assert a == b != c
    assert fingerprint("QS101", "a.py", a) == fingerprint("QS101", "a.py", b)
    assert fingerprint("QS101", "a.py", a) != fingerprint("QS101", "a.py", c)
    assert fingerprint("QS101", "a.py", a, 0) != fingerprint("QS101", "a.py", a, 1)
    assert fingerprint("QS101", "a.py", a) != fingerprint("QS101", "b.py", a)
