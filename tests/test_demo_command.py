"""`orchestrator demo`, the README's first command, runs the whole system and explains it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_the_demo_runs_everything_and_summarises_what_happened(tmp_path, redis_url):
    env = {**os.environ, "REDIS_URL": redis_url, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--accounts", "60", "--days", "1",
         "--speed", "2880", "--data-dir", str(tmp_path / "demo"), "--port", "0", "--exit"],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Seeded tenant demo-lender with 60 accounts" in out
    for heading in (
        "Contacts per channel",
        "Planned contacts",
        "Blocked or moved, by rule",
        "Timelines",
    ):
        assert heading in out
    assert "/v1/accounts/demo-" in out
    # The borrower opened the link from their SMS, chose a plan, and a contact was cancelled.
    assert "Self-service" in out
    assert "demo-borrower opened http://127.0.0.1:" in out
    assert "passed the second factor and chose:" in out
    assert "recorded (source self_service):" in out
    assert "cancelled email final_notice (standard.final_email): us.hold.promise_to_pay" in out
    # The lender's endpoint received the chosen plan as a signed event, and verified it.
    assert "Lender events" in out
    assert "plan.chosen for demo-borrower received and verified (evt_" in out
    assert ", 0 refused" in out
    # The ladder's late steps: letters with their tracking events, WeChat template messages
    # (a zh-CN segment's, in China's daytime), and field visits worked by the stand-in agent.
    assert "Letters, WeChat and field visits" in out
    assert re.search(r"letters \(信函\): [1-9]\d* posted", out), out[-4000:]
    assert re.search(r"demo-\d+ \w+\.final_letter via lob_letter ltr_\w+: created → mailed", out)
    assert re.search(r"WeChat \(微信\) template messages: [1-9]", out), out[-4000:]
    assert re.search(r"field visits \(上门\): [1-9]\d* queued", out), out[-4000:]
    outcomes = "met borrower|not home|refused|promise to pay|wrong address|third party met"
    assert re.search(rf"visit \d+ demo-\d+: ({outcomes}) \(answers 200", out), out[-4000:]
    assert "Traceback" not in result.stderr
    # The providers really received messages, and none twice.
    journal = [
        json.loads(line) for line in (tmp_path / "demo" / "sandbox.jsonl").read_text().splitlines()
    ]
    # (WeChat's template message carries no attempt reference: its client_msg_id is the
    # task's idempotency key.)
    refs = [
        e["attempt_ref"] or f"key:{e['idempotency_key']}"
        for e in journal
        if e.get("kind") == "message"
    ]
    assert refs
    assert len(refs) == len(set(refs))
    # Letters went to the Lob stand-in, WeChat messages to the Official Account stand-in.
    providers = {e["provider"] for e in journal if e.get("kind") == "message"}
    assert {"lob_letter", "wechat_official"} <= providers
