"""What a message may say about an account: its :class:`MessageContext`, built from the
account, its events and the tenant's profile (who writes, how to pay, whom to call)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import holidays

from orchestrator.compliance import AccountFacts
from orchestrator.compliance.localtime import local_date, zone
from orchestrator.domain import EventType
from orchestrator.errors import TemplateError
from orchestrator.messages.context import MessageContext

# 12 CFR 1006.34(b)(5): 30 days after receipt, assumed five days after sending.
RESPONSE_PERIOD = timedelta(days=35)
VALIDATION_PERIOD = timedelta(days=30)
MAIL_RECEIPT_DAYS = 5  # business days: 1006.34(b)(5) excludes legal public holidays and weekends

PROFILE_FIELDS = (
    "lender_name",
    "support_phone",
    "payment_url",
    "contact_person",
    "unsubscribe_url",
)


def message_context(
    account: Any,
    facts: AccountFacts,
    profile: Mapping[str, Any],
    *,
    now: datetime,
    self_service_url: str | None = None,
    itemization: Mapping[str, Any] | None = None,
    mailed: bool = False,
) -> MessageContext:
    """Parameters:
    account: the account row (external_id, borrower_name, amount_due, currency, due_date).
    facts: its facts (events give the latest promise to pay).
    profile: the tenant's profile; ``payment_url`` and ``unsubscribe_url`` may contain
      ``{reference}``.
    now: the send instant (days past due are counted on the borrower's local date).
    self_service_url: the borrower's signed self-service link, when the deployment has one.
    itemization: the account document's ``debt.itemization`` (as stored: ISO date, decimal
      strings), for the validation notice; ``None`` when the lender gave none.
    mailed: the message is a letter posted today (``now``'s UTC date, the date the letter
      carries): the validation period ends 30 days after it is assumed received, five
      business days after posting (:func:`mail_respond_by`). Otherwise 35 days from the
      borrower's local date.
    """
    missing = [name for name in ("support_phone", "payment_url") if not profile.get(name)]
    if missing:
        raise TemplateError(
            f"the tenant's profile has no {' or '.join(missing)}: set it with "
            "`orchestrator tenants profile NAME --support-phone ... --payment-url ...`"
        )
    promise = next((e for e in reversed(facts.events) if e.type is EventType.PROMISE_TO_PAY), None)
    reference = account.external_id
    return MessageContext(
        borrower_name=account.borrower_name,
        amount_due=account.amount_due,
        currency=account.currency,
        due_date=account.due_date,
        days_past_due=(local_date(now, facts.zones[0]) - account.due_date).days,
        reference=reference,
        lender_name=str(profile.get("lender_name") or "our team"),
        support_phone=str(profile["support_phone"]),
        payment_url=str(profile["payment_url"]).replace("{reference}", reference),
        promise_date=(
            promise.until.astimezone(zone(facts.zones[0])).date()
            if promise and promise.until
            else None
        ),
        promise_amount=promise.amount if promise else None,
        contact_person=profile.get("contact_person") or None,
        unsubscribe_url=(
            str(profile["unsubscribe_url"]).replace("{reference}", reference)
            if profile.get("unsubscribe_url")
            else None
        ),
        respond_by=(
            mail_respond_by(now.astimezone(UTC).date(), facts.jurisdiction[:2])
            if mailed
            else local_date(now, facts.zones[0]) + RESPONSE_PERIOD
        ),
        self_service_url=self_service_url,
        **_itemized(itemization),
    )


def mail_respond_by(posted: date, country: str) -> date:
    """The end of the validation period for a notice posted on ``posted``: 30 days after the
    day it is assumed received, five days after posting not counting Saturdays, Sundays and
    legal public holidays (12 CFR 1006.34(b)(5); for the US, the federal holidays of
    5 U.S.C. 6103(a)). The latest day the rule lets a collector assume, so the borrower's
    period is never cut short by the post."""
    try:
        closed = holidays.country_holidays(
            country or "US", years=range(posted.year, posted.year + 2)
        )
    except NotImplementedError:
        closed = holidays.HolidayBase()
    day, counted = posted, 0
    while counted < MAIL_RECEIPT_DAYS:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            counted += 1
    return day + VALIDATION_PERIOD


def _itemized(itemization: Mapping[str, Any] | None) -> dict[str, Any]:
    """The context's itemization fields from the stored ``debt.itemization`` (validated at
    intake); none when the lender gave none."""
    if not itemization:
        return {}
    try:
        return {
            "itemization_date": date.fromisoformat(str(itemization["date"])),
            "itemization_amount": Decimal(str(itemization["amount"])),
            "interest_since": Decimal(str(itemization.get("interest", "0"))),
            "fees_since": Decimal(str(itemization.get("fees", "0"))),
            "paid_since": Decimal(str(itemization.get("payments", "0")))
            + Decimal(str(itemization.get("credits", "0"))),
        }
    except (KeyError, ValueError, InvalidOperation) as exc:
        raise TemplateError(f"the stored itemization is unreadable: {exc}") from None
