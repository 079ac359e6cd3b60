"""The sandbox posts a delivered callback twice on demand (``duplicate_report_rate``), as
webhook senders do, for letters' tracking events and WeChat's send-job pushes alike: the
second is the same bytes, so the adapter reads the same fact (the same dedupe key) and the
store keeps one (tests/webhooks/test_replayed_webhooks_change_nothing.py)."""

from __future__ import annotations

import time

from tests.channels.channel_support import build
from tests.channels.test_lob_letter_adapter import SETTINGS as LOB
from tests.channels.test_lob_letter_adapter import letter
from tests.channels.test_wechat_official_adapter import SETTINGS as WECHAT
from tests.channels.test_wechat_official_adapter import reminder


def duplicate_reports(http, sandbox, provider: str) -> None:
    answer = http.put(
        f"{sandbox.base_url}/_sandbox/faults/{provider}", json={"duplicate_report_rate": 1}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["duplicate_report_rate"] == 1


def test_every_letter_tracking_event_arrives_twice_unchanged(sandbox, receiver, http, system_clock):
    duplicate_reports(http, sandbox, "lob_letter")
    adapter = build(
        "lob_letter", {**LOB, "base_url": f"{sandbox.base_url}/lob"}, http, system_clock
    )
    adapter.send(letter())
    requests = receiver.received.wait(8, path="lob_letter")
    keys = []
    for request in requests:
        adapter.verify(request)
        keys += [report.dedupe_key for report in adapter.parse(request)]
    assert len(keys) == 8
    assert len(set(keys)) == 4  # created, mailed, in transit, delivered: each twice
    assert [r.body for r in requests[0::2]] == [r.body for r in requests[1::2]]


def test_a_wechat_push_arrives_twice_unchanged(sandbox, receiver, http, system_clock):
    duplicate_reports(http, sandbox, "wechat_official")
    adapter = build(
        "wechat_official", {**WECHAT, "base_url": f"{sandbox.base_url}/wechat"}, http, system_clock
    )
    adapter.send(reminder())
    first, second = receiver.received.wait(2, path="wechat_official")
    assert first.body == second.body
    adapter.verify(second)
    assert [r.dedupe_key for r in adapter.parse(first)] == [
        r.dedupe_key for r in adapter.parse(second)
    ]


def test_without_the_fault_each_event_arrives_once(sandbox, receiver, http, system_clock):
    adapter = build(
        "lob_letter", {**LOB, "base_url": f"{sandbox.base_url}/lob"}, http, system_clock
    )
    adapter.send(letter())
    receiver.received.wait(4, path="lob_letter")
    time.sleep(1.0)  # a duplicate would follow within the courier's delay
    assert len(receiver.received.wait(4, path="lob_letter")) == 4
