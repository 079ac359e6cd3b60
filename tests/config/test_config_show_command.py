"""``orchestrator config show`` prints what is in force: the file defaults and the tenants
with versions of their own, or one tenant's configs (and the YAML of one kind)."""

from __future__ import annotations

from typer.testing import CliRunner

from orchestrator.cli.config import app
from orchestrator.configuration.versions import Kind, append

from .conftest import strategy_text


def show(store, *args: str):
    url = store.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["show", *args], env={"DATABASE_URL": url, "COLUMNS": "300"})


def store_strategy(store, clock, tenant: str, content: str) -> None:
    with store.transaction() as conn:
        append(
            conn, tenant, Kind.STRATEGY, content, created_by="abcdefgh", now=clock.now(), after=None
        )


def row(output: str, *words: str) -> bool:
    return any(all(w in line for w in words) for line in output.splitlines())


def test_everyone_sees_the_file_defaults_and_who_has_a_version_of_its_own(store, clock):
    store_strategy(store, clock, "acme", strategy_text())

    result = show(store)

    assert result.exit_code == 0, result.stdout
    assert row(result.stdout, "strategy", "config/strategies/default.yaml")
    assert row(result.stdout, "channels", "config/channels.yaml")
    assert row(result.stdout, "acme", "strategy", "1", "abcdefgh", "2026-11-02 15:00")


def test_one_tenant_sees_where_each_kind_comes_from(store, clock):
    store_strategy(store, clock, "acme", strategy_text())

    acme = show(store, "--tenant", "acme")
    rival = show(store, "--tenant", "rival")

    assert row(acme.stdout, "strategy", "tenant", "1", "abcdefgh")
    assert row(acme.stdout, "channels", "config/channels.yaml")
    assert row(rival.stdout, "strategy", "config/strategies/default.yaml")


def test_one_kind_prints_the_yaml_in_force(store, clock):
    store_strategy(store, clock, "acme", strategy_text("13:30"))

    result = show(store, "--tenant", "acme", "--kind", "strategy")

    assert result.exit_code == 0
    assert "name: acme" in result.stdout
    assert 'at: "13:30"' in result.stdout


def test_an_invalid_stored_version_is_shown_as_problems(store, clock):
    store_strategy(store, clock, "acme", "name: acme\nsegments: []\n")

    result = show(store, "--tenant", "acme")

    assert result.exit_code == 1
    assert row(result.stdout, "acme", "acme strategy v1", "segments")
    assert "services keep the last valid one" in result.stdout
