"""``PUT /v1/config/{kind}`` stores a valid config as the tenant's next version, in force at
once; the same content again stores nothing; ``DELETE`` returns to the file default and is
recorded too. The rows are the audit record."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import time

import yaml

from orchestrator.domain import Channel

from .conftest import YAML, key_prefix, shipped, stored_rows, strategy_text

CALL_CAP = {
    "id": "us.reg_f.call_frequency_7d",
    "citation": "12 CFR 1006.14(b)(2)(i)(A)",
    "window": "7d",
    "applies_to": ["call"],
    "counts": {
        "channels": ["call"],
        "kinds": ["reserved", "attempt", "conversation", "limited_content"],
    },
}


def due_today_at(config, tenant: str) -> set[time]:
    return {step.at for _, step in config.strategy_for(tenant).steps() if step.id == "due_today"}


def test_a_valid_strategy_becomes_the_next_version_and_applies_at_once(
    ops, store, config_source, clock
):
    before = config_source.get().version
    text = strategy_text("13:30")

    response = ops.put("/v1/config/strategy", content=text, headers=YAML)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["changed"] is True
    assert body["in_force"] is True
    assert body["source"] == "tenant"
    assert body["config_version"] == config_source.get().version != before
    [row] = stored_rows(store)
    assert (row.scope, row.kind, row.version) == ("acme", "strategy", 1)
    assert row.content == text
    assert row.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert row.created_by == key_prefix(ops)
    assert row.created_at == clock.now()
    config = config_source.get()
    assert due_today_at(config, "acme") == {time(13, 30)}
    assert due_today_at(config, "someone-else") == {time(10, 0)}


def test_the_same_content_again_stores_nothing(ops, store):
    text = strategy_text()
    ops.put("/v1/config/strategy", content=text, headers=YAML)

    again = ops.put("/v1/config/strategy", content=text, headers=YAML)

    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["version"] == 1
    assert len(stored_rows(store)) == 1


def test_json_is_accepted_and_kept_as_the_equivalent_yaml(ops, store, config_source):
    channels = shipped("channels.yaml")
    sms = channels["channels"]["sms"]["providers"]
    sms.reverse()

    first = ops.put("/v1/config/channels", json=channels)
    again = ops.put("/v1/config/channels", json=channels)

    assert first.status_code == 200, first.text
    assert again.json()["changed"] is False
    [row] = stored_rows(store)
    assert yaml.safe_load(row.content) == channels
    providers = config_source.get().channels_for("acme").providers(Channel.SMS)
    assert [p.adapter for p in providers] == ["aliyun_sms", "twilio_sms"]


def test_a_tightening_rule_overlay_applies_to_its_tenant_only(ops, config_source):
    overlay = {
        "id": "acme-tighter",
        "extends": "us-reg-f",
        "caps": [{**CALL_CAP, "limit": 3}],
    }

    response = ops.put("/v1/config/rules", json=overlay)

    assert response.status_code == 200, response.text
    config = config_source.get()
    limits = {
        tenant: {c.id: c.limit for c in config.pack_for("US-NY", tenant).caps}
        for tenant in ("acme", "someone-else")
    }
    assert limits["acme"]["us.reg_f.call_frequency_7d"] == 3
    assert limits["someone-else"]["us.reg_f.call_frequency_7d"] == 7


def test_delete_returns_to_the_file_default_and_is_recorded(ops, store, config_source):
    ops.put("/v1/config/strategy", content=strategy_text(), headers=YAML)

    deleted = ops.delete("/v1/config/strategy")
    again = ops.delete("/v1/config/strategy")

    assert deleted.status_code == 200
    assert deleted.json()["version"] == 2
    assert deleted.json()["file_default"] is True
    assert deleted.json()["source"] == "file"
    assert again.json()["changed"] is False
    rows = stored_rows(store)
    assert [(r.version, r.content, r.created_by) for r in rows][1] == (2, "", key_prefix(ops))
    assert len(rows) == 2
    assert due_today_at(config_source.get(), "acme") == {time(10, 0)}


def test_delete_without_a_version_of_its_own_changes_nothing(ops, store):
    response = ops.delete("/v1/config/channels")

    assert response.status_code == 200
    assert response.json()["changed"] is False
    assert response.json()["version"] is None
    assert stored_rows(store) == []


def test_rolling_back_stores_the_old_content_as_a_new_version(ops, config_source):
    ops.put("/v1/config/strategy", content=strategy_text("13:30"), headers=YAML)
    ops.put("/v1/config/strategy", content=strategy_text("14:00"), headers=YAML)
    old = ops.get("/v1/config/strategy/versions/1", headers={"Accept": "application/yaml"})

    rolled = ops.put("/v1/config/strategy", content=old.text, headers=YAML)

    assert rolled.json()["version"] == 3
    assert rolled.json()["sha256"] == old.headers["ETag"].strip('"')
    assert due_today_at(config_source.get(), "acme") == {time(13, 30)}


def test_changes_sent_at_once_become_consecutive_versions(ops, store):
    times = ["12:00", "12:30", "13:00", "13:30", "14:00", "14:30"]

    def change(at: str) -> int:
        return ops.put("/v1/config/strategy", content=strategy_text(at), headers=YAML).status_code

    with ThreadPoolExecutor(max_workers=len(times)) as pool:
        statuses = list(pool.map(change, times))

    assert statuses == [200] * len(times)
    rows = stored_rows(store)
    assert sorted(r.version for r in rows) == list(range(1, len(times) + 1))
    assert len({r.sha256 for r in rows}) == len(times)
