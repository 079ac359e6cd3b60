"""Fixtures for the compliance engine's tests: the real rule library from config/, and
small builders so each test reads as the rule it pins down.

Hypothesis runs under the ``ci`` profile (bounded examples, no deadline: timing never
decides a pass) unless ``HYPOTHESIS_PROFILE`` names another (``thorough`` for a long run).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from orchestrator.compliance import AccountEvent, AccountFacts, PastContact
from orchestrator.configuration.rulepacks import RuleLibrary, load_rule_library
from orchestrator.domain import Channel, ContactKind

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CONFIG = Path(__file__).resolve().parents[2] / "config" / "compliance"


@pytest.fixture(scope="session")
def library() -> RuleLibrary:
    return load_rule_library(CONFIG)


def utc(*args: int) -> datetime:
    """``utc(2026, 3, 2, 14, 5)``: an aware UTC instant."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def account(
    jurisdiction: str = "US-NY",
    zones: tuple[str, ...] = ("America/New_York",),
    events: Iterable[AccountEvent] = (),
    amount_due: str = "500.00",
) -> AccountFacts:
    return AccountFacts(
        jurisdiction=jurisdiction,
        zones=zones,
        amount_due=Decimal(amount_due),
        currency="USD",
        events=tuple(sorted(events, key=lambda e: e.at)),
    )


def contacts(
    times: Iterable[datetime],
    channel: Channel = Channel.CALL,
    kind: ContactKind = ContactKind.ATTEMPT,
) -> list[PastContact]:
    return [PastContact(at=t, channel=channel, kind=kind) for t in times]
