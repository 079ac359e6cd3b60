"""A borrower who unfollows the lender's Official Account has opted out of WeChat: the
platform's signed ``unsubscribe`` event push, posted to the real callback route, records a
WeChat opt-out for that openid (ledger and lender event), cancels what it forbids, and a
later ``subscribe`` lifts nothing. A push whose signature does not match changes nothing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from channels.egress import Egress
from orchestrator.outbound import endpoints
from orchestrator.store.tables import LenderEvent
from tests.factories import account_document, table_counts
from tests.webhooks.borrowers import CN_NUMBER
from tests.webhooks.provider_payloads import Webhook

OPENID = "oUnfollow0000000000000000000"
OTHER_OPENID = "oSomeoneElse0000000000000000"


def _push(token: str, event: str, openid: str, at: int, *, forged: bool = False) -> Webhook:
    """The platform's follow/unfollow push, as the Event-based Messages page shows it, signed
    as the platform signs (SHA-1 of token, timestamp and nonce, sorted and joined)."""
    body = (
        "<xml><ToUserName><![CDATA[gh_5e3a1c9b7d2f]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{at}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>"
        "<EventKey><![CDATA[]]></EventKey></xml>"
    ).encode()
    nonce = secrets.token_hex(5)
    signed = "".join(sorted([("not-" if forged else "") + token, str(at), nonce]))
    signature = hashlib.sha1(signed.encode()).hexdigest()
    return Webhook(
        "wechat_official",
        body,
        {"content-type": "text/xml"},
        query=f"signature={signature}&timestamp={at}&nonce={nonce}&openid={openid}",
    )


def _borrower(world, external_id: str, openid: str) -> int:
    document = account_document(
        external_id,
        jurisdiction="CN-GD",
        borrower={
            "name": "李雷",
            "locale": "zh-CN",
            "time_zone": None,
            "address": {"country": "CN", "region": "GD", "postal_code": "510000"},
        },
        contact_points=[
            {"channel": "sms", "address": CN_NUMBER, "consent": True},
            {"channel": "wechat", "address": openid, "consent": True},
        ],
        debt={"amount_due": "3000.00", "currency": "CNY", "due_date": "2026-10-30"},
    )
    return world.put(document)


def _opt_events(world, external_id: str) -> list[tuple[str, str, str]]:
    return [
        (e["type"], e["channel"], e["source"])
        for e in world.account_json(external_id)["events"]
        if e["type"] in ("opt_out", "opt_in")
    ]


def _lender_events(world) -> list[tuple[str, dict[str, Any]]]:
    with world.store.snapshot() as conn:
        return [
            (row.type, row.data)
            for row in conn.execute(sa.select(LenderEvent).order_by(LenderEvent.id))
        ]


def test_an_unfollow_is_a_wechat_opt_out_and_a_follow_does_not_undo_it(world):
    with world.store.transaction() as conn:
        endpoints.create(
            conn,
            world.tenant_id,
            url="http://127.0.0.1:9/hooks",
            description="",
            event_types=[],
            egress=Egress(allow_loopback=True),
            now=world.clock.now(),
        )
    account = _borrower(world, "wx-1", OPENID)
    bystander = _borrower(world, "wx-2", OTHER_OPENID)
    wechat_before = [t for t in world.tasks(account) if t.channel == "wechat"]
    assert [t.status for t in wechat_before] == ["planned"]
    token = world.env["WECHAT_CALLBACK_TOKEN"]
    now = int(world.clock.now().timestamp())

    answer = world.post(_push(token, "unsubscribe", OPENID, now))
    assert (answer.status_code, answer.text) == (200, "success")
    assert _opt_events(world, "wx-1") == [("opt_out", "wechat", "inbound")]
    assert _opt_events(world, "wx-2") == []
    # The WeChat reminder planned for today no longer goes to WeChat.
    assert all(t.status != "planned" or t.channel != "wechat" for t in world.tasks(account)), (
        world.tasks(account)
    )
    assert [t.status for t in world.tasks(bystander) if t.channel == "wechat"] == ["planned"]
    entries = [e for e in world.timeline("wx-1") if e["kind"] == "inbound.opt_out"]
    assert [e["channel"] for e in entries] == ["wechat"], entries
    assert "stopped following" in entries[0]["message"]
    opted = [data for kind, data in _lender_events(world) if kind == "channel.opted_out"]
    assert [(d["event"]["channel"], d["event"]["source"]) for d in opted] == [("wechat", "inbound")]

    # The platform retries a push it got no answer to, with the same CreateTime: no-op.
    world.post(_push(token, "unsubscribe", OPENID, now))
    assert _opt_events(world, "wx-1") == [("opt_out", "wechat", "inbound")]

    # Following again is not the borrower's renewed consent: the opt-out stays.
    world.clock.advance(timedelta(seconds=60))
    answer = world.post(_push(token, "subscribe", OPENID, now + 60))
    assert answer.status_code == 200
    assert _opt_events(world, "wx-1") == [("opt_out", "wechat", "inbound")]
    follow = [e for e in world.timeline("wx-1") if e["kind"] == "inbound.follow"]
    assert len(follow) == 1, follow
    assert "opt_in" in follow[0]["message"]
    assert all(t.status != "planned" or t.channel != "wechat" for t in world.tasks(account))

    # Only the lender's opt_in (the borrower consented again) lifts it.
    lifted = world.lender.post(
        "/v1/accounts/wx-1/events", json={"type": "opt_in", "channel": "wechat"}
    )
    assert lifted.status_code == 201, lifted.text
    assert _opt_events(world, "wx-1")[-1] == ("opt_in", "wechat", "api")


def test_a_forged_unfollow_is_refused_and_changes_nothing(world):
    _borrower(world, "wx-3", OPENID)
    before = table_counts(world.store)
    now = int(world.clock.now().timestamp())
    answer = world.post(
        _push(world.env["WECHAT_CALLBACK_TOKEN"], "unsubscribe", OPENID, now, forged=True)
    )
    assert answer.status_code == 401
    assert table_counts(world.store) == before
    assert _opt_events(world, "wx-3") == []
