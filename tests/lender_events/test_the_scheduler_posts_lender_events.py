"""The running scheduler (the real command, in its own process) posts lender events: an
event recorded through the API reaches the lender's server, signed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.lender_events.conftest import an_account, register, verify

pytestmark = pytest.mark.slow


def test_the_scheduler_process_delivers_what_the_api_recorded(
    lender, receiver, store, clock, redis_url, redis_namespace
):
    endpoint = register(lender, receiver.url)
    an_account(lender)
    assert lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"}).status_code == 201
    env = {
        **os.environ,
        "DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": redis_namespace,
        "ORCHESTRATOR_CLOCK": clock.now().isoformat(),
        "ORCHESTRATOR_ALLOW_LOOPBACK_PROVIDERS": "1",
        "ORCHESTRATOR_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "scheduler", "--sweep-every", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    [request] = receiver.requests
    assert request.event["type"] == "dispute.opened"
    assert verify(endpoint["secret"], request.headers, request.body)
    [delivery] = lender.get("/v1/webhook-deliveries").json()["deliveries"]
    assert delivery["status"] == "delivered"
