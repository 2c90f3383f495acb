"""The JSON report's record encoder (one C encoder made once, issue #8) writes exactly what
``json.dumps(sort_keys=True, ensure_ascii=False, separators=(", ", ": "))`` writes, and fails where
it fails."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qualscan.reporters import json_report

VALUES: list[Any] = [
    0, -1, 10**30, -0.0, 1.5, 1e300, 1.0000000001, float("nan"), float("inf"), float("-inf"),
    None, True, False, "", "x\u00e9\"\n\t\\\u2028", "\udcff lone surrogate", [], {}, (1, "a"),
    {"b": 1, "a": [{"z": None, "y": [1.25, "s"]}], "c": (1, 2)},
    {1: "int keys", 2: 2}, {1.5: "float keys", 2.5: 2}, {"nested": {"deep": {"deeper": [[[]]]}}},
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_same_text_as_json_dumps(value: Any) -> None:
    assert json_report._leaf(value) == json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


@pytest.mark.parametrize("value", [{1: "a", "s": 2}, {"x": object()}, {(1, 2): 3}])
def test_same_failures_as_json_dumps(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, sort_keys=True)
    with pytest.raises(TypeError):
        json_report._leaf(value)
