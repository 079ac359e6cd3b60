"""A JSON config nested deeper than the 64 levels a YAML one may be is refused as a whole,
with the path where it goes too deep, before it is turned into YAML (dumping 500-1023
levels used to exhaust Python's recursion: a 500). Past orjson's own limit it is not JSON."""

from __future__ import annotations

import pytest

from tests.factories import table_counts

JSON = {"Content-Type": "application/json"}


def nested(levels: int) -> str:
    """A JSON object whose ``x`` holds lists nested so the document has ``levels`` levels."""
    inner = levels - 1
    return '{"x": ' + "[" * inner + "]" * inner + "}"


@pytest.mark.parametrize("levels", [65, 500, 1023])
def test_a_json_config_nested_too_deeply_is_refused_with_its_path(
    ops, store, config_source, levels
):
    running = config_source.get()
    counts = table_counts(store)

    response = ops.put("/v1/config/strategy", content=nested(levels), headers=JSON)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert "nothing was stored and the running version stays" in error["message"]
    [problem] = error["problems"]
    assert problem["field"] == "x" + "[0]" * 63
    assert "nested deeper than 64 levels" in problem["message"]
    assert table_counts(store) == counts
    assert config_source.get() is running


def test_64_levels_reach_the_config_checks(ops):
    response = ops.put("/v1/config/strategy", content=nested(64), headers=JSON)

    assert response.status_code == 422, response.text
    assert "nested deeper" not in response.text


def test_nesting_past_what_json_parsers_allow_is_not_json(ops, store):
    counts = table_counts(store)

    response = ops.put("/v1/config/strategy", content=nested(5000), headers=JSON)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert table_counts(store) == counts
