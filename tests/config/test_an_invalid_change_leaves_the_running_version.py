"""An invalid file edit, or an invalid version stored behind the API's back, is refused as a
whole when a running process notices it: the version in force stays, ``last_error`` says
why (and ``GET /v1/config`` shows it), and the next valid change loads normally."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.configuration.source import ConfigSource
from orchestrator.configuration.versions import Kind, append
from orchestrator.domain import Channel
from orchestrator.messages import sample_context

from .conftest import YAML, strategy_text

INTERVAL = timedelta(seconds=5)


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_broken_file_edit_keeps_the_running_version(config_copy, clock):
    config_dir, templates_dir = config_copy
    source = ConfigSource(config_dir, templates_dir, None, now=clock.now)
    running = source.get()
    strategy_file = config_dir / "strategies" / "default.yaml"

    edit(strategy_file, "catch_up_days: 1", "catch_up_days: soon")
    clock.advance(INTERVAL)

    assert source.get() is running
    error = source.last_error
    assert error is not None
    assert error.source == str(strategy_file)
    assert [p.path for p in error.problems] == ["catch_up_days"]
    assert source.refused_at == clock.now()

    edit(strategy_file, "catch_up_days: soon", "catch_up_days: 2")
    clock.advance(INTERVAL)

    assert source.get().strategy_for("acme").catch_up_days == 2
    assert source.last_error is None


def test_a_template_broken_on_disk_is_refused_at_the_step_that_uses_it(config_copy, clock):
    config_dir, templates_dir = config_copy
    source = ConfigSource(config_dir, templates_dir, None, now=clock.now)
    running = source.get()

    (templates_dir / "en-US" / "sms" / "due_today.j2").write_text(
        "{% block body %}Pay {{ amount_owed }} now.{% endblock %}"
    )
    clock.advance(INTERVAL)

    assert source.get() is running
    error = source.last_error
    assert error is not None
    assert error.source.endswith("strategies/default.yaml")
    assert "segments[1].steps[1].template" in {p.path for p in error.problems}
    assert any("amount_owed" in p.message for p in error.problems)
    # What is in force renders what was checked, not the broken file on disk.
    message = running.templates.render("due_today", Channel.SMS, "en-US", sample_context())
    assert "amount_owed" not in message.body


def test_an_invalid_stored_version_keeps_the_running_version(ops, store, clock, config_source):
    running = config_source.get()
    with store.transaction() as conn:  # bypassing the API's validation, e.g. by hand in SQL
        append(
            conn,
            "acme",
            Kind.CHANNELS,
            "channels: {sms: {providers: [{adapter: carrier_pigeon, settings: {}}]}}\n",
            created_by="sql",
            now=clock.now(),
            after=None,
        )
    clock.advance(INTERVAL)

    assert config_source.get() is running
    body = ops.get("/v1/config").json()
    assert body["config_version"] == running.version
    assert (
        body["kinds"]["channels"] | {"source": "file", "version": None} == body["kinds"]["channels"]
    )
    assert body["kinds"]["channels"]["stored_version"] == 1
    assert body["kinds"]["channels"]["pending"] is True
    assert body["last_error"]["refused_at"] == clock.now().isoformat()
    assert {
        "field": "acme channels v1: channels.sms.providers[0].adapter",
        "message": body["last_error"]["problems"][0]["message"],
    } in body["last_error"]["problems"]
    assert "no adapter named 'carrier_pigeon'" in body["last_error"]["problems"][0]["message"]


def test_a_valid_change_after_a_refused_one_loads_and_clears_the_error(
    ops, store, clock, config_source
):
    with store.transaction() as conn:
        append(
            conn,
            "acme",
            Kind.STRATEGY,
            "name: acme\nsegments: []\n",
            created_by="sql",
            now=clock.now(),
            after=None,
        )
    clock.advance(INTERVAL)
    config_source.get()
    assert config_source.last_error is not None

    fixed = ops.put("/v1/config/strategy", content=strategy_text(), headers=YAML)

    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["version"] == 2
    assert fixed.json()["in_force"] is True
    assert config_source.last_error is None
    assert ops.get("/v1/config").json()["last_error"] is None
