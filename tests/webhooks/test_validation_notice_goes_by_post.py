"""The US validation notice (12 CFR 1006.34) goes by post where no email address has the
borrower's E-SIGN consent: planned on the letter after the first contact, rendered by dispatch
into the PDF Lob would print, with the model form's sections, the lender's itemization and
the dispute deadline counted from the posting day; a hold stops it like any letter."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.dispatch import CircuitBreaker, ProviderPool, RateLimiter
from orchestrator.dispatch.reserve import Claim, Reserver
from orchestrator.planning.scheduler import sweep
from orchestrator.store.tables import Attempt, Task
from tests.factories import account_document

pypdf = pytest.importorskip("pypdf")

NOTICE = "notice.us.reg_f.validation_notice"
ADDRESS = {
    "country": "US",
    "region": "NY",
    "postal_code": "10001",
    "line1": "350 Fifth Avenue",
    "city": "New York",
}
ITEMIZED = {
    "date": "2026-09-01",
    "basis": "last_statement",
    "amount": "1200.00",
    "interest": "30.00",
    "fees": "25.00",
    "payments": "5.00",
    "credits": "0.00",
    "current": "1250.00",
}


def _borrower(world, external_id: str, *, itemization=None, email_consent=False) -> int:
    debt = {"amount_due": "1250.00", "currency": "USD", "due_date": "2026-10-23"}
    if itemization:
        debt["itemization"] = itemization
    return world.put(
        account_document(
            external_id,
            borrower={"name": "Ann Lee", "locale": "en-US", "time_zone": None, "address": ADDRESS},
            contact_points=[
                {"channel": "sms", "address": "+12125550123", "consent": True},
                {"channel": "email", "address": "ann@example.org", "consent": email_consent},
                {"channel": "letter"},
            ],
            debt=debt,
        )
    )


def _first_contact(world, account_id: int) -> None:
    """The first contact about the debt (an email sent a minute ago), then a planning run:
    the validation notice is owed within five days."""
    now = world.clock.now()
    with world.store.transaction() as conn:
        task = conn.execute(
            sa.select(Task).where(Task.account_id == account_id).order_by(Task.id)
        ).first()
        conn.execute(
            sa.insert(Attempt).values(
                ref=f"att_{secrets.token_hex(8)}",
                task_id=task.id,
                tenant_id=task.tenant_id,
                account_id=account_id,
                channel="email",
                provider="sendgrid_email",
                address="ann@example.org",
                at=now - timedelta(minutes=1),
                status="sent",
                contact_kind="attempt",
                updated_at=now,
            )
        )
    world.services.planner.plan(now)


def _notice(world, account_id: int):
    return next(t for t in world.tasks(account_id) if t.step == NOTICE)


def _reserve(world, task_id: int):
    assert task_id in sweep(world.store, world.clock.now(), stale=timedelta(minutes=5)).queued
    pool = ProviderPool(
        world.services.config.get,
        CircuitBreaker(world.services.redis, world.services.settings.queue_namespace),
        world.clock,
    )
    limiter = RateLimiter(world.services.redis, world.services.settings.queue_namespace)
    return Reserver(world.services, pool, limiter).reserve(task_id)


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_notice_goes_by_post_with_the_itemization_and_the_dispute_deadline(world):
    account = _borrower(world, "vn-1", itemization=ITEMIZED)
    _first_contact(world, account)
    notice = _notice(world, account)
    assert (notice.status, notice.channel, notice.template) == (
        "planned",
        "letter",
        "validation_notice",
    )

    claim = _reserve(world, notice.id)
    assert isinstance(claim, Claim), claim
    assert claim.provider.name == "lob_letter"
    text = " ".join(_text(claim.provider.adapter.document(claim.message)).split())

    # Posted Monday 2 November 2026 (the letter's date): assumed received five business
    # days later, Monday 9 November (1006.34(b)(5)); the validation period ends 30 days
    # after that, on 9 December 2026.
    assert "November 2, 2026" in text
    for expected in (
        # The debt collector and the creditor, the account.
        "Example Lender",
        "Acme Lending is collecting a debt that you owe",
        "reference vn-1",
        # The itemization (1006.34(c)(2)(vi)-(viii)), from the lender's figures.
        "As of September 1, 2026, you owed: $1,200.00",
        "You were charged this amount in interest: + $30.00",
        "You were charged this amount in fees: + $25.00",
        "You paid or were credited this amount toward the debt: - $5.00",
        "Total amount of the debt now: $1,250.00",
        # How to dispute, by when (1006.34(c)(3)).
        "How can you dispute the debt?",
        "Call or write to us by December 9, 2026 to dispute all or part of the debt",
        "If you write by December 9, 2026, we must stop collection until",
        "www.cfpb.gov/debt-collection",
        # The response form to detach and mail (1006.34(c)(4)).
        "Detach here and mail this part",
        "How do you want to respond?",
        "[ ] This is not my debt.",
        "[ ] The amount is wrong.",
        "[ ] I want you to send me the name and address of the original creditor.",
        "[ ] I enclosed this amount:",
        # The disclosure of a later communication (1006.18(e)(2)): the first was the email.
        "This communication is from a debt collector.",
    ):
        assert expected in text, (expected, text)
    assert "as reported by the creditor" not in text


def test_without_itemization_figures_the_notice_says_what_the_creditor_has_not_reported(world):
    account = _borrower(world, "vn-2")
    _first_contact(world, account)
    claim = _reserve(world, _notice(world, account).id)
    assert isinstance(claim, Claim), claim
    text = " ".join(_text(claim.provider.adapter.document(claim.message)).split())
    assert "As of October 23, 2026, the payment due date, you owed: $1,250.00" in text
    assert "You were charged this amount in interest: as reported by the creditor" in text
    assert "Total amount of the debt now: $1,250.00" in text


def test_with_esign_consent_the_notice_goes_by_email_and_the_letter_is_its_fallback(world):
    account = _borrower(world, "vn-3", itemization=ITEMIZED, email_consent=True)
    _first_contact(world, account)
    notice = _notice(world, account)
    assert (notice.status, notice.channel) == ("planned", "email")
    assert [list(f) for f in notice.fallback] == [["letter", "validation_notice"]]


def test_a_hold_stops_the_notice_like_any_letter(world):
    account = _borrower(world, "vn-4", itemization=ITEMIZED)
    _first_contact(world, account)
    notice = _notice(world, account)
    assert notice.status == "planned"
    answer = world.lender.post("/v1/accounts/vn-4/events", json={"type": "attorney_representation"})
    assert answer.status_code == 201, answer.text
    held = _notice(world, account)
    assert held.status in ("cancelled", "blocked"), held
    with world.store.snapshot() as conn:
        letters = conn.execute(
            sa.select(Attempt).where(Attempt.account_id == account, Attempt.channel == "letter")
        ).all()
    assert letters == []


def test_a_hold_before_the_first_contact_blocks_the_notice_with_its_rule(world):
    account = _borrower(world, "vn-5", itemization=ITEMIZED)
    answer = world.lender.post("/v1/accounts/vn-5/events", json={"type": "bankruptcy"})
    assert answer.status_code == 201, answer.text
    _first_contact(world, account)
    notice = _notice(world, account)
    assert notice.status == "blocked"
    assert "us.bankruptcy.automatic_stay" in notice.reasons
