"""Simulated months on the virtual clock: no line of the contact log breaks a rule of its
account's pack (checked against the independent oracle of the compliance tests), holds stop
everything they should, and accounts without holds are reached (liveness). Letters, WeChat
and field visits are checked per channel like the others: holds, their hours (none for
letters, which are mail; visit hours for visits) and caps, with each channel counted as the
packs count it and a visit counted by its outcome once that arrives."""

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
from orchestrator.planning.visits import COUNTED_AS, VisitOutcome
from orchestrator.settings import load_settings
from orchestrator.simulation.run import LetterTimes, OutcomeModel, Simulation, load_portfolio
from tests.compliance.oracle import violations

SETTINGS = load_settings()
CONFIG = load_config(SETTINGS.config_dir, SETTINGS.templates_dir)
START = datetime(2026, 3, 1, tzinfo=UTC)  # spans the March DST change in the US and UK
KIND = {
    "conversation": ContactKind.CONVERSATION,
    "voicemail": ContactKind.LIMITED_CONTENT,
    "not_connected": ContactKind.NOT_CONNECTED,
}
# What a field visit counts as once its outcome arrives (as the work queue records it).
LATER = {f"visit.{o.value}": COUNTED_AS[o] for o in VisitOutcome} | {
    "visit.expired": ContactKind.FAILED
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
    if address and draw(st.booleans()):
        points.append({"channel": "visit"})  # a field visit at the borrower's address
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
                st.sampled_from(["sms", "email", "call", "push", "letter", "wechat", "visit"])
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
            "amount_due": draw(st.sampled_from(["45.00", "1250.00", "5000.00", "30000.00"])),
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
        if line["decision"] == "outcome":
            _recount(history.setdefault(line["external_id"], []), line)
            continue
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


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _recount(past: list[PastContact], line: dict) -> None:
    """A later outcome: a field visit now counts as what its outcome makes it."""
    kind = LATER.get(line["outcome"])
    if kind is None:
        return  # a returned letter still was a letter posted
    sent = _instant(line["contact_at"])
    [index] = [
        i
        for i, c in enumerate(past)
        if c.at == sent and c.channel is Channel(line["channel"]) and c.kind is ContactKind.ATTEMPT
    ]
    past[index] = PastContact(sent, past[index].channel, kind)


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


# --- the channels that behave differently: field visits, letters, WeChat --------------------

VISIT_HOURS = {"US": (8, 20), "CN": (8, 20), "GB": (9, 20), "AU": (9, 20)}


def late_and_large(*, events=(), channels=("sms", "letter", "visit")):
    """Accounts 49 days past due with amounts the default strategy visits (D+50), in every
    place with an address: a visit, the final letter and texts are all due."""
    portfolio = []
    for i, (jurisdiction, address, prefix, currency, locale) in enumerate(PLACES):
        if address is None:
            continue
        points = []
        if "sms" in channels:
            points.append({"channel": "sms", "address": phone(prefix, i), "consent": True})
        points += [{"channel": c} for c in channels if c in ("letter", "visit")]
        if "wechat" in channels and currency == "CNY":
            openid = f"oSim{i:06d}WeChatOpenId000000"[:28]
            points.append({"channel": "wechat", "address": openid, "consent": True})
        portfolio.append(
            {
                "external_id": f"late-{i}",
                "jurisdiction": jurisdiction,
                "borrower": {"name": "Late", "locale": locale, "address": address},
                "contact_points": points,
                "debt": {
                    "amount_due": "30000.00" if currency == "CNY" else "6000.00",
                    "currency": currency,
                    "due_date": (START.date() - timedelta(days=49)).isoformat(),
                },
                "events": list(events),
            }
        )
    return portfolio


def _lines(log, channel, decision="sent"):
    return [line for line in log if line["channel"] == channel and line["decision"] == decision]


def test_a_visit_goes_to_the_work_queue_and_its_outcome_arrives_later():
    model = OutcomeModel.silent().model_copy(
        update={
            "visit": OutcomeModel.silent().visit.model_copy(
                update={"met_borrower": 1.0, "not_home": 0.0, "min_days": 2, "max_days": 2}
            )
        }
    )
    sim, log = run(late_and_large(), model, days=12)
    check_log(sim, log)
    visits = _lines(log, "visit")
    assert {line["external_id"] for line in visits} == {a.external_id for a in sim.accounts}
    outcomes = {line["contact_at"]: line for line in _lines(log, "visit", "outcome")}
    for visit in visits:
        assert visit["outcome"] == "queued"
        # Handed to the queue in visit hours, in the borrower's zone.
        start, end = VISIT_HOURS[visit["jurisdiction"][:2]]
        assert start <= datetime.fromisoformat(visit["at_local"]).hour < end, visit
        outcome = outcomes[visit["at_utc"]]
        assert outcome["outcome"] == "visit.met_borrower"
        took = _instant(outcome["at_utc"]) - _instant(visit["at_utc"])
        assert timedelta(days=2) < took < timedelta(days=2, hours=1)
    # A visit that met the borrower is a conversation: Regulation F's call pause follows.
    us = next(a for a in sim.accounts if a.facts.jurisdiction == "US-NY")
    assert ContactKind.CONVERSATION in {c.kind for c in us.history if c.channel is Channel.VISIT}


def test_a_visit_with_no_outcome_by_its_deadline_expires_and_counts_nowhere():
    model = OutcomeModel.silent().model_copy(
        update={
            "visit": OutcomeModel.silent().visit.model_copy(
                update={"met_borrower": 0.0, "not_home": 0.0}
            )
        }
    )
    sim, log = run(late_and_large(), model, days=12)
    check_log(sim, log)
    visits = _lines(log, "visit")
    assert visits
    expired = {line["contact_at"]: line for line in _lines(log, "visit", "outcome")}
    assert {line["outcome"] for line in expired.values()} == {"visit.expired"}
    for visit in visits:
        # The step gives the field team a week (valid_days: 7): it expires at that deadline.
        ends = _instant(expired[visit["at_utc"]]["at_utc"])
        assert timedelta(days=6) < ends - _instant(visit["at_utc"]) <= timedelta(days=8)
    for account in sim.accounts:
        assert {c.kind for c in account.history if c.channel is Channel.VISIT} <= {
            ContactKind.FAILED,
            ContactKind.RESERVED,
        }


def test_a_wrong_address_stops_letters_and_visits_to_it():
    model = OutcomeModel.silent().model_copy(
        update={
            "visit": OutcomeModel.silent().visit.model_copy(
                update={"met_borrower": 0.0, "not_home": 0.0, "wrong_address": 1.0}
            )
        }
    )
    sim, log = run(late_and_large(), model, days=12)
    check_log(sim, log)
    assert {line["outcome"] for line in _lines(log, "visit", "outcome")} == {"visit.wrong_address"}
    for account in sim.accounts:
        invalid = {p.channel for p in account.facts.contact_points if p.invalid}
        assert invalid == {Channel.LETTER, Channel.VISIT}, account.external_id


def test_a_letter_is_a_contact_on_its_posting_day_and_a_returned_one_comes_back_later():
    model = OutcomeModel.silent().model_copy(
        update={
            "delivery": OutcomeModel.silent().delivery.model_copy(update={"letter": 0.0}),
            "letter": LetterTimes(posting_days=3, return_days=5),
        }
    )
    portfolio = late_and_large(channels=("sms", "letter"))
    for doc in portfolio:
        doc["debt"]["due_date"] = (START.date() - timedelta(days=44)).isoformat()
    sim, log = run(portfolio, model, days=12)
    check_log(sim, log)
    letters = _lines(log, "letter")
    assert {line["external_id"] for line in letters} == {doc["external_id"] for doc in portfolio}
    returned = {line["contact_at"]: line for line in _lines(log, "letter", "outcome")}
    for letter in letters:
        assert letter["outcome"] == "returned"
        back = _instant(returned[letter["at_utc"]]["at_utc"])
        assert back - _instant(letter["at_utc"]) == timedelta(days=8)
    for account in sim.accounts:
        assert [p.invalid for p in account.facts.contact_points if p.channel is Channel.LETTER] == [
            True
        ]


def test_letters_count_as_mail_in_each_pack():
    """Mail is not a call under Regulation F's call cap, but a contact under Australia's."""
    from tests.compliance.oracle import violations as oracle

    us = next(a for a in load_portfolio(
        [orjson.dumps(d) for d in late_and_large()], config=CONFIG, tenant="sim", start=START
    )[0] if a.facts.jurisdiction == "US-NY")  # fmt: skip
    au = next(a for a in load_portfolio(
        [orjson.dumps(d) for d in late_and_large()], config=CONFIG, tenant="sim", start=START
    )[0] if a.facts.jurisdiction == "AU-NSW")  # fmt: skip
    letters = [PastContact(START + timedelta(hours=h), Channel.LETTER, ContactKind.ATTEMPT)
               for h in range(0, 60, 6)]  # fmt: skip
    noon_us = START + timedelta(days=1, hours=17)  # 12:00 in New York
    noon_au = START + timedelta(days=1, hours=2)  # 13:00 in Sydney
    calls_us = [c for c in us.pack.caps if Channel.CALL in c.applies_to]
    assert calls_us
    assert all(Channel.LETTER not in c.counts.channels for c in calls_us)
    assert not [
        v for v in oracle(us.pack, us.facts, letters, Channel.CALL, noon_us) if "frequency" in v
    ]
    assert [c.id for c in au.pack.caps if Channel.LETTER in c.counts.channels]
    assert oracle(au.pack, au.facts, letters, Channel.SMS, noon_au)  # ten letters: over the caps


def test_every_new_channel_keeps_every_rule_through_holds_hours_and_caps():
    """Letters, WeChat and visits together over two months, with holds arriving: the oracle
    checks every line per channel, and each channel was used."""
    day = START + timedelta(days=2, hours=3)
    events = [
        {"type": "dispute", "at": day.isoformat().replace("+00:00", "Z")},
        {"type": "dispute_resolved",
         "at": (day + timedelta(days=1)).isoformat().replace("+00:00", "Z")},
        {"type": "opt_out", "channel": "visit",
         "at": (day + timedelta(days=25)).isoformat().replace("+00:00", "Z")},
        {"type": "contact_preference", "details": {"not_before": "10:00", "not_after": "16:00"},
         "at": (day - timedelta(days=2)).isoformat().replace("+00:00", "Z")},
    ]  # fmt: skip
    portfolio = late_and_large(events=events, channels=("sms", "letter", "visit", "wechat"))
    for doc in portfolio:
        doc["debt"]["due_date"] = (START.date() - timedelta(days=44)).isoformat()
    # A yuan account a month late: its final reminder is a WeChat message.
    wechat = next(d for d in late_and_large(events=events, channels=("sms", "wechat"))
                  if d["debt"]["currency"] == "CNY")  # fmt: skip
    wechat["external_id"] = "cn-wechat"
    wechat["debt"]["due_date"] = (START.date() - timedelta(days=25)).isoformat()
    portfolio.append(wechat)
    sim, log = run(portfolio, OutcomeModel(), days=60, seed=7)
    check_log(sim, log)
    used = {line["channel"] for line in log if line["decision"] == "sent"}
    assert {"letter", "visit", "wechat"} <= used, used
    for line in _lines(log, "visit"):
        start, end = VISIT_HOURS[line["jurisdiction"][:2]]
        assert max(start, 10) <= datetime.fromisoformat(line["at_local"]).hour < min(end, 16)
