"""An account that is valid but looks wrong is accepted with warnings that name the field:
a currency that is not the jurisdiction's, a ZIP code from another state, an amount that is
probably in minor units, an address in another state than the jurisdiction."""

from __future__ import annotations

import pytest

from orchestrator.intake.document import AccountDocument
from orchestrator.intake.plausibility import document_warnings
from tests.factories import account_document


def warnings_for(change=None) -> list[str]:
    doc = account_document()
    if change is not None:
        change(doc)
    return document_warnings(AccountDocument.model_validate(doc))


def test_a_plausible_account_has_no_warnings():
    assert warnings_for() == []


def test_a_debt_in_another_countrys_currency_is_named():
    [warning] = warnings_for(lambda d: d["debt"].update(currency="CNY", amount_due="8000.00"))
    assert warning.startswith("debt.currency:")
    assert "CNY" in warning
    assert "USD" in warning


def test_the_currency_is_checked_against_the_address_when_no_jurisdiction_is_given():
    def change(d):
        d.pop("jurisdiction")
        d["borrower"]["address"] = {"country": "CN", "region": "GD", "postal_code": "510000"}

    assert warnings_for(change)[0].startswith("debt.currency: USD is not the currency of CN")


@pytest.mark.parametrize(
    ("region", "postal_code", "expected_in"),
    [("NY", "94105", "CA"), ("CA", "10001", "NY"), ("TX", "73301", None), ("MA", "02139", None)],
)
def test_a_zip_code_from_another_state_is_named(region, postal_code, expected_in):
    def change(d):
        d["jurisdiction"] = f"US-{region}"
        d["borrower"]["address"] = {"country": "US", "region": region, "postal_code": postal_code}

    found = [w for w in warnings_for(change) if w.startswith("borrower.address.postal_code")]
    if expected_in is None:
        assert found == []
    else:
        assert found == [
            f"borrower.address.postal_code: ZIP {postal_code} is in {expected_in}, not {region}"
        ]


def test_a_zip_code_is_checked_against_the_jurisdiction_when_the_address_has_no_region():
    def change(d):
        d["borrower"]["address"] = {"country": "US", "postal_code": "94105"}

    assert any("ZIP 94105 is in CA, not NY" in w for w in warnings_for(change))


def test_an_address_in_another_state_than_the_jurisdiction_is_named():
    def change(d):
        d["borrower"]["address"] = {"country": "US", "region": "CA", "postal_code": "94105"}

    [warning] = warnings_for(change)
    assert warning.startswith("jurisdiction: US-NY differs from the address (US-CA)")


def test_an_amount_in_the_tens_of_millions_is_probably_in_minor_units():
    [warning] = warnings_for(lambda d: d["debt"].update(amount_due="125000000"))
    assert warning.startswith("debt.amount_due: 125000000 USD is unusually large")
