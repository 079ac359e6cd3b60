"""What a message may say about an account: its :class:`MessageContext`, built from the
account, its events and the tenant's profile (who writes, how to pay, whom to call)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from orchestrator.compliance import AccountFacts
from orchestrator.compliance.localtime import local_date, zone
from orchestrator.domain import EventType
from orchestrator.errors import TemplateError
from orchestrator.messages.context import MessageContext

# 12 CFR 1006.34(b)(5): 30 days after receipt, assumed five days after sending.
RESPONSE_PERIOD = timedelta(days=35)

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
) -> MessageContext:
    """Parameters:
    account: the account row (external_id, borrower_name, amount_due, currency, due_date).
    facts: its facts (events give the latest promise to pay).
    profile: the tenant's profile; ``payment_url`` and ``unsubscribe_url`` may contain
      ``{reference}``.
    now: the send instant (days past due are counted on the borrower's local date).
    self_service_url: the borrower's signed self-service link, when the deployment has one.
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
        respond_by=local_date(now, facts.zones[0]) + RESPONSE_PERIOD,
        self_service_url=self_service_url,
    )
