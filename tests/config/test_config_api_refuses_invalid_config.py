"""An invalid config is refused as a whole (invariant 7): 422 with every problem's path and
message, nothing stored, the running version unchanged."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tests.factories import table_counts

from .conftest import YAML, as_yaml, shipped, strategy_text


def strategy(change) -> str:
    data = yaml.safe_load(strategy_text())
    change(data)
    return as_yaml(data)


def channels(change) -> str:
    data = copy.deepcopy(shipped("channels.yaml"))
    change(data)
    return as_yaml(data)


def twilio(data: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = data["channels"]["sms"]["providers"][0]["settings"]
    return settings


CALL_CAP = {
    "id": "us.reg_f.call_frequency_7d",
    "citation": "12 CFR 1006.14(b)(2)(i)(A)",
    "window": "7d",
    "applies_to": ["call"],
    "counts": {"channels": ["call"], "kinds": ["reserved", "attempt", "conversation"]},
}
SMS_0 = "channels.sms.providers[0]"

CASES = {
    "malformed yaml": (
        "strategy",
        "name: acme\nsegments:\n  - id: x\n    steps: [\n",
        "line 5, column 1",
        "not valid YAML",
    ),
    "not a mapping": ("strategy", "- one\n- two\n", "", "must be a mapping"),
    "yaml aliases": (
        "strategy",
        "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
        "line 2, column 8",
        "aliases (*name) are not accepted",
    ),
    "nested too deeply": (
        "strategy",
        "x: " + "[" * 100_000 + "]" * 100_000,
        "line 1, column 67",
        "nested deeper than 64 levels",
    ),
    "unknown field": (
        "strategy",
        strategy(lambda d: d.update(colour="blue")),
        "colour",
        "Extra inputs are not permitted",
    ),
    "wrong type": (
        "strategy",
        strategy(lambda d: d.update(catch_up_days="soon")),
        "catch_up_days",
        "valid integer",
    ),
    "missing template": (
        "strategy",
        strategy(lambda d: d["segments"][1]["steps"][1].update(template="no_such_notice")),
        "segments[1].steps[1].template",
        "missing: no sms template 'no_such_notice'",
    ),
    "unknown adapter": (
        "channels",
        channels(lambda d: d["channels"]["sms"]["providers"][0].update(adapter="carrier_pigeon")),
        f"{SMS_0}.adapter",
        "no adapter named 'carrier_pigeon'",
    ),
    "adapter for another channel": (
        "channels",
        channels(lambda d: d["channels"]["sms"]["providers"][0].update(adapter="sendgrid_email")),
        f"{SMS_0}.adapter",
        "serves email, not sms",
    ),
    "misspelt adapter setting": (
        "channels",
        channels(lambda d: twilio(d).update(from_numbr="+15005550006")),
        f"{SMS_0}.settings.from_numbr",
        "Extra inputs are not permitted",
    ),
    "wrong rate limit type": (
        "channels",
        channels(
            lambda d: d["channels"]["sms"]["providers"][0].update(rate_limit={"per_second": "fast"})
        ),
        f"{SMS_0}.rate_limit.per_second",
        "valid number",
    ),
    "a credential pasted in": (
        "channels",
        channels(lambda d: twilio(d).update(auth_token_env="9f8e7d6c5b4a39281706f5e4d3c2b1a0")),
        f"{SMS_0}.settings.auth_token_env",
        "must name an environment variable",
    ),
    "a platform credential sent elsewhere": (
        "channels",
        channels(lambda d: twilio(d).update(base_url="https://collector.example/twilio")),
        f"{SMS_0}.settings.auth_token_env",
        "TWILIO_AUTH_TOKEN is a platform credential",
    ),
    "a platform variable read": (
        "channels",
        channels(lambda d: twilio(d).update(from_number="${DATABASE_URL}")),
        f"{SMS_0}.settings.from_number",
        "${DATABASE_URL}: a tenant's channel config may only read",
    ),
    "a timeout that is no number": (
        "channels",
        channels(lambda d: twilio(d).update(timeout_seconds="ten")),
        f"{SMS_0}.settings.timeout_seconds",
        "valid number",
    ),
    "a loosening overlay": (
        "rules",
        as_yaml({"id": "acme", "extends": "us-reg-f", "caps": [{**CALL_CAP, "limit": 10}]}),
        "caps[0]",
        "us.reg_f.call_frequency_7d loosens a legal limit (12 CFR 1006.14(b)(2)(i)(A))",
    ),
    "disabling a legal rule": (
        "rules",
        as_yaml({"id": "acme", "disable": ["us.reg_f.call_after_conversation_7d"]}),
        "disable[0]",
        "us.reg_f.call_after_conversation_7d is law",
    ),
    "an overlay of an unknown pack": (
        "rules",
        as_yaml({"id": "acme", "extends": "atlantis"}),
        "extends",
        "unknown pack 'atlantis'",
    ),
}


# Validation does not depend on the database: the cases run on SQLite, and storing nothing
# is shown on both stores below.
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("kind", "content", "path", "words"), CASES.values(), ids=CASES.keys())
def test_an_invalid_config_is_refused_with_its_path_and_nothing_changes(
    ops, store, config_source, kind, content, path, words
):
    running = config_source.get()
    counts = table_counts(store)

    response = ops.put(f"/v1/config/{kind}", content=content, headers=YAML)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert "nothing was stored and the running version stays" in error["message"]
    assert any(p["field"] == path and words in p["message"] for p in error["problems"]), error
    assert table_counts(store) == counts
    assert config_source.get() is running
    assert ops.get("/v1/config").json()["kinds"][kind]["source"] == "file"


def test_a_refused_change_stores_nothing_on_either_store(ops, store, config_source):
    ops.put("/v1/config/strategy", content=strategy_text("13:30"), headers=YAML)
    running = config_source.get()
    counts = table_counts(store)
    kind, content, _, _ = CASES["missing template"]

    response = ops.put(f"/v1/config/{kind}", content=content, headers=YAML)

    assert response.status_code == 422
    assert table_counts(store) == counts
    assert config_source.get() is running
    assert ops.get("/v1/config").json()["kinds"]["strategy"]["version"] == 1


def test_every_problem_is_reported_at_once(ops):
    def two_mistakes(d):
        d.update(catch_up_days="soon")
        d["segments"][0]["steps"][0]["channel"] = "fax"

    response = ops.put("/v1/config/strategy", content=strategy(two_mistakes), headers=YAML)

    fields = {p["field"] for p in response.json()["error"]["problems"]}
    assert {"catch_up_days", "segments[0].steps[0].channel"} <= fields


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"content": b"", "headers": YAML}, 400, "empty_body"),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        (
            {"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        ({"content": b"name: \xff\xfe", "headers": YAML}, 400, "invalid_encoding"),
        ({"content": b"x: " + b"y" * (1024 * 1024), "headers": YAML}, 413, "payload_too_large"),
    ],
    ids=["empty", "malformed json", "json not an object", "not utf-8", "too large"],
)
def test_a_body_that_is_not_a_config_is_refused(ops, store, request_kwargs, status, code):
    counts = table_counts(store)

    response = ops.put("/v1/config/strategy", **request_kwargs)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert table_counts(store) == counts


def test_an_unknown_kind_is_refused(ops):
    response = ops.put("/v1/config/widgets", content="x: 1", headers=YAML)

    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "kind"
