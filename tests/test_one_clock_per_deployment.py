"""One clock per deployment: every process given the same ``ORCHESTRATOR_CLOCK`` shows the
same virtual instant, whenever it started, and ``orchestrator sandbox`` is one of them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis

from channels.sandbox.credentials import sandbox_credentials
from orchestrator.clock import ScaledClock, clock_from_setting
from orchestrator.epoch import anchor_key, shared_clock

pytestmark = pytest.mark.slow

SETTING = "2031-01-06T09:00:00Z@60"

PRINT_ANCHOR = """
from orchestrator.services import Services
from orchestrator.settings import load_settings
print(repr(Services.build(load_settings()).clock.anchor))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_setting_with_its_anchor_gives_the_same_clock_anywhere() -> None:
    clock = ScaledClock(datetime(2031, 1, 6, 9, 0, tzinfo=UTC), speed=288)
    again = clock_from_setting(clock.setting)
    assert isinstance(again, ScaledClock)
    assert abs(again.anchor - clock.anchor) < 1e-5
    assert abs(again.now() - clock.now()) < timedelta(seconds=1)


def test_two_processes_started_apart_share_one_virtual_epoch(store, redis_url, redis_namespace):
    env = {
        **os.environ,
        "DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": redis_namespace,
        "ORCHESTRATOR_CLOCK": SETTING,
    }

    def anchor_of_a_new_process() -> float:
        result = subprocess.run(
            [sys.executable, "-c", PRINT_ANCHOR],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return float(result.stdout.strip().splitlines()[-1])

    first = anchor_of_a_new_process()
    second = anchor_of_a_new_process()  # a whole interpreter start later
    assert first == second
    # Another deployment (namespace) keeps its own epoch.
    other = shared_clock(SETTING, redis.Redis.from_url(redis_url), f"{redis_namespace}-other")
    assert isinstance(other, ScaledClock)
    assert other.anchor > first


def test_the_sandbox_command_runs_on_the_deployment_clock(tmp_path, redis_url, redis_namespace):
    client = redis.Redis.from_url(redis_url)
    ours = shared_clock(SETTING, client, redis_namespace)  # the deployment's first process
    port, smtp_port = free_port(), free_port()
    credentials = sandbox_credentials()
    env = {
        **os.environ,
        **credentials,
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": redis_namespace,
        "ORCHESTRATOR_CLOCK": SETTING,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "sandbox", "--port", str(port),
         "--smtp-port", str(smtp_port), "--log", str(tmp_path / "sandbox.jsonl")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/_sandbox/faults", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        sid = credentials["TWILIO_ACCOUNT_SID"]
        response = httpx.post(
            f"{base}/twilio/2010-04-01/Accounts/{sid}/Messages.json",
            data={"To": "+12125550123", "From": "+15017122661", "Body": "hello"},
            auth=(sid, credentials["TWILIO_AUTH_TOKEN"]),
        )
        assert response.status_code == 201, response.text
        before = ours.now()
        [entry] = httpx.get(f"{base}/_sandbox/log", params={"kind": "message"}).json()
    finally:
        process.terminate()
        process.wait(timeout=20)
    stamped = datetime.fromisoformat(entry["received_at"])
    # The sandbox's clock is ours: the same epoch, not its own start nor the wall clock.
    assert abs(stamped - before) < timedelta(minutes=5)
    assert client.hget(anchor_key(redis_namespace), SETTING) is not None
