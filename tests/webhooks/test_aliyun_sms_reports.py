"""Aliyun SmsReport pushes (a JSON array, token in the callback URL): each receipt finds its
attempt by ``out_id`` (our attempt ref, sent as ``OutId``) or by ``biz_id``, and a receipt
saying the number is out of service marks it dead. Aliyun is answered with the body it
expects, or it pushes again."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from tests.webhooks.borrowers import CN_NUMBER
from tests.webhooks.provider_payloads import aliyun_biz_id, aliyun_report, aliyun_webhook

PHONE = CN_NUMBER.removeprefix("+86")  # Aliyun reports mainland numbers without +86


@pytest.fixture
def sms(world):
    account = world.account_cn("cn-1")
    return world.dispatched(account, Channel.SMS, "aliyun_sms", aliyun_biz_id())


def _push(world, *items):
    return world.post(aliyun_webhook(world.env["ALIYUN_CALLBACK_TOKEN"], list(items)))


def test_a_delivered_receipt_is_answered_as_aliyun_expects(world, sms):
    receipt = aliyun_report(
        phone=PHONE,
        biz_id=sms.provider_message_id,
        out_id=sms.ref,
        success=True,
        at=world.clock.now(),
    )
    response = _push(world, receipt)
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "接收成功"}
    assert world.attempt(sms.ref).status == "delivered"
    assert world.task(sms.task_id).status == "delivered"


def test_a_receipt_without_out_id_finds_its_attempt_by_biz_id(world, sms):
    receipt = aliyun_report(
        phone=PHONE,
        biz_id=sms.provider_message_id,
        out_id=None,
        success=True,
        at=world.clock.now(),
    )
    assert _push(world, receipt).status_code == 200
    assert world.attempt(sms.ref).status == "delivered"


def test_a_number_out_of_service_fails_the_message_and_is_marked_dead(world, sms):
    receipt = aliyun_report(
        phone=PHONE,
        biz_id=sms.provider_message_id,
        out_id=sms.ref,
        success=False,
        code="MOBILE_NOT_ON_SERVICE",
        at=world.clock.now(),
    )
    assert _push(world, receipt).status_code == 200
    after = world.attempt(sms.ref)
    assert (after.status, after.error_code) == ("undelivered", "MOBILE_NOT_ON_SERVICE")
    points = {p["channel"]: p for p in world.account_json("cn-1")["contact_points"]}
    assert points["sms"]["invalid"]["reason"] == "aliyun_sms MOBILE_NOT_ON_SERVICE"


def test_a_batch_reports_on_several_messages_at_once(world, sms):
    other = world.dispatched(world.account_cn("cn-2"), Channel.SMS, "aliyun_sms", aliyun_biz_id())
    now = world.clock.now()
    response = _push(
        world,
        aliyun_report(
            phone=PHONE, biz_id=sms.provider_message_id, out_id=sms.ref, success=True, at=now
        ),
        aliyun_report(
            phone=PHONE,
            biz_id=other.provider_message_id,
            out_id=other.ref,
            success=False,
            code="IS_CLOSE",
            at=now,
        ),
    )
    assert response.status_code == 200
    assert world.attempt(sms.ref).status == "delivered"
    assert world.attempt(other.ref).status == "undelivered"
