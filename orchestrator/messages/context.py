"""What a message template may say: the facts of one account, and nothing else.

The planner or dispatch builds one :class:`MessageContext` per contact; the template sees its
fields by name and no other variable. Because the allowed names are derived from this
dataclass, adding a fact to the templates' vocabulary is one field here, and a template
that uses a name not listed is refused when the configuration loads (see
:meth:`orchestrator.messages.TemplateLibrary.check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal

from babel.numbers import is_currency

from orchestrator.domain import currency_places
from orchestrator.errors import TemplateError

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageContext:
    """The facts a message about one overdue account may carry.

    Parameters:
      borrower_name: how the borrower is addressed ("Ann Lee").
      amount_due: the amount currently due, in ``currency``; no more decimals than the
        currency has (a yen amount is whole).
      currency: ISO 4217 code, e.g. ``USD``, ``CNY``.
      due_date: the date the payment was (or is) due.
      days_past_due: days since ``due_date``; zero or negative before it.
      reference: the lender's account reference the borrower can quote.
      lender_name: the business the borrower knows; in a limited-content voicemail it is
        the only business name said, so it must not indicate debt collection.
      support_phone: where the borrower reaches a person.
      payment_url: where the borrower pays.
      promise_date: the date the borrower promised to pay by, if there is a promise.
      promise_amount: the amount promised, if there is a promise.
      contact_person: a natural person the borrower can ask for; a limited-content
        voicemail must name one (12 CFR 1006.2(j)(1)(iii)) and refuses to render without.
      unsubscribe_url: a link that opts this email address out; the email opt-out
        disclosure offers it when present, a reply or a call otherwise.
      respond_by: the end of the validation period (12 CFR 1006.34(b)(5)): 30 days after
        the borrower is assumed to receive a notice sent now (five days, 1006.34(b)(5)).
      self_service_url: the borrower's signed link to the self-service page (see, pay,
        choose a plan, promise, dispute, set contact preferences); ``None`` when the
        deployment has no link secret.
      itemization_date: the itemization date (12 CFR 1006.34(b)(3)), when the lender gave
        the itemization (``debt.itemization``); ``None`` otherwise, and the notice says
        "as reported by the creditor". The four figures below come with it.
      itemization_amount: what was owed on the itemization date (1006.34(c)(2)(vi)).
      interest_since / fees_since: interest and fees charged since (1006.34(c)(2)(vii)).
      paid_since: payments and credits since (the model form shows them on one line).
    """

    borrower_name: str
    amount_due: Decimal
    currency: str
    due_date: date
    days_past_due: int
    reference: str
    lender_name: str
    support_phone: str
    payment_url: str
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    contact_person: str | None = None
    unsubscribe_url: str | None = None
    respond_by: date | None = None
    self_service_url: str | None = None
    itemization_date: date | None = None
    itemization_amount: Decimal | None = None
    interest_since: Decimal | None = None
    fees_since: Decimal | None = None
    paid_since: Decimal | None = None

    def __post_init__(self) -> None:
        if not _CURRENCY_CODE.fullmatch(self.currency) or not is_currency(self.currency):
            raise TemplateError(f"currency {self.currency!r} is not an ISO 4217 code")
        for name in _AMOUNTS:
            amount = getattr(self, name)
            if amount is None:
                continue
            if not isinstance(amount, Decimal) or not amount.is_finite():
                raise TemplateError(f"{name} must be a finite Decimal, not {amount!r}")
            # Formatting rounds to the currency's digits; refuse rather than tell a
            # borrower a different amount from the one on their account.
            digits = currency_places(self.currency)
            if amount != round(amount, digits):
                raise TemplateError(
                    f"{name} {amount} has more decimals than {self.currency} allows ({digits})"
                )
        for name in ("borrower_name", "reference", "lender_name", "support_phone", "payment_url"):
            if not str(getattr(self, name)).strip():
                raise TemplateError(f"{name} is empty")

    def emptied(self, field: str) -> MessageContext:
        """A copy with the optional ``field`` set to ``None`` (for trial renders)."""
        if field not in OPTIONAL_FIELDS:
            raise ValueError(f"{field!r} is not an optional field of MessageContext")
        return replace(self, **{field: None})  # type: ignore[arg-type]

    def variables(self) -> dict[str, object]:
        """The names a template sees, with their values."""
        return {name: getattr(self, name) for name in CONTEXT_FIELDS}


_AMOUNTS = (
    "amount_due",
    "promise_amount",
    "itemization_amount",
    "interest_since",
    "fees_since",
    "paid_since",
)

CONTEXT_FIELDS: frozenset[str] = frozenset(f.name for f in fields(MessageContext))
"""Every variable name a template may use."""

OPTIONAL_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(MessageContext) if f.default is None
)
"""Fields that may be empty (``None``): a template must guard them with ``{% if %}``."""


def sample_context(**overrides: object) -> MessageContext:
    """A complete, plausible context for trial renders, previews and tests.

    Every optional field is filled, so a trial render exercises every branch that prints
    one; :meth:`TemplateLibrary.check` then empties them one at a time.

    Parameters:
      overrides: field values to replace, e.g. ``currency="CNY"``.
    """
    base = MessageContext(
        borrower_name="Ann Lee",
        amount_due=Decimal("1234.56"),
        currency="USD",
        due_date=date(2026, 10, 1),
        days_past_due=12,
        reference="LN-88231",
        lender_name="Acme Finance",
        support_phone="+1 800 555 0100",
        payment_url="https://pay.example.com/LN-88231",
        promise_date=date(2026, 11, 1),
        promise_amount=Decimal("300.00"),
        contact_person="Jordan Smith",
        unsubscribe_url="https://pay.example.com/unsubscribe/abc123",
        respond_by=date(2026, 11, 20),
        self_service_url="https://pay.example.com/s/4fZq9XbT2mKp7RwY",
        itemization_date=date(2026, 9, 1),
        itemization_amount=Decimal("1185.00"),  # whole, so any currency takes the sample
        interest_since=Decimal("25.00"),
        fees_since=Decimal("35.00"),
        paid_since=Decimal("10.00"),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]
