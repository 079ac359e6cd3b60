"""Simulated months on the virtual clock: no line of the contact log breaks a rule of its
account's pack (checked against the independent oracle of the compliance tests), holds stop
everything they should, and accounts without holds are reached (liveness)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.compliance import PastContact
from orchestrator.configuration.source import load_config
from orchestrator.domain import Channel, ContactKind, EventType, Purpose
from orchestrator.settings import load_settings
from orchestrator.simulation.run import OutcomeModel, Simulation, load_portfolio
from tests.compliance.oracle import violations

SETTINGS = load_settings()
CONFIG = load_config(SETTINGS.config_dir, SETTINGS.templates_dir)
START = datetime(2026, 3, 1, tzinfo=UTC)  # spans the March DST change in the US and UK
KIND = {
    "conversation": ContactKind.CONVERSATION,
    "voicemail": ContactKind.LIMITED_CONTENT,
    "not_connected": ContactKind.NOT_CONNECTED,
}
FINAL = {
    EventType.CEASE_COMMUNICATION,
    EventType.ATTORNEY_REPRESENTATION,
    EventType.BANKRUPTCY,
    EventType.DECEASED,
}

STREET = {"line1": "1 Main Street", "city": "Springfield"}  # letters need a street and a city

PLACES = [
    (
        "US-NY",
        {"country": "US", "region": "NY", "postal_code": "10001", **STREET},
        "+1212555",
        "USD",
        "en-US",
    ),
    (
        "US-MA",
        {"country": "US", "region": "MA", "postal_code": "02108", **STREET},
        "+1617555",
        "USD",
        "en-US",
    ),
    (
        "US-CA",
        {"country": "US", "region": "CA", "postal_code": "94103", **STREET},
        "+1415555",
        "USD",
        "en-US",
    ),
    (
        "US-HI",
        {"country": "US", "region": "HI", "postal_code": "96813", **STREET},
        "+1808555",
        "USD",
        "en-US",
    ),
    ("US", None, "+1312555", "USD", "en-US"),
    (
        "CN-GD",
        {"country": "CN", "region": "GD", "postal_code": "510000", **STREET},
        "+86138001",
        "CNY",
        "zh-CN",
    ),
    (
        "GB",
        {"country": "GB", "region": "ENG", "postal_code": "SW1A 1AA", **STREET},
        "+447400123",
        "GBP",
        "en-GB",
    ),
    (
        "AU-NSW",
        {"country": "AU", "region": "NSW", "postal_code": "2000", **STREET},
        "+61412345",
        "AUD",
        "en-AU",
    ),
]


WIDTH = {"+1": 4, "+86": 5, "+44": 3, "+61": 3}


def phone(prefix: str, index: int) -> str:
    """A valid number in the place's numbering plan: the prefix and enough digits."""
    width = next(w for code, w in WIDTH.items() if prefix.startswith(code))
    return f"{prefix}{index:0{width}d}"


