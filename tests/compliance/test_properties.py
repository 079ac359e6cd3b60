"""Properties over random histories, instants (DST days included), zones and rule packs:

- no allowed decision breaks a rule (checked by an independent brute-force oracle);
- the next allowed instant is itself allowed, and no earlier one exists at minute
  resolution;
- the whole stretch up to ``window_closes_at`` is allowed;
- a clean account always has an allowed instant within three days (plus any public
  holidays in between): the engine never blocks everything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.compliance import AccountEvent, AccountFacts, PastContact, decide
from orchestrator.compliance.public_holidays import holiday_name
from orchestrator.compliance.zones import AU_ALL, US_ALL
from orchestrator.domain import Channel, ContactKind, EventType, Purpose

from .conftest import library as _library_fixture  # noqa: F401  (fixture re-export)
from .oracle import violations, within

POOLS = {
    "US-NY": ("America/New_York", "America/Los_Angeles", "America/Chicago"),
    "US-MA": ("America/New_York", "Pacific/Honolulu"),
    "US": US_ALL,
    "CN": ("Asia/Shanghai", "Asia/Urumqi", "America/Los_Angeles"),
    "GB": ("Europe/London",),
    "AU-NSW": ("Australia/Sydney", "Australia/Lord_Howe", "Australia/Broken_Hill"),
    "AU": AU_ALL,
    "FR": ("Europe/Paris", "America/St_Johns"),
}
# Days around DST transitions (US, EU, AU), public holidays, and ordinary days.
DAYS = [
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 4, 5, tzinfo=UTC),
    datetime(2026, 10, 4, tzinfo=UTC),
    datetime(2026, 12, 25, tzinfo=UTC),
    datetime(2026, 1, 26, tzinfo=UTC),
    datetime(2026, 6, 15, tzinfo=UTC),
    datetime(2026, 9, 2, tzinfo=UTC),
]
OVERLAY = {
    "id": "acme",
    "caps": [
        {
            "id": "acme.two_touches_a_day",
            "citation": "policy",
            "policy": True,
            "limit": 2,
            "calendar": "day",
            "counts": {
                "channels": ["sms", "email", "push", "call"],
                "kinds": ["reserved", "attempt", "conversation"],
            },
        },
    ],
    "windows": [
        {
            "id": "acme.calls_late_afternoon",
            "citation": "policy",
            "policy": True,
            "start": "15:00",
            "end": "20:00",
            "channels": ["call"],
        },
    ],
}


@st.composite
def instants(draw) -> datetime:
    day = draw(st.sampled_from(DAYS))
    minutes = draw(st.integers(min_value=-12 * 60, max_value=48 * 60))
    seconds = draw(st.sampled_from([0, 0, 0, 17, 59]))
    return day + timedelta(minutes=minutes, seconds=seconds)


@st.composite
def scenarios(draw):
    jurisdiction = draw(st.sampled_from(sorted(POOLS)))
    pool = POOLS[jurisdiction]
    zones = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)))
    at = draw(instants())
    burst = draw(st.booleans())
    span = (-3 * 24 * 60, 24 * 60) if burst else (-60 * 24 * 60, 3 * 24 * 60)
    items = draw(
        st.lists(
            st.tuples(
                st.integers(*span),
                st.sampled_from(list(Channel)),
                st.sampled_from(list(ContactKind)),
            ),
            max_size=25,
        )
    )
    history = sorted(
        (PastContact(at + timedelta(minutes=m), ch, kind) for m, ch, kind in items),
        key=lambda c: c.at,
    )
    events = []
    for kind in draw(
        st.lists(
            st.sampled_from(["opt_out", "opt_in", "promise", "dispute", "resolved", "preference"]),
            max_size=3,
        )
    ):
        when = at + timedelta(minutes=draw(st.integers(-5 * 24 * 60, 2 * 24 * 60)))
        if kind == "opt_out":
            events.append(AccountEvent(EventType.OPT_OUT, when, channel=Channel.SMS))
        elif kind == "opt_in":
            events.append(AccountEvent(EventType.OPT_IN, when, channel=Channel.SMS))
        elif kind == "promise":
            until = when + timedelta(hours=draw(st.integers(1, 72)))
            events.append(
                AccountEvent(EventType.PROMISE_TO_PAY, when, until=until, amount=Decimal(10))
            )
        elif kind == "dispute":
            events.append(AccountEvent(EventType.DISPUTE, when))
        elif kind == "resolved":
            events.append(AccountEvent(EventType.DISPUTE_RESOLVED, when))
        else:
            start = draw(st.sampled_from(["09:00", "12:30", "17:00"]))
            end = draw(st.sampled_from(["20:00", "21:00", "24:00"]))
            days = draw(st.sampled_from(["", "mon,tue,wed,thu,fri", "sat,sun,mon"]))
            details = {"not_before": start, "not_after": end, **({"days": days} if days else {})}
            scope = draw(st.sampled_from([None, Channel.CALL, Channel.SMS]))
            events.append(
                AccountEvent(EventType.CONTACT_PREFERENCE, when, channel=scope, details=details)
            )
    account = AccountFacts(
        jurisdiction=jurisdiction,
        zones=zones,
        amount_due=Decimal(100),
        currency="USD",
        events=tuple(sorted(events, key=lambda e: e.at)),
    )
    channel = draw(st.sampled_from(list(Channel)))
    purpose = draw(
        st.sampled_from(
            [
                Purpose.COLLECTION,
                Purpose.COLLECTION,
                Purpose.DISPUTE_VERIFICATION,
                Purpose.OPT_OUT_CONFIRMATION,
            ]
        )
    )
    with_overlay = draw(st.booleans())
    return account, history, channel, at, purpose, with_overlay


def _pack(library, account, with_overlay):
    overlay = library.parse_overlay(OVERLAY, "acme") if with_overlay else None
    return library.pack_for(account.jurisdiction, overlay)


@given(scenario=scenarios())
def test_no_allowed_decision_breaks_a_rule(library, scenario):
    account, history, channel, at, purpose, with_overlay = scenario
    pack = _pack(library, account, with_overlay)
    decision = decide(account, history, channel, at, pack, purpose=purpose)
    assert decision.allowed == (not decision.reasons)
    if decision.allowed:
        assert decision.next_allowed_at == at
        assert violations(pack, account, history, channel, at, purpose) == []
    else:
        # Refusals are exact too, except in a repeated (fold) hour, where windows are
        # deliberately stricter than wall time.
        assert violations(pack, account, history, channel, at, purpose) or _in_fold(
            at, account.zones
        )


def _in_fold(t: datetime, zones: tuple[str, ...]) -> bool:
    from zoneinfo import ZoneInfo

    for name in zones:
        local = t.astimezone(ZoneInfo(name))
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            return True
    return False


@given(scenario=scenarios())
def test_next_allowed_is_allowed_and_nothing_earlier_is(library, scenario):
    account, history, channel, at, purpose, with_overlay = scenario
    pack = _pack(library, account, with_overlay)
    decision = decide(account, history, channel, at, pack, purpose=purpose)
    found = decision.next_allowed_at
    if found is None:
        return
    again = decide(account, history, channel, found, pack, purpose=purpose)
    assert again.allowed, again.reasons
    assert violations(pack, account, history, channel, found, purpose) == []
    if found > at:
        span = found - at
        if span <= timedelta(days=4):
            grid = within(at, found, timedelta(minutes=1))
        else:
            grid = within(at, at + timedelta(days=1), timedelta(minutes=1))
            grid += within(found - timedelta(days=1), found, timedelta(minutes=1))
            grid += within(at, found, timedelta(minutes=37))
        for t in grid:
            assert not decide(account, history, channel, t, pack, purpose=purpose).allowed, t


@given(scenario=scenarios())
def test_the_whole_send_window_is_allowed(library, scenario):
    account, history, channel, at, purpose, with_overlay = scenario
    pack = _pack(library, account, with_overlay)
    decision = decide(account, history, channel, at, pack, purpose=purpose)
    start, end = decision.next_allowed_at, decision.window_closes_at
    if start is None:
        return
    end = end if end is not None else start + timedelta(days=3)
    assert end > start
    for t in [start, *within(start, end, timedelta(minutes=23)), end - timedelta(microseconds=1)]:
        assert violations(pack, account, history, channel, t, purpose) == [], t
    if decision.window_closes_at is not None:
        after = decide(account, history, channel, decision.window_closes_at, pack, purpose=purpose)
        assert not after.allowed


@given(
    jurisdiction=st.sampled_from(sorted(POOLS)),
    data=st.data(),
    at=instants(),
    channel=st.sampled_from(list(Channel)),
)
def test_a_clean_account_is_reachable_within_three_days(library, jurisdiction, data, at, channel):
    # The legal packs only: a tenant may legitimately tighten past reachability (a 5-hour
    # call window cannot be met in both New York and the Aleutians).
    zones = tuple(
        data.draw(st.lists(st.sampled_from(POOLS[jurisdiction]), min_size=1, unique=True))
    )
    account = AccountFacts(jurisdiction, zones, Decimal(100), "USD")
    pack = _pack(library, account, with_overlay=False)
    decision = decide(account, [], channel, at, pack)
    assert decision.next_allowed_at is not None
    country, _, subdivision = jurisdiction.partition("-")
    closed = (
        sum(
            1
            for d in range(8)
            if holiday_name(country, subdivision or None, (at + timedelta(days=d)).date())
        )
        if pack.holidays
        else 0
    )
    assert decision.next_allowed_at - at <= timedelta(days=3 + closed)


def test_a_notice_the_law_requires_goes_through_a_promise_pause(library):
    """The case hypothesis found: the US pack lets its required notices through its own
    promise-to-pay pause (policy), and the oracle must agree with it, the whole window long."""
    promise = AccountEvent(
        type=EventType.PROMISE_TO_PAY,
        at=datetime(2026, 3, 8, tzinfo=UTC),
        channel=None,
        until=datetime(2026, 3, 8, 1, tzinfo=UTC),
        amount=Decimal("10"),
        details={},
    )
    account = AccountFacts(
        jurisdiction="US",
        zones=("America/New_York",),
        amount_due=Decimal("100"),
        currency="USD",
        events=(promise,),
        contact_points=(),
    )
    pack = _pack(library, account, False)
    at = datetime(2026, 3, 8, tzinfo=UTC)
    for purpose, held in ((Purpose.DISPUTE_VERIFICATION, False), (Purpose.COLLECTION, True)):
        decision = decide(account, [], Channel.SMS, at, pack, purpose=purpose)
        start = decision.next_allowed_at
        assert start is not None
        assert ("promise_to_pay" in violations(pack, account, [], Channel.SMS, at, purpose)) is held
        assert violations(pack, account, [], Channel.SMS, start, purpose) == []
