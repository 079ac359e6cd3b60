"""Encryption at rest cannot be turned off by a setting: the variable that once did is
refused at start, and the benchmarks' null cipher is reachable only from ``bench/`` (which
is not shipped), loudly, and only for the process that asks."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.unsealed import sealing
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.store.db import Store
from orchestrator.store.keys import Keyring, KeyUnavailable, development_environment
from orchestrator.store.migrate import upgrade
from orchestrator.store.tables import Account, ContactPoint
from orchestrator.store.types import address_lookup
from orchestrator.tenancy import create_tenant
from tests.factories import account_document
from tests.store.test_personal_data_is_sealed_at_rest import NOW

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["false", "0", "off", "no", "", "maybe"])
def test_a_process_refuses_to_start_when_told_not_to_encrypt(monkeypatch, value):
    for name, key in development_environment().items():
        monkeypatch.setenv(name, key)
    monkeypatch.setenv("ORCHESTRATOR_ENCRYPT_AT_REST", value)

    with pytest.raises(KeyUnavailable, match=r"always encrypted at rest.*remove the variable"):
        Store.connect("sqlite://")


def test_saying_encrypt_is_harmless(monkeypatch):
    environment = {**development_environment(), "ORCHESTRATOR_ENCRYPT_AT_REST": "true"}

    assert Keyring.from_environment(environment).enabled is True


def test_nothing_shipped_can_reach_the_null_cipher():
    offenders = []
    for package in ("orchestrator", "channels"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "keys.py" and path.parent.name == "store":
                continue  # where it is defined
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Name | ast.Attribute):
                    name = node.id if isinstance(node, ast.Name) else node.attr
                    if name == "unseal_this_process_for_benchmarks":
                        offenders.append(f"{path}:{node.lineno}")
                if (
                    isinstance(node, ast.keyword)
                    and node.arg == "enabled"
                    and isinstance(node.value, ast.Constant)
                    and node.value.value is False
                ):
                    offenders.append(f"{path}:{node.lineno} enabled=False")
    assert offenders == []


def _write_ann(store: Store) -> None:
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=NOW)
        document = AccountDocument.model_validate(account_document("loan-1"))
        write_accounts(conn, tenant_id, [prepare(document, now=NOW)], now=NOW, source="api")


def test_the_benchmarks_null_cipher_stores_plain_values_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING), sealing("off"):
        store = Store.connect(f"sqlite:///{tmp_path / 'off.db'}")
        upgrade(store.engine)
        _write_ann(store)
        with store.snapshot() as conn:
            raw = conn.execute(sa.text("SELECT borrower_name FROM accounts")).scalar_one()
            found = conn.execute(
                sa.select(ContactPoint.channel).where(
                    address_lookup(ContactPoint.address_hash, "+12125550123", conn.dialect)
                )
            ).scalars()
            assert sorted(found) == ["call", "sms"]
        store.dispose()
    assert bytes(raw) == b"\x00Ann Lee"
    assert "NOT encrypted at rest" in caplog.text

    # Out of the block, the next store seals again.
    store = Store.connect(f"sqlite:///{tmp_path / 'on.db'}")
    upgrade(store.engine)
    _write_ann(store)
    with store.snapshot() as conn:
        raw = conn.execute(sa.text("SELECT borrower_name FROM accounts")).scalar_one()
        assert conn.execute(sa.select(Account.borrower_name)).scalar_one() == "Ann Lee"
    store.dispose()
    assert b"Ann Lee" not in bytes(raw)