@st.composite
def accounts(draw, index):
    jurisdiction, address, prefix, currency, locale = draw(st.sampled_from(PLACES))
    number = phone(prefix, index)
    points = []
    if draw(st.booleans()):
        points.append({"channel": "sms", "address": number, "consent": draw(st.booleans())})
    if draw(st.booleans()):
        points.append({"channel": "call", "address": number, "consent": draw(st.booleans())})
    if draw(st.booleans()):
        points.append(
            {
                "channel": "email",
                "address": f"b{index}@example.org",
                "workplace": draw(st.booleans()),
            }
        )
    if draw(st.booleans()):
        points.append({"channel": "push", "address": f"push-token-{index:06d}-abcdef"})
    if address and draw(st.booleans()):
        points.append({"channel": "letter"})  # to the borrower's address
    if currency == "CNY" and draw(st.booleans()):
        openid = f"oSim{index:06d}WeChatOpenId000000"[:28]
        points.append({"channel": "wechat", "address": openid, "consent": True})
    events = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(
            st.sampled_from(
                [
                    "dispute",
                    "dispute_resolved",
                    "cease_communication",
                    "opt_out",
                    "promise_to_pay",
                    "payment",
                    "attorney_representation",
                    "contact_preference",
                ]
            )
        )
        day = START + timedelta(days=draw(st.integers(-5, 50)), hours=draw(st.integers(0, 23)))
        event = {"type": kind, "at": day.isoformat().replace("+00:00", "Z")}
        if kind == "opt_out":
            event["channel"] = draw(
                st.sampled_from(["sms", "email", "call", "push", "letter", "wechat"])
            )
        if kind == "promise_to_pay":
            event["until"] = (day + timedelta(days=draw(st.integers(1, 10)))).date().isoformat()
        if kind == "payment":
            event["amount"] = draw(st.sampled_from(["10.00", "5000.00"]))
        if kind == "contact_preference":
            event["details"] = {"not_before": "18:00", "not_after": "20:00"}
        events.append(event)
    doc = {
        "external_id": f"acct-{index}",
        "jurisdiction": jurisdiction,
        "borrower": {
            "name": f"Borrower {index}",
            "locale": locale,
            **({"address": address} if address else {}),
        },
        "contact_points": points,
        "debt": {
            "amount_due": draw(st.sampled_from(["45.00", "1250.00", "5000.00"])),
            "currency": currency,
            "due_date": (START.date() - timedelta(days=draw(st.integers(-5, 60)))).isoformat(),
        },
        "events": sorted(events, key=lambda e: e["at"]),
    }
    return doc


@st.composite
def portfolios(draw):
    size = draw(st.integers(3, 10))
    return [draw(accounts(i)) for i in range(size)]


def run(portfolio, model, days=60, seed=1):
    lines = [orjson.dumps(doc) for doc in portfolio]
    accounts_, dated = load_portfolio(lines, config=CONFIG, tenant="sim", start=START)
    log = []
    sim = Simulation(
        accounts_,
        dated,
        tenant="sim",
        strategy=CONFIG.strategy_for("sim"),
        model=model,
        seed=seed,
        write=log.append,
    )
    sim.run(START, days)
    return sim, log


def check_log(sim, log):
    by_id = {a.external_id: a for a in sim.accounts}
    history: dict[str, list[PastContact]] = {}
    for line in log:
        if line["decision"] != "sent":
            continue
        account = by_id[line["external_id"]]
        at = datetime.fromisoformat(line["at_utc"].replace("Z", "+00:00"))
        channel = Channel(line["channel"])
        purpose = Purpose(line["purpose"])
        known = replace(account.facts, events=tuple(e for e in account.facts.events if e.at <= at))
        past = history.setdefault(account.external_id, [])
        broken = violations(account.pack, known, past, channel, at, purpose)
        assert broken == [], (line, broken)
        final = [e for e in known.events if e.type in FINAL]
        assert not final or purpose is not Purpose.COLLECTION, (line, final)
        paid = sum((e.amount or 0) for e in known.events if e.type is EventType.PAYMENT)
        in_full = any(e.type is EventType.PAYMENT and e.amount is None for e in known.events)
        assert not in_full, line
        assert paid < account.facts.amount_due, line
        past.append(PastContact(at, channel, KIND.get(line["outcome"], ContactKind.ATTEMPT)))


# HYPOTHESIS_PROFILE=thorough (as for the compliance tests) runs far more simulated portfolios.
EXAMPLES = 300 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 12


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(portfolio=portfolios(), reactions=st.booleans(), seed=st.integers(0, 1000))
def test_no_contact_in_months_of_simulation_breaks_a_rule(portfolio, reactions, seed):
    sim, log = run(portfolio, OutcomeModel() if reactions else OutcomeModel.silent(), seed=seed)
    check_log(sim, log)


