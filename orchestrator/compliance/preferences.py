"""A borrower's stated convenient times (``contact_preference`` events) as window components.

``details`` holds ``not_before`` / ``not_after`` (``"HH:MM"``, local), optional ``days``
(``"mon,tue"``) and optional ``channel``. 12 CFR 1006.6(b)(1)(i) makes a time the collector
knows to be inconvenient forbidden; Australia's guideline asks that a debtor's reasonable
wishes be respected. A preference only ever narrows the pack's windows.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.compliance.compiled import day_mask
from orchestrator.compliance.model import AccountEvent
from orchestrator.compliance.pack import WEEKDAYS, parse_clock
from orchestrator.compliance.windows import Preference
from orchestrator.domain import Channel, EventType


def parse_preference(
    details: Mapping[str, str], rule_id: str, citation: str
) -> tuple[Channel | None, Preference]:
    """The preference's channel scope and window; ``ValueError`` names what is wrong.

    Parameters:
      details: the event's details (see the module docstring).
      rule_id, citation: the pack's rule for borrower preferences.
    """
    start = parse_clock(details.get("not_before", "00:00"))
    end = parse_clock(details.get("not_after", "24:00"))
    if end <= start:
        raise ValueError(
            f"contact_preference: not_after {details.get('not_after')} must follow not_before"
        )
    days_text = details.get("days", "")
    days = tuple(d.strip().lower()[:3] for d in days_text.split(",") if d.strip()) or WEEKDAYS
    unknown = [d for d in days if d not in WEEKDAYS]
    if unknown:
        raise ValueError(f"contact_preference: unknown day(s) {unknown}; use {','.join(WEEKDAYS)}")
    channel_text = details.get("channel")
    channel = Channel(channel_text) if channel_text else None
    return channel, Preference(rule_id, citation, start, end, day_mask(days))


def preferences_for(
    events: tuple[AccountEvent, ...], channel: Channel, rule_id: str, citation: str
) -> list[tuple[AccountEvent, Channel | None, Preference]]:
    """The ``contact_preference`` events that concern ``channel``, in time order."""
    found = []
    for event in events:
        if event.type is not EventType.CONTACT_PREFERENCE:
            continue
        scope, preference = parse_preference(event.details, rule_id, citation)
        scope = event.channel or scope
        if scope is None or scope is channel:
            found.append((event, scope, preference))
    return found
