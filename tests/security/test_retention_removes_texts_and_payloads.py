"""Message texts and providers' payloads are kept as long as the tenant's retention says
(90 and 30 days by default), then removed by the scheduler's pass; the facts of each
contact stay, and a send whose outcome is not known yet keeps its text."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from orchestrator.configuration.channel_config import parse_channels
from orchestrator.errors import ConfigError
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.planning.scheduler import Scheduler
from orchestrator.retention import RetentionRule, apply_retention
from orchestrator.store.tables import Account, Attempt, DeliveryReport, Task
from tests.factories import account_document


def _send(store, clock, ref, status="delivered"):
    with store.transaction() as conn:
        account = conn.execute(sa.select(Account.id, Account.tenant_id)).one()
        now = clock.now()
        task_id = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=account.tenant_id,
                account_id=account.id,
                strategy="s@1",
                step=f"step.{ref}",
                channel="email",
                template="t",
                local_date=now.date(),
                not_before=now,
                not_after=now,
                expires_at=now,
                status="sending" if status == "sending" else "sent",
                created_at=now,
                updated_at=now,
            )
            .returning(Task.id)
        ).scalar_one()
        attempt_id = conn.execute(
            sa.insert(Attempt)
            .values(
                ref=ref,
                task_id=task_id,
                tenant_id=account.tenant_id,
                account_id=account.id,
                channel="email",
                provider="sendgrid_email",
                address="ann@example.org",
                at=now,
                status=status,
                contact_kind="text",
                subject="Your balance",
                body="Ann Lee, you owe $1,250.00",
                updated_at=now,
            )
            .returning(Attempt.id)
        ).scalar_one()
        conn.execute(
            sa.insert(DeliveryReport).values(
                provider="sendgrid_email",
                route="",
                dedupe_key=ref,
                matched=True,
                kind="delivery",
                attempt_id=attempt_id,
                payload={"status": status},
                received_at=now,
            )
        )


def _kept(store):
    with store.snapshot() as conn:
        return {
            row.ref: (row.body is not None, row.payload is not None, row.status)
            for row in conn.execute(
                sa.select(Attempt.ref, Attempt.body, Attempt.status, DeliveryReport.payload).join(
                    DeliveryReport, DeliveryReport.attempt_id == Attempt.id
                )
            )
        }


def test_the_scheduler_removes_texts_and_payloads_past_the_default_retention(
    api, services, clock, redis_url, redis_namespace
):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    _send(services.store, clock, "old")
    _send(services.store, clock, "stuck", status="sending")
    clock.advance(timedelta(days=60))
    _send(services.store, clock, "recent")
    client = redis.Redis.from_url(redis_url)
    try:
        scheduler = Scheduler(
            services.store,
            client,
            clock,
            services.planner,
            lambda ids: None,
            namespace=redis_namespace,
        )
        scheduler.heartbeat()
        scheduler.expire_now()
        assert _kept(services.store) == {
            "old": (True, False, "delivered"),  # 60 days: the payload (30) goes, the text stays
            "stuck": (True, False, "sending"),
            "recent": (True, True, "delivered"),
        }
        clock.advance(timedelta(days=31))
        scheduler.expire_now()
        assert _kept(services.store) == {
            "old": (False, False, "delivered"),  # 91 days: the text goes too; the fact stays
            "stuck": (True, False, "sending"),  # its outcome unknown: the reconciler needs it
            "recent": (True, False, "delivered"),
        }
    finally:
        client.close()


def test_each_tenant_has_its_own_rule(store, tenant, clock):
    with store.transaction() as conn:
        prepared = prepare(
            AccountDocument.model_validate(account_document("loan-1")), now=clock.now()
        )
        write_accounts(conn, tenant[0], [prepared], now=clock.now(), source="api")
    _send(store, clock, "a")
    clock.advance(timedelta(days=8))
    strict = {tenant[0]: RetentionRule(timedelta(days=7), timedelta(days=7))}
    with store.transaction() as conn:
        removed = apply_retention(conn, clock.now(), strict)
    assert (removed.bodies, removed.payloads) == (1, 1)
    with store.transaction() as conn:
        assert apply_retention(conn, clock.now(), strict).bodies == 0  # nothing left to do


def test_a_retention_rule_is_validated_with_its_path():
    with pytest.raises(ConfigError, match=r"retention.message_bodies_days"):
        parse_channels(
            {
                "channels": {},
                "retention": {"message_bodies_days": 0, "provider_payloads_days": 30},
            },
            "channels.yaml",
        )
    config = parse_channels(
        {"channels": {}, "retention": {"message_bodies_days": 365}}, "channels.yaml"
    )
    assert config.retention.rule() == RetentionRule(timedelta(days=365), timedelta(days=30))
