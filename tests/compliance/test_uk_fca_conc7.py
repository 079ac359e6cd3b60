"""United Kingdom, FCA CONC 7: no contact at unreasonable times or with unreasonable
frequency. The numbers are policy (CONC 7 gives none), so a tenant may change them."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import decide
from orchestrator.domain import Channel

from .conftest import account, contacts, utc

LONDON = ("Europe/London",)


def test_evenings_end_at_nine_in_london(library):
    pack = library.pack_for("GB")
    decision = decide(
        account("GB", LONDON), [], Channel.SMS, utc(2026, 7, 1, 20, 30), pack
    )  # 21:30 BST
    assert decision.rule_ids == ("uk.fca.conc7.reasonable_hours",)
    assert decision.next_allowed_at == utc(2026, 7, 2, 7, 0)


def test_policy_rules_may_be_loosened_by_a_tenant(library):
    overlay = library.parse_overlay(
        {
            "id": "acme-gb",
            "extends": "uk-fca-conc7",
            "caps": [
                {
                    "id": "uk.fca.conc7.contacts_per_day",
                    "citation": "policy (acme)",
                    "policy": True,
                    "limit": 4,
                    "calendar": "day",
                    "counts": {"channels": ["sms", "email", "push", "call"], "kinds": ["attempt"]},
                }
            ],
        },
        "acme-gb",
    )
    pack = library.pack_for("GB", overlay)
    morning = utc(2026, 7, 1, 8, 0)
    history = contacts([morning + timedelta(minutes=m) for m in range(3)], Channel.EMAIL)
    assert decide(
        account("GB", LONDON), history, Channel.EMAIL, morning + timedelta(hours=1), pack
    ).allowed
    base = library.pack_for("GB")
    assert not decide(
        account("GB", LONDON), history, Channel.EMAIL, morning + timedelta(hours=1), base
    ).allowed
