"""A MessageContext refuses facts a message could misstate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.errors import TemplateError
from orchestrator.messages import CONTEXT_FIELDS, sample_context


def test_the_template_vocabulary_is_the_dataclass_fields() -> None:
    assert {
        "borrower_name",
        "amount_due",
        "currency",
        "due_date",
        "days_past_due",
        "reference",
        "lender_name",
        "support_phone",
        "payment_url",
        "promise_date",
        "promise_amount",
    } <= CONTEXT_FIELDS
    assert set(sample_context().variables()) == CONTEXT_FIELDS


@pytest.mark.parametrize("currency", ["usd", "XYZ", "US", "DOLLARS"])
def test_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(TemplateError, match="ISO 4217"):
        sample_context(currency=currency)


def test_more_decimals_than_the_currency_has_are_refused() -> None:
    with pytest.raises(TemplateError, match="more decimals than JPY allows"):
        sample_context(currency="JPY", amount_due=Decimal("1234.5"))
    with pytest.raises(TemplateError, match="more decimals than USD allows"):
        sample_context(amount_due=Decimal("10.005"))
    sample_context(currency="JPY", amount_due=Decimal("1234.00"), promise_amount=None)


@pytest.mark.parametrize("amount", [1234.56, Decimal("NaN"), Decimal("Infinity")])
def test_amounts_are_finite_decimals(amount: object) -> None:
    with pytest.raises(TemplateError, match="finite Decimal"):
        sample_context(amount_due=amount)


def test_required_text_is_not_blank() -> None:
    with pytest.raises(TemplateError, match="lender_name is empty"):
        sample_context(lender_name="  ")


def test_it_is_immutable() -> None:
    context = sample_context()
    with pytest.raises(AttributeError):
        context.amount_due = Decimal("1")  # type: ignore[misc]