def test_accounts_without_holds_are_reached():
    portfolio = []
    for i, (jurisdiction, address, prefix, currency, locale) in enumerate(PLACES):
        portfolio.append(
            {
                "external_id": f"clean-{i}",
                "jurisdiction": jurisdiction,
                "borrower": {
                    "name": "Clean",
                    "locale": locale,
                    **({"address": address} if address else {}),
                },
                "contact_points": [
                    {"channel": "sms", "address": phone(prefix, i), "consent": True},
                    {"channel": "email", "address": f"clean{i}@example.org"},
                ],
                "debt": {
                    "amount_due": "1250.00",
                    "currency": currency,
                    "due_date": START.date().isoformat(),
                },
            }
        )
    sim, log = run(portfolio, OutcomeModel.silent(), days=20)
    check_log(sim, log)
    reached = {line["external_id"] for line in log if line["decision"] == "sent"}
    assert reached == {doc["external_id"] for doc in portfolio}


def test_the_same_seed_gives_the_same_log():
    portfolio = [
        {
            "external_id": "a",
            "jurisdiction": "US-NY",
            "borrower": {"name": "A", "address": PLACES[0][1]},
            "contact_points": [
                {"channel": "sms", "address": "+12125550111", "consent": True},
                {"channel": "call", "address": "+12125550111", "consent": True},
            ],
            "debt": {
                "amount_due": "900.00",
                "currency": "USD",
                "due_date": START.date().isoformat(),
            },
        }
    ]
    first = run(portfolio, OutcomeModel(), seed=3)[1]
    again = run(portfolio, OutcomeModel(), seed=3)[1]
    other = run(
        portfolio, OutcomeModel(call={"answered": 1.0, "voicemail": 0, "not_connected": 0}), seed=3
    )[1]
    assert first == again
    assert first != other


def test_a_bad_portfolio_line_is_named():
    from orchestrator.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_portfolio([b'{"external_id": "x"}'], config=CONFIG, tenant="sim", start=START)
    assert info.value.source == "portfolio line 1"
    assert {p.path for p in info.value.problems} >= {"borrower", "debt"}


def test_the_late_stage_posts_letters_and_keeps_every_rule():
    portfolio = [
        {
            "external_id": f"late-{i}",
            "jurisdiction": jurisdiction,
            "borrower": {"name": "Late", "locale": locale, "address": address},
            "contact_points": [
                {"channel": "sms", "address": phone(prefix, i), "consent": True},
                {"channel": "letter"},
            ],
            "debt": {
                "amount_due": "1250.00",
                "currency": currency,
                "due_date": (START.date() - timedelta(days=44)).isoformat(),
            },
        }
        for i, (jurisdiction, address, prefix, currency, locale) in enumerate(PLACES)
        if address is not None
    ]
    sim, log = run(portfolio, OutcomeModel.silent(), days=5)
    check_log(sim, log)
    letters = {
        line["external_id"]
        for line in log
        if line["decision"] == "sent" and line["channel"] == "letter"
    }
    assert letters == {doc["external_id"] for doc in portfolio}


def test_the_china_segment_reminds_through_wechat_and_keeps_every_rule():
    jurisdiction, address, prefix, currency, locale = next(p for p in PLACES if p[3] == "CNY")
    portfolio = [
        {
            "external_id": f"cn-{i}",
            "jurisdiction": jurisdiction,
            "borrower": {"name": "王芳", "locale": locale, "address": address},
            "contact_points": [
                {"channel": "sms", "address": phone(prefix, i), "consent": True},
                {"channel": "wechat", "address": f"oSim{i:06d}WeChatOpenId000000"[:28],
                 "consent": True},
            ],
            "debt": {
                "amount_due": "1250.00",
                "currency": currency,
                "due_date": (START.date() - timedelta(days=dpd)).isoformat(),
            },
        }
        for i, dpd in enumerate((-3, 3, 30))
    ]  # fmt: skip
    sim, log = run(portfolio, OutcomeModel.silent(), days=2)
    check_log(sim, log)
    wechat = {
        line["external_id"]
        for line in log
        if line["decision"] == "sent" and line["channel"] == "wechat"
    }
    assert wechat == {"cn-0", "cn-1", "cn-2"}
