"""Posting the providers' callbacks to the orchestrator, in the background.

A provider's endpoint answers at once and hands its callbacks here; each runs as its own
task after a small delay and is retried a few times on failure, like the providers' own
webhook senders. Every attempt is written to the journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import httpx

from channels.sandbox.faults import Faults
from channels.sandbox.journal import Journal
from orchestrator.clock import Clock

RETRY_DELAYS = (0.2, 0.5, 1.0)
# Posts in flight at once. Past its connection limit httpx queues requests in httpcore's
# pool, whose every hand-out scans the whole queue: with thousands of callbacks waiting on a
# slow receiver the sandbox spent its one core there, stopped answering its own endpoints and
# timed its posts out of the pool (the 10,000-account chaos run). Waiting here is cheap.
MAX_IN_FLIGHT = 32


class Courier:
    """Posts signed callbacks.

    Parameters:
      journal: where every post is recorded.
      clock: stamps the records.
      delay: seconds to wait before each stage.
      faults: when given, a delivered callback may be posted again
        (:meth:`Faults.duplicate`).
      max_in_flight: posts under way at once; the rest wait their turn (the stage delay
        and the retry pauses are not spent holding a place).
    """

    def __init__(
        self,
        journal: Journal,
        clock: Clock,
        delay: float,
        faults: Faults | None = None,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self.journal = journal
        self.clock = clock
        self.delay = delay
        self.faults = faults
        self.max_in_flight = max_in_flight
        self._client: httpx.AsyncClient | None = None
        self._in_flight: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        limits = httpx.Limits(
            max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight
        )
        self._client = httpx.AsyncClient(timeout=5.0, limits=limits)
        self._in_flight = asyncio.Semaphore(self.max_in_flight)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def run(self, story: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a provider's callback sequence (its "story") in the background."""
        task = asyncio.get_running_loop().create_task(story())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(
        self,
        provider: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        attempt_ref: str | None,
        event: str,
    ) -> bool:
        """Wait the stage delay, then POST; True once the receiver answered 2xx. A delivered
        callback is posted again when the provider's faults draw a duplicate."""
        delivered = await self._deliver(provider, url, body, headers, attempt_ref, event)
        if delivered and self.faults is not None and self.faults.duplicate(provider):
            await self._deliver(provider, url, body, headers, attempt_ref, f"{event} (again)")
        return delivered

    async def _deliver(
        self,
        provider: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        attempt_ref: str | None,
        event: str,
    ) -> bool:
        await asyncio.sleep(self.delay)
        assert self._client is not None, "courier not started"
        assert self._in_flight is not None, "courier not started"
        outcome = "unreachable"
        for attempt, pause in enumerate((0.0, *RETRY_DELAYS)):
            await asyncio.sleep(pause)
            try:
                async with self._in_flight:
                    response = await self._client.post(url, content=body, headers=dict(headers))
            except httpx.HTTPError as exc:
                outcome = f"error: {type(exc).__name__}"
                continue
            outcome = str(response.status_code)
            # A 4xx other than 429 is the receiver refusing (e.g. a signature it rejects):
            # retrying the same bytes cannot help.
            if response.is_success or (
                400 <= response.status_code < 500 and response.status_code != 429
            ):
                self._record(provider, url, attempt_ref, event, outcome, attempt)
                return response.is_success
        self._record(provider, url, attempt_ref, event, outcome, len(RETRY_DELAYS))
        return False

    def _record(
        self,
        provider: str,
        url: str,
        attempt_ref: str | None,
        event: str,
        outcome: str,
        retries: int,
    ) -> None:
        self.journal.append(
            {
                "kind": "callback",
                "provider": provider,
                "attempt_ref": attempt_ref,
                "event": event,
                "url": url,
                "response": outcome,
                "retries": retries,
                "posted_at": self.clock.now().isoformat(),
            }
        )
