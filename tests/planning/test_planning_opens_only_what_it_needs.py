"""Planning a portfolio opens no sealed value it does not use: not the borrower's name, not
the account document, not the postal code (each would cost an AES-GCM opening per account
read); only the contact addresses that its ledger entries name, masked. Rendering a message
still reads the name."""

from __future__ import annotations

import pytest

from orchestrator.planning.facts import ACCOUNT_COLUMNS, RENDER_COLUMNS
from orchestrator.store.tables import Account
from tests.factories import account_document


@pytest.fixture
def opened(store, monkeypatch):
    """The labels of the sealed values the store opens (a spy over its real keyring)."""
    labels: list[bytes] = []
    keyring = store.keyring
    real = keyring.open

    def open_and_note(stored: bytes, aad: bytes) -> bytes:
        labels.append(aad)
        return real(stored, aad)

    monkeypatch.setattr(keyring, "open", open_and_note)
    return labels


def test_planning_opens_neither_names_nor_documents(api, services, clock, opened):
    for index in range(3):
        assert api.put(
            f"/v1/accounts/loan-{index}", json=account_document(f"loan-{index}")
        ).is_success
    opened.clear()

    stats = services.planner.plan(clock.now())

    assert stats.accounts == 3
    assert set(opened) <= {b"contact_points.address"}, set(opened)


def test_rendering_still_reads_the_name():
    assert Account.borrower_name not in ACCOUNT_COLUMNS
    assert Account.borrower_name in RENDER_COLUMNS
