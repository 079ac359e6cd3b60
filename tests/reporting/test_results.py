"""Champion/challenger results, computed on a hand-built history and checked against figures
worked out by hand (on SQLite and on PostgreSQL).

The history (tests/reporting/history.py), period October 2026:

- a1, standard/champion: an SMS delivered, a call answered by the borrower; promised 300 by
  the 20th, paid 200 + 100 before it (kept); 300 USD collected.
- a2, standard/early_call: a call that did not connect, an SMS the provider refused;
  promised 500 by the 10th, paid 100 (not kept); 100 USD collected.
- a3: its first task in the period is small_balance (no variants: champion), a later one
  standard; an email that bounced, a push through a provider without a cost; 50 EUR paid in
  the period (900 more after it).
- a4, standard/champion, a blocked task only: a promise made in September (no amount) falls
  due on 2 October, kept by a payment in September.
- a5: its only task is after the period: in no cohort, whatever it did.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from orchestrator.configuration.channel_config import ChannelsConfig
from orchestrator.reporting.results import PeriodError, results
from orchestrator.tenancy import create_tenant
from tests.reporting.history import PERIOD, build


def _price(channels: ChannelsConfig, channel: str, adapter: str) -> Decimal:
    for provider in channels.channels[channel].providers:  # type: ignore[index]
        if provider.adapter == adapter:
            assert provider.cost is not None
            return provider.cost.per_message
    raise AssertionError(f"{adapter} is not configured")


@pytest.fixture
def channels(file_config) -> ChannelsConfig:
    return file_config.get().channels_for("acme")


def _run(store, tenant_id, channels, period=PERIOD):
    with store.snapshot() as conn:
        return results(
            conn,
            tenant_id=tenant_id,
            tenant="acme",
            start=period[0],
            end=period[1],
            channels=channels,
        )


def test_each_arm_gets_the_figures_worked_out_by_hand(store, tenant, clock, channels):
    tenant_id = tenant[0]
    with store.transaction() as conn:
        build(conn, tenant_id)
        rival = create_tenant(conn, "rival", name="Rival", now=clock.now())
        build(conn, rival)  # the same history for another tenant changes nothing here

    found = _run(store, tenant_id, channels)

    by_arm = {(a.segment, a.arm): a for a in found.arms}
    assert list(by_arm) == [
        ("small_balance", "champion"),
        ("standard", "champion"),
        ("standard", "early_call"),
    ]
    champion = by_arm[("standard", "champion")]
    assert (champion.accounts, champion.attempts, champion.contacted, champion.right_party) == (
        2,
        2,
        1,
        1,
    )
    assert (champion.promised, champion.promises_due, champion.promises_kept, champion.paying) == (
        1,
        2,
        2,
        1,
    )
    assert champion.collected == {"USD": Decimal("300")}
    assert (champion.contact_rate, champion.right_party_rate) == (0.5, 0.5)
    assert (champion.promise_rate, champion.kept_rate, champion.payment_rate) == (0.5, 1.0, 0.5)
    assert set(champion.channels) == {"sms", "call"}
    assert champion.channels["sms"].messages == 1
    assert champion.channels["sms"].cost == {"USD": _price(channels, "sms", "twilio_sms")}
    assert champion.channels["call"].cost == {"USD": _price(channels, "call", "twilio_voice")}

    challenger = by_arm[("standard", "early_call")]
    assert (challenger.accounts, challenger.attempts, challenger.contacted) == (1, 1, 0)
    assert (challenger.right_party, challenger.promised, challenger.paying) == (0, 1, 1)
    assert (challenger.promises_due, challenger.promises_kept, challenger.kept_rate) == (1, 0, 0.0)
    assert challenger.collected == {"USD": Decimal("100")}
    # The refused SMS is not billed: only the call is.
    assert set(challenger.channels) == {"call"}
    assert challenger.channels["call"].cost == {"USD": _price(channels, "call", "dialer_call")}

    small = by_arm[("small_balance", "champion")]
    assert (small.accounts, small.attempts, small.contacted, small.right_party) == (1, 2, 1, 0)
    assert (small.promised, small.promises_due, small.kept_rate) == (0, 0, None)
    assert (small.paying, small.collected) == (1, {"EUR": Decimal("50")})
    assert small.channels["email"].cost == {"USD": _price(channels, "email", "sendgrid_email")}
    assert (small.channels["push"].messages, small.channels["push"].unpriced) == (1, 1)
    assert small.channels["push"].cost == {}


def test_json_and_csv_say_the_same(store, tenant, channels):
    with store.transaction() as conn:
        build(conn, tenant[0])

    found = _run(store, tenant[0], channels)
    data = found.as_json()
    lines = found.as_csv().splitlines()
    header = lines[0].split(",")

    assert data["from"] == "2026-10-01"
    assert len(lines) == 1 + len(data["arms"])
    for line, arm in zip(lines[1:], data["arms"], strict=True):
        row = dict(zip(header, line.split(","), strict=True))
        assert (row["segment"], row["arm"]) == (arm["segment"], arm["arm"])
        assert row["from"] == "2026-10-01"
        assert row["to"] == "2026-11-01"
        for name in ("accounts", "contacted", "right_party", "promised", "paying"):
            assert int(row[name]) == arm[name]
        for name in ("contact_rate", "kept_rate", "payment_rate"):
            assert row[name] == ("" if arm[name] is None else str(arm[name]))
        for currency, amount in arm["collected"].items():
            assert row[f"collected_{currency}"] == amount
        for channel, cost in arm["channels"].items():
            assert int(row[f"{channel}_messages"]) == cost["messages"]
            for currency, amount in cost["cost"].items():
                assert row[f"{channel}_cost_{currency}"] == amount
    assert data["arms"][1]["collected"] == {"USD": "300.00"}


def test_an_empty_period_has_no_arms(store, tenant, channels):
    with store.transaction() as conn:
        build(conn, tenant[0])
    assert _run(store, tenant[0], channels, (date(2025, 1, 1), date(2025, 2, 1))).arms == ()


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 10, 1), date(2026, 10, 1), "to"),
        (date(2026, 11, 1), date(2026, 10, 1), "to"),
        (date(2024, 1, 1), date(2026, 1, 1), "from"),
    ],
)
def test_a_period_that_is_not_one_is_refused(store, tenant, channels, start, end, field):
    with pytest.raises(PeriodError) as info:
        _run(store, tenant[0], channels, (start, end))
    assert info.value.field == field
