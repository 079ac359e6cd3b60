"""A borrower's STOP (or UNSUBSCRIBE, 退订, TD…) is an opt-out from texts the moment it
arrives: the account gets an SMS opt-out event, its pending texts are cancelled (or moved to
their fallback channel) in the same transaction, and the borrower gets the one confirmation
the law requires — in Twilio's TwiML answer when Twilio has not sent one itself, or as a
confirmation text of its own through Aliyun, which cannot answer inline."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orchestrator.domain import Channel
from orchestrator.store.tables import AccountEvent
from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.factories import table_counts
from tests.webhooks.borrowers import CN_NUMBER, NUMBER, OUR_NUMBER, us_borrower
from tests.webhooks.provider_payloads import (
    aliyun_uplink,
    aliyun_webhook,
    twilio_inbound,
    twilio_webhook,
)

CONFIRMATION = "system.opt_out_confirmation"
PLAN_OFFER_DUE = "2026-10-13"  # D+20 today: the payment-plan SMS, which has no fallback


def _reply(world, body, *, sender=NUMBER, tenant=None):
    form = twilio_inbound(world.env["TWILIO_ACCOUNT_SID"], sender=sender, to=OUR_NUMBER, body=body)
    return world.post(
        twilio_webhook("twilio_sms", world.url, world.env["TWILIO_AUTH_TOKEN"], form, tenant=tenant)
    )


def _sms_opt_outs(world, external_id):
    return [
        (e["type"], e["channel"], e["source"])
        for e in world.account_json(external_id)["events"]
        if e["type"] in ("opt_out", "opt_in")
    ]


# A reply, and whether our TwiML answer must confirm it (Twilio's Advanced Opt-Out already
# confirms its six standard keywords itself).
REPLIES = [
    ("STOP", False),
    ("unsubscribe", False),
    ("Stop texting me", True),  # FCC 24-24: a keyword leading a reply revokes consent
    ("退订", True),
    ("TD", True),
]


def test_a_twilio_stop_opts_out_of_texts_and_is_confirmed_once(world):
    for number, (body, confirmed_by_us) in enumerate(REPLIES):
        phone = f"+1212555{130 + number:04d}"
        due_today = world.put(us_borrower(f"due-{number}", Channel.SMS, contact_points=_sms(phone)))
        plan_offer = world.put(
            us_borrower(
                f"offer-{number}", Channel.SMS, due_date=PLAN_OFFER_DUE, contact_points=_sms(phone)
            )
        )
        assert [t.status for t in world.tasks(due_today) + world.tasks(plan_offer)] == [
            "planned",
            "planned",
        ]

        response = _reply(world, body, sender=phone)

        assert response.status_code == 200, body
        assert response.headers["content-type"].startswith("text/xml")
        assert ("<Message>" in response.text) is confirmed_by_us, body
        for external_id in (f"due-{number}", f"offer-{number}"):
            assert _sms_opt_outs(world, external_id) == [("opt_out", "sms", "inbound")], body
        # The due-day text moves to its fallback (a push); the payment-plan text has none.
        [moved] = world.tasks(due_today)
        assert (moved.status, moved.channel) == ("planned", "push"), body
        [cancelled] = world.tasks(plan_offer)
        assert cancelled.status == "cancelled", body
        assert "us.reg_f.electronic_opt_out" in cancelled.reasons
        # Twilio answers inline: no confirmation text of ours is planned.
        assert all(t.step != CONFIRMATION for t in world.tasks(due_today))
        kinds = [e["kind"] for e in world.timeline(f"offer-{number}")]
        assert "inbound.opt_out" in kinds
        assert "task.cancelled" in kinds


def _sms(phone):
    return [
        {"channel": "sms", "address": phone, "consent": True},
        {"channel": "push", "address": "fcm-registration-token"},
    ]


def test_a_keyword_twilios_advanced_opt_out_acted_on_counts_and_twilio_confirmed_it(world):
    """A Messaging Service with Advanced Opt-Out may have its own keywords (BAJA); Twilio
    answers them itself and tells us with ``OptOutType``."""
    world.account_due("loan-1", Channel.SMS)
    form = twilio_inbound(
        world.env["TWILIO_ACCOUNT_SID"], sender=NUMBER, to=OUR_NUMBER, body="BAJA"
    )
    form["OptOutType"] = "STOP"
    response = world.post(
        twilio_webhook("twilio_sms", world.url, world.env["TWILIO_AUTH_TOKEN"], form)
    )
    assert response.status_code == 200
    assert "<Message>" not in response.text
    assert _sms_opt_outs(world, "loan-1") == [("opt_out", "sms", "inbound")]


def test_the_twilio_confirmation_is_the_configured_text(world):
    world.account_due("loan-1", Channel.SMS)
    response = _reply(world, "退订")
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        "You have been unsubscribed and will receive no more text messages from us. "
        "Reply START to resubscribe.</Message></Response>"
    )


def test_an_aliyun_td_opts_out_and_plans_one_confirmation_text(world):
    account = world.account_cn("cn-1")
    [collection] = world.tasks(account)
    uplink = aliyun_uplink(phone=CN_NUMBER.removeprefix("+86"), content="TD", at=world.clock.now())
    response = world.post(aliyun_webhook(world.env["ALIYUN_CALLBACK_TOKEN"], [uplink]))

    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "接收成功"}
    assert _sms_opt_outs(world, "cn-1") == [("opt_out", "sms", "inbound")]
    tasks = {t.step: t for t in world.tasks(account)}
    assert tasks[collection.step].status == "cancelled"
    confirmation = tasks[CONFIRMATION]
    assert (confirmation.status, confirmation.channel, confirmation.template) == (
        "planned",
        "sms",
        "opt_out_confirmation",
    )
    assert confirmation.purpose == "opt_out_confirmation"
    # 23:00 in Beijing: quiet hours hold the confirmation too, until 08:00.
    assert confirmation.not_before.hour == 0  # 08:00 Beijing is 00:00 UTC


def test_start_after_stop_opts_back_in(world):
    world.account_due("loan-1", Channel.SMS)
    _reply(world, "STOP")
    world.clock.advance(timedelta(minutes=5))
    assert _reply(world, "START").status_code == 200
    assert _sms_opt_outs(world, "loan-1") == [
        ("opt_out", "sms", "inbound"),
        ("opt_in", "sms", "inbound"),
    ]


def test_the_chinese_resume_word_our_confirmation_names_opts_back_in(world):
    world.account_cn("cn-1")
    now = world.clock.now()
    phone = CN_NUMBER.removeprefix("+86")
    token = world.env["ALIYUN_CALLBACK_TOKEN"]
    world.post(aliyun_webhook(token, [aliyun_uplink(phone=phone, content="退订", at=now)]))
    world.clock.advance(timedelta(minutes=5))
    later = world.clock.now()
    world.post(aliyun_webhook(token, [aliyun_uplink(phone=phone, content="开通", at=later)]))
    assert [e for e, _, _ in _sms_opt_outs(world, "cn-1")] == ["opt_out", "opt_in"]


def test_other_replies_are_kept_but_change_no_contact(world):
    account = world.account_due("loan-1", Channel.SMS)
    response = _reply(world, "I will pay on Friday")
    assert response.status_code == 200
    assert "<Message>" not in response.text
    assert _sms_opt_outs(world, "loan-1") == []
    assert [t.status for t in world.tasks(account)] == ["planned"]
    assert any(e["kind"] == "inbound.other" for e in world.timeline("loan-1"))


def test_a_stop_from_a_number_we_do_not_know_is_stored_and_harmless(world):
    world.account_due("loan-1", Channel.SMS)
    before = table_counts(world.store)
    assert _reply(world, "STOP", sender="+13105550199").status_code == 200
    after = table_counts(world.store)
    assert after["delivery_reports"] == before["delivery_reports"] + 1
    assert {k: v for k, v in after.items() if k != "delivery_reports"} == {
        k: v for k, v in before.items() if k != "delivery_reports"
    }


def test_a_stop_on_a_tenants_own_number_concerns_only_that_tenant(world):
    """``/v1/webhooks/twilio_sms/acme`` is acme's own Twilio number: a STOP there says
    nothing about the same borrower's account at another lender."""
    with world.store.transaction() as conn:
        beta = create_tenant(conn, "beta", name="Beta Credit", now=world.clock.now())
        key = issue_key(conn, beta, role=Role.LENDER, now=world.clock.now())
    world.account_due("loan-1", Channel.SMS)
    document = us_borrower("beta-1", Channel.SMS)
    answer = world.http.put(
        "/v1/accounts/beta-1", json=document, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 201

    assert _reply(world, "STOP", tenant="acme").status_code == 200
    assert _sms_opt_outs(world, "loan-1") == [("opt_out", "sms", "inbound")]
    with world.store.snapshot() as conn:
        events = conn.execute(sa.select(AccountEvent).where(AccountEvent.tenant_id == beta))
        assert list(events) == []


def test_a_tenant_route_for_a_tenant_that_does_not_exist_is_not_found(world):
    before = table_counts(world.store)
    assert _reply(world, "STOP", tenant="nobody").status_code == 404
    assert table_counts(world.store) == before
