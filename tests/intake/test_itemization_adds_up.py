"""The debt's itemization (12 CFR 1006.34(c)(2)) is optional; given, it must add up to the
amount due, every mistake named with the figures, the account left untouched, and it is kept
sealed with the rest of the document."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from orchestrator.errors import problems_from
from orchestrator.intake.document import AccountDocument
from orchestrator.store.tables import Account
from tests.factories import account_document

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


def _debt(**itemization):
    return {
        "amount_due": "1250.00",
        "currency": "USD",
        "due_date": "2026-10-01",
        "itemization": {**ITEMIZED, **itemization},
    }


def problems(debt) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        AccountDocument.model_validate(account_document(debt=debt))
    return {p.path: p.message for p in problems_from(info.value.errors())}


def test_an_itemization_that_adds_up_is_kept_with_its_figures():
    debt = AccountDocument.model_validate(account_document(debt=_debt())).debt
    assert debt.itemization is not None
    assert (debt.itemization.amount, debt.itemization.current) == (
        Decimal("1200.00"),
        Decimal("1250.00"),
    )
    assert AccountDocument.model_validate(account_document()).debt.itemization is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"fees": "20.00"},
            "debt.itemization",
            "amount 1200.00 + interest 30.00 + fees 20.00 - payments 5.00 - credits 0.00 = "
            "1245.00, but current is 1250.00",
        ),
        ({"interest": "-30.00"}, "debt.itemization", "interest -30.00 is negative"),
        ({"date": "01/09/2026"}, "debt.itemization.date", "YYYY-MM-DD"),
        ({"basis": "birthday"}, "debt.itemization.basis", "last_statement"),
        ({"amount": 1200.5}, "debt.itemization.amount", "decimal string"),
        (
            {"amount": "1200.005", "payments": "5.005"},
            "debt",
            "itemization.amount 1200.005 has more decimals than USD allows (2)",
        ),
        (
            {"amount": "1190.00", "current": "1240.00"},
            "debt",
            "itemization.current 1240.00 is not amount_due 1250.00",
        ),
    ],
)
def test_an_itemization_that_does_not_add_up_is_named(change, field, words):
    found = problems(_debt(**change))
    assert field in found, found
    assert words in found[field], found[field]


def test_the_api_refuses_a_wrong_itemization_and_keeps_the_account_as_it_was(api, store):
    assert api.put("/v1/accounts/loan-88231", json=account_document()).status_code == 201
    answer = api.put("/v1/accounts/loan-88231", json=account_document(debt=_debt(credits="10.00")))
    assert answer.status_code == 422
    assert "debt.itemization" in answer.text
    assert "but current is 1250.00" in answer.text
    with store.snapshot() as conn:
        document = conn.execute(sa.select(Account.document)).scalar_one()
    assert document["debt"].get("itemization") is None


def test_the_itemization_is_sealed_with_the_document(api, store):
    assert api.put("/v1/accounts/loan-88231", json=account_document(debt=_debt())).status_code in (
        200,
        201,
    )
    with store.snapshot() as conn:
        stored = conn.execute(sa.select(Account.document)).scalar_one()
        raw = conn.execute(sa.text("SELECT document FROM accounts")).scalar_one()
    assert stored["debt"]["itemization"]["amount"] == "1200.00"
    raw_bytes = bytes(raw) if not isinstance(raw, str) else raw.encode()
    assert b"itemization" not in raw_bytes
    assert b"1200.00" not in raw_bytes
