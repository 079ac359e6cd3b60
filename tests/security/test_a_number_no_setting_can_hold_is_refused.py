"""A tenant's config holding a value no setting can mean — a 5,000-digit integer, a date
that does not exist — is refused as a whole with where it is (422), never a 500 from deep
inside the YAML reader, and nothing is stored."""

from __future__ import annotations

import pytest

from tests.config.conftest import YAML
from tests.factories import table_counts

CASES = {
    "a 5,000-digit integer": (
        "name: acme\ncatch_up_days: " + "9" * 5000 + "\n",
        "line 2, column 16",
        "a number of 5000 digits",
    ),
    "a negative one": (
        "name: acme\ncatch_up_days: -" + "9" * 5000 + "\n",
        "line 2, column 16",
        "a number of 5000 digits",
    ),
    "a tagged one": (
        'name: acme\ncatch_up_days: !!int "' + "9" * 5000 + '"\n',
        "line 2, column 16",
        "a number of 5000 digits",
    ),
    "a huge hexadecimal one": (
        "name: acme\ncatch_up_days: 0x" + "f" * 5000 + "\n",
        "line 2, column 16",
        "a number of 5000 digits",
    ),
    "a date that does not exist": (
        "name: acme\nsegments:\n  - since: 2026-13-45\n",
        "line 3, column 12",
        "month must be in 1..12",
    ),
}


@pytest.mark.parametrize(("content", "where", "words"), CASES.values(), ids=CASES.keys())
def test_a_value_no_setting_can_hold_is_refused_with_where_it_is(
    ops, store, config_source, content, where, words
):
    running = config_source.get()
    counts = table_counts(store)

    response = ops.put("/v1/config/strategy", content=content, headers=YAML)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert any(p["field"] == where and words in p["message"] for p in error["problems"]), error
    assert table_counts(store) == counts
    assert config_source.get() is running


def test_a_5000_digit_integer_in_json_is_refused_with_where_it_is(ops, store):
    counts = table_counts(store)

    response = ops.put(
        "/v1/config/strategy",
        content='{"name": "acme", "catch_up_days": ' + "9" * 5000 + "}",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert "line 1 column 35" in error["message"]
    assert table_counts(store) == counts
