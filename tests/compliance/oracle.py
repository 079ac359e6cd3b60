"""An independent, brute-force reading of a rule pack: does a contact at ``t`` break a rule?

It shares no code with the engine: it reads the pydantic pack directly, converts ``t`` to
wall time in each zone with ``zoneinfo``, and counts the history by scanning it. The
property tests check every allowed decision against it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from orchestrator.compliance import AccountFacts, PastContact, RulePack
from orchestrator.domain import Channel, EventType, Purpose

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(t: datetime, zone: str) -> tuple[float, str, object]:
    local = t.astimezone(ZoneInfo(zone))
    return (
        local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6,
        DAYS[local.weekday()],
        local.date(),
    )


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def violations(
    pack: RulePack,
    account: AccountFacts,
    history: list[PastContact],
    channel: Channel,
    t: datetime,
    purpose: Purpose = Purpose.COLLECTION,
) -> list[str]:
    found: list[str] = []
    for rule in pack.windows:
        if channel not in rule.channels:
            continue
        for zone in (*account.zones, *rule.zones):
            minutes, day, _ = _minutes(t, zone)
            if day in rule.days and not rule.start <= minutes < rule.end:
                found.append(f"{rule.id} in {zone}")
    country, _, subdivision = account.jurisdiction.partition("-")
    for rule in pack.holidays:
        if channel not in rule.channels:
            continue
        try:
            national = holidays.country_holidays(country)
        except NotImplementedError:
            continue
        subdivisions = national.subdivisions
        if subdivision in subdivisions:
            calendars = [holidays.country_holidays(country, subdiv=subdivision)]
        else:
            calendars = [national] + [
                holidays.country_holidays(country, subdiv=s) for s in subdivisions
            ]
        for zone in account.zones:
            day = _minutes(t, zone)[2]
            if any(day in calendar for calendar in calendars):
                found.append(f"{rule.id} in {zone}")
    found += _preference_violations(account, channel, t)
    for cap in pack.caps:
        if channel not in cap.applies_to:
            continue
        counted = [
            c.at for c in history if c.channel in cap.counts.channels and c.kind in cap.counts.kinds
        ]
        if cap.window is not None:
            ends = [t] + [c for c in counted if t <= c < t + cap.window]
            for end in ends:
                inside = sum(1 for c in counted if end - cap.window < c <= end)
                if inside + 1 > cap.limit:
                    found.append(cap.id)
                    break
        else:
            zone = account.zones[0]
            day = _minutes(t, zone)[2]
            same_day = sum(1 for c in counted if _minutes(c, zone)[2] == day)
            if same_day + 1 > cap.limit:
                found.append(cap.id)
    for cooldown in pack.cooldowns:
        if channel not in cooldown.blocks:
            continue
        triggers = [
            c.at
            for c in history
            if c.channel in cooldown.after.channels and c.kind in cooldown.after.kinds
        ]
        if any(c <= t < c + cooldown.duration for c in triggers):
            found.append(cooldown.id)
    found += _hold_violations(pack, account, channel, t, purpose)
    return found


def _preference_violations(account: AccountFacts, channel: Channel, t: datetime) -> list[str]:
    latest: dict[object, dict[str, str]] = {}
    for event in account.events:
        if event.type is EventType.CONTACT_PREFERENCE and event.at <= t:
            scope = event.channel or event.details.get("channel")
            if scope is None or scope == channel:
                latest[scope] = dict(event.details)
    found = []
    for details in latest.values():
        start = _clock(details.get("not_before", "00:00"))
        end = _clock(details.get("not_after", "24:00"))
        days = details.get("days", ",".join(DAYS)).split(",")
        for zone in account.zones:
            minutes, day, _ = _minutes(t, zone)
            if day not in days or not start <= minutes < end:
                found.append(f"preference in {zone}")
    return found


def _hold_violations(
    pack: RulePack, account: AccountFacts, channel: Channel, t: datetime, purpose: Purpose
) -> list[str]:
    found = []
    past = [e for e in account.events if e.at <= t]
    opt = [
        e for e in past if e.type in (EventType.OPT_OUT, EventType.OPT_IN) and e.channel == channel
    ]
    if opt and opt[-1].type is EventType.OPT_OUT and purpose is not Purpose.OPT_OUT_CONFIRMATION:
        found.append("opt_out")
    disputes = [e for e in past if e.type in (EventType.DISPUTE, EventType.DISPUTE_RESOLVED)]
    if (
        disputes
        and disputes[-1].type is EventType.DISPUTE
        and purpose is not Purpose.DISPUTE_VERIFICATION
    ):
        found.append("dispute")
    grace = pack.holds.promise_to_pay_grace
    # A pack may let a notice the law requires through its own promise-to-pay pause (the US
    # pack does: the pause is policy, the notice is law).
    promise_rule = pack.holds.rule("promise_to_pay")
    excused = promise_rule is not None and purpose in promise_rule.allows
    for e in past:
        if e.type is EventType.PROMISE_TO_PAY and t < (e.until or e.at) + grace and not excused:
            found.append("promise_to_pay")
    return found


def within(span_start: datetime, span_end: datetime, step: timedelta) -> list[datetime]:
    """Minute-grid instants in ``[span_start, span_end)``."""
    first = span_start.replace(second=0, microsecond=0)
    if first < span_start:
        first += timedelta(minutes=1)
    out = []
    t = first
    while t < span_end:
        out.append(t)
        t += step
    return out
