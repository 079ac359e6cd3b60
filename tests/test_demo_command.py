"""`orchestrator demo`, the README's first command, runs the whole system and explains it;
after it a newcomer can follow what it printed (the command to serve the store again runs as
printed, a run that has stopped its API says so before the ``curl``s, a push that cannot
report delivery says why it stays "sent") and Redis keeps nothing of the run.

Both tests read one run (a simulated day, in a Redis namespace of its own): ``--days``
only sets how long the clock runs, so a second, shorter run would check the same code
again."""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Demo:
    result: subprocess.CompletedProcess[str]
    data: Path  # the run's --data-dir
    cwd: Path
    env: dict[str, str]
    namespace: str  # ORCHESTRATOR_QUEUE_NAMESPACE: the run's keys, and only them

    @property
    def out(self) -> str:
        return self.result.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory, request) -> Iterator[Demo]:
    """One finished ``orchestrator demo --exit`` for this file's tests; its namespace's
    Redis keys are deleted afterwards (there should be none: that is checked)."""
    redis_url = request.getfixturevalue("redis_url_for_module")
    cwd = tmp_path_factory.mktemp("demo-run")
    namespace = f"test-{secrets.token_hex(6)}"
    # Wide enough that no line the tests look for is wrapped. At the demo's own speed (a
    # virtual day a minute): China's window on a weekend day is 13 virtual hours, and at
    # twice that speed a demo slowed down by a loaded machine could reach the WeChat
    # message only as its window closed (held to Monday, none sent in the run).
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": namespace,
        "COLUMNS": "400",
    }
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--accounts", "60", "--days", "1",
         "--speed", "1440", "--data-dir", str(cwd / "demo"), "--port", "0", "--exit"],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=cwd,
    )  # fmt: skip
    yield Demo(result, cwd / "demo", cwd, env, namespace)
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="module")
def redis_url_for_module() -> str:
    """``redis_url`` (tests/conftest.py) for a module-scoped fixture: it checks Redis answers."""
    from tests.conftest import answering_redis_url

    return answering_redis_url()


def test_the_demo_runs_everything_and_summarises_what_happened(demo):
    result = demo.result
    assert result.returncode == 0, result.stderr[-3000:]
    out = demo.out
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
    journal = [json.loads(line) for line in (demo.data / "sandbox.jsonl").read_text().splitlines()]
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


def test_a_finished_demo_leaves_instructions_that_work_and_nothing_in_redis(
    demo, redis_url_for_module
):
    result = demo.result
    assert result.returncode == 0, result.stderr[-3000:]
    out = demo.out

    # Nothing of the run stays in Redis: no worker heartbeats, no queues, none of the demo's
    # own keys (``{namespace}-demo-…``: self-service links, WeChat token). Only this run's
    # namespace is looked at: another demo may be running beside it in the suite.
    client = redis.Redis.from_url(redis_url_for_module)
    try:
        assert list(client.scan_iter(match=f"{demo.namespace}*")) == []
    finally:
        client.close()

    # The API has stopped: say so, and how to serve the store again, before the curls.
    stopped = out.index("The API stopped with the demo")
    assert stopped < out.index("curl -s")
    serve = out.split("serve it again: ", 1)[1].split(")\n", 1)[0]
    variable, *command = shlex.split(serve)
    assert variable == f"DATABASE_URL=sqlite:///{demo.data / 'demo.db'}"
    assert command[-3:-1] == ["api", "--port"]
    check = subprocess.run(
        [*command[:-2], "--help"],
        capture_output=True, text=True, env=demo.env, timeout=120, check=False, cwd=demo.cwd,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "Serve the lender API" in check.stdout

    # "sent, delivered 0" for push comes with its reason.
    with sqlite3.connect(demo.data / "demo.db") as db:
        used = {row[0] for row in db.execute("select distinct provider from attempts")}
    assert ("fcm_push" in used) == ("FCM sends no delivery receipts" in out)
