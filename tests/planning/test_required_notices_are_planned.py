"""Notices the law requires are planned when their trigger arrives, with the law's deadline,
recorded, and blocked like any contact when they cannot be sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.store.tables import Attempt, Task
from tests.factories import account_document

DUE_D10 = {"amount_due": "1250.00", "currency": "USD", "due_date": "2026-10-23"}


def _tasks(store):
    with store.snapshot() as conn:
        return {t.step: t for t in conn.execute(sa.select(Task))}


def _put(api, **overrides):
    answer = api.put("/v1/accounts/loan-88231", json=account_document(**overrides))
    assert answer.status_code == 201, answer.text


def test_a_cease_request_plans_its_confirmation_at_once(api, store, clock):
    _put(api, debt=DUE_D10)
    assert (
        api.post("/v1/accounts/loan-88231/events", json={"type": "cease_communication"}).status_code
        == 201
    )
    tasks = _tasks(store)
    assert tasks["standard.formal_notice"].status == "cancelled"
    notice = tasks["notice.us.reg_f.cease_confirmation"]
    assert (notice.status, notice.purpose, notice.channel, notice.template) == (
        "planned",
        "cease_confirmation",
        "email",
        "cease_confirmation",
    )
    assert notice.expires_at == clock.now() + timedelta(days=5)
    timeline = api.get("/v1/accounts/loan-88231/timeline").json()["entries"]
    planned = next(e for e in timeline if e["kind"] == "task.planned")
    assert "12 CFR 1006.6(c)(2)(i)" in planned["message"]


def test_a_resolved_dispute_plans_the_verification(api, store):
    _put(api, debt=DUE_D10)
    api.post("/v1/accounts/loan-88231/events", json={"type": "dispute"})
    assert "notice.us.reg_f.dispute_verification" not in _tasks(store)
    api.post("/v1/accounts/loan-88231/events", json={"type": "dispute_resolved"})
    notice = _tasks(store)["notice.us.reg_f.dispute_verification"]
    assert (notice.status, notice.purpose) == ("planned", "dispute_verification")


def test_a_notice_that_cannot_be_sent_is_blocked_and_says_why(api, store):
    _put(api, debt=DUE_D10)
    api.post("/v1/accounts/loan-88231/events", json={"type": "opt_out", "channel": "email"})
    api.post("/v1/accounts/loan-88231/events", json={"type": "cease_communication"})
    notice = _tasks(store)["notice.us.reg_f.cease_confirmation"]
    assert notice.status == "blocked"
    assert "us.reg_f.electronic_opt_out" in notice.reasons


def test_the_first_contact_plans_the_validation_notice_within_five_days(
    api, store, services, clock
):
    # By email, which the borrower agreed to receive notices at (E-SIGN consent).
    _put(
        api,
        debt=DUE_D10,
        contact_points=[
            {"channel": "sms", "address": "+12125550123", "consent": True},
            {"channel": "email", "address": "ann@example.org", "consent": True},
        ],
    )
    task = _tasks(store)["standard.formal_notice"]
    sent_at = clock.now() + timedelta(minutes=5)
    with store.transaction() as conn:
        conn.execute(
            sa.insert(Attempt).values(
                ref="att-1",
                task_id=task.id,
                tenant_id=task.tenant_id,
                account_id=task.account_id,
                channel="email",
                provider="sandbox",
                address="ann@example.org",
                at=sent_at,
                status="sent",
                contact_kind="attempt",
                updated_at=sent_at,
            )
        )
    services.planner.plan(clock.now() + timedelta(hours=1))
    notice = _tasks(store)["notice.us.reg_f.validation_notice"]
    assert (notice.status, notice.purpose, notice.template, notice.channel) == (
        "planned",
        "validation_notice",
        "validation_notice",
        "email",
    )
    assert notice.expires_at == sent_at + timedelta(days=5)
    # Planned once: the next runs add nothing.
    stats = services.planner.plan(clock.now() + timedelta(hours=2))
    assert stats.considered == 0


def test_a_chinese_account_gets_no_us_notice(api, store):
    _put(
        api,
        jurisdiction="CN",
        borrower={
            "name": "王芳",
            "locale": "zh-CN",
            "time_zone": "Asia/Shanghai",
            "address": {"country": "CN", "region": "BJ", "postal_code": "100000"},
        },
        contact_points=[{"channel": "email", "address": "wang@example.cn"}],
        debt={"amount_due": "3200.00", "currency": "CNY", "due_date": "2026-10-20"},
    )
    api.post("/v1/accounts/loan-88231/events", json={"type": "cease_communication"})
    assert not [s for s in _tasks(store) if s.startswith("notice.")]


def test_an_overlay_cannot_give_a_legal_notice_more_time(file_config):
    from orchestrator.compliance.overlay import merge
    from orchestrator.compliance.pack import RulePack
    from orchestrator.errors import ConfigError

    base = file_config.get().rules.packs["us-reg-f"]
    legal = base.notices[0]
    later = legal.model_copy(update={"within": timedelta(days=10)})
    with pytest.raises(ConfigError, match="later than the law"):
        merge(base, RulePack(id="acme", notices=(later,)))


def test_an_overlay_cannot_send_the_validation_notice_by_email_without_consent(file_config):
    from orchestrator.compliance.overlay import merge
    from orchestrator.compliance.pack import RulePack
    from orchestrator.errors import ConfigError

    base = file_config.get().rules.packs["us-reg-f"]
    legal = next(n for n in base.notices if n.id == "us.reg_f.validation_notice")
    assert legal.electronic_consent
    assert legal.channels == ("email", "letter")
    careless = legal.model_copy(update={"electronic_consent": False})
    with pytest.raises(ConfigError, match="only with the borrower's consent"):
        merge(base, RulePack(id="acme", notices=(careless,)))
