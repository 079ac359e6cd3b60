"""The sandbox's courier keeps a bounded number of callbacks in flight.

Found by the 10,000-account chaos run: with thousands of callbacks waiting on a slow
receiver, every one was handed to httpx at once, queued in httpcore's pool (whose hand-out
scans the whole queue each time), and the sandbox spent its core there, stopped answering
its own endpoints and timed its callbacks out of the pool. The courier now lets only
``max_in_flight`` posts be under way; the rest wait, and every one still arrives.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from channels.sandbox.courier import Courier
from channels.sandbox.journal import Journal
from orchestrator.clock import SystemClock


class SlowReceiver:
    """A bare HTTP/1.1 server that answers every POST 200 after ``pause`` seconds and
    counts how many requests it is handling at once."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.now = 0
        self.most = 0
        self.answered = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                await reader.readexactly(length)
                self.now += 1
                self.most = max(self.most, self.now)
                await asyncio.sleep(self.pause)
                self.now -= 1
                self.answered += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def post_many(
    tmp_path: Path, *, count: int, max_in_flight: int
) -> tuple[SlowReceiver, Journal]:
    receiver = SlowReceiver(pause=0.05)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    journal = Journal(tmp_path / "sandbox.jsonl")
    courier = Courier(journal, SystemClock(), delay=0.0, max_in_flight=max_in_flight)
    await courier.start()
    try:
        results = await asyncio.gather(
            *(
                courier.post(
                    "twilio_sms",
                    f"http://127.0.0.1:{port}/v1/webhooks/twilio_sms",
                    b"MessageStatus=delivered",
                    {"content-type": "application/x-www-form-urlencoded"},
                    attempt_ref=f"att_{n}",
                    event="delivered",
                )
                for n in range(count)
            )
        )
    finally:
        await courier.stop()
        server.close()
        await server.wait_closed()
    assert all(results), "every callback should have been answered 2xx"
    return receiver, journal


def run(coroutine):
    """Run ``coroutine`` on an event loop of its own thread: a test before this one in the
    same worker (a browser driven through Playwright's sync API) may have left a loop
    running in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_no_more_than_max_in_flight_posts_are_under_way_and_every_one_arrives(tmp_path):
    receiver, journal = run(post_many(tmp_path, count=120, max_in_flight=4))
    assert receiver.answered == 120
    assert 1 <= receiver.most <= 4
    posted = journal.entries(kind="callback")
    assert len(posted) == 120
    assert {entry["response"] for entry in posted} == {"200"}
    assert sorted(entry["attempt_ref"] for entry in posted) == sorted(
        f"att_{n}" for n in range(120)
    )


def test_the_bound_is_what_limits_them(tmp_path):
    # The same callbacks with room for all of them: the receiver sees many at once, so the
    # bound in the test above is the courier's doing, not the receiver's.
    receiver, _ = run(post_many(tmp_path, count=60, max_in_flight=60))
    assert receiver.most > 4


def test_a_bound_below_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="max_in_flight must be at least 1, not 0"):
        Courier(Journal(tmp_path / "s.jsonl"), SystemClock(), 0.0, max_in_flight=0)
