"""Rules on the address itself: TCPA consent for automated calls and texts, no workplace
contact, no invalid addresses, no third parties."""

from __future__ import annotations

from orchestrator.compliance import ContactPointFacts, decide
from orchestrator.domain import Channel

from .conftest import account, utc

NOON = utc(2026, 6, 10, 16, 0)


def test_automated_texts_need_prior_express_consent(library):
    pack = library.pack_for("US-NY")
    phone = ContactPointFacts(Channel.SMS, "+12125550123", consent=False)
    decision = decide(account(), [], Channel.SMS, NOON, pack, contact_point=phone)
    assert decision.rule_ids == ("us.tcpa.prior_express_consent",)
    assert decision.reasons[0].citation == "47 U.S.C. 227(b)(1)(A)(iii)"
    assert decision.next_allowed_at is None
    consented = ContactPointFacts(Channel.SMS, "+12125550123", consent=True)
    assert decide(account(), [], Channel.SMS, NOON, pack, contact_point=consented).allowed


def test_consent_is_not_asked_of_email(library):
    pack = library.pack_for("US-NY")
    email = ContactPointFacts(Channel.EMAIL, "ann@example.org")
    assert decide(account(), [], Channel.EMAIL, NOON, pack, contact_point=email).allowed


def test_a_workplace_email_is_blocked(library):
    pack = library.pack_for("US-NY")
    work = ContactPointFacts(Channel.EMAIL, "ann@employer.example", workplace=True)
    decision = decide(account(), [], Channel.EMAIL, NOON, pack, contact_point=work)
    assert decision.rule_ids == ("us.reg_f.workplace",)


def test_an_invalid_address_is_blocked_and_every_reason_is_listed(library):
    pack = library.pack_for("US-NY")
    dead = ContactPointFacts(Channel.CALL, "+12125550123", consent=False, invalid=True)
    night = utc(2026, 6, 10, 3, 0)
    decision = decide(account(), [], Channel.CALL, night, pack, contact_point=dead)
    assert set(decision.rule_ids) == {
        "us.tcpa.prior_express_consent",
        "us.contact_point.invalid",
        "us.reg_f.inconvenient_time",
    }
