"""`orchestrator demo`, the README's first command, runs the whole system and explains it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_the_demo_runs_everything_and_summarises_what_happened(tmp_path, redis_url):
    env = {**os.environ, "REDIS_URL": redis_url, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--accounts", "60", "--days", "0.5",
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
    assert "Traceback" not in result.stderr
    # The providers really received messages, and none twice.
    journal = [
        json.loads(line) for line in (tmp_path / "demo" / "sandbox.jsonl").read_text().splitlines()
    ]
    refs = [e["attempt_ref"] for e in journal if e.get("kind") == "message"]
    assert refs
    assert len(refs) == len(set(refs))
