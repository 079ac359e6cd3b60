"""Builders shared by the tests."""

from __future__ import annotations


def account_document(external_id: str = "loan-88231", **overrides):
    """A valid account document (the DESIGN.md example); keyword overrides replace keys."""
    document = {
        "external_id": external_id,
        "jurisdiction": "US-NY",
        "borrower": {
            "name": "Ann Lee",
            "locale": "en-US",
            "time_zone": None,
            "address": {"country": "US", "region": "NY", "postal_code": "10001"},
        },
        "contact_points": [
            {"channel": "sms", "address": "+12125550123", "consent": True},
            {"channel": "call", "address": "+12125550123", "consent": True},
            {"channel": "email", "address": "ann@example.org", "workplace": False},
            {"channel": "push", "address": "fcm-registration-token"},
        ],
        "debt": {
            "amount_due": "1250.00",
            "currency": "USD",
            "due_date": "2026-10-01",
            "product": "bnpl",
        },
    }
    document.update(overrides)
    return document


def table_counts(store) -> dict[str, int]:
    """Rows per table: what "nothing was written" is checked against."""
    import sqlalchemy as sa

    from orchestrator.store.tables import Base

    with store.snapshot() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }
