"""The lender's side of the demo: a small HTTP receiver that its webhook endpoint points at.

It runs on 127.0.0.1 in a thread, checks each POST's signature with the endpoint's secret
exactly as a lender would (:func:`orchestrator.outbound.signing.verify`), answers 204 when it
verifies and 400 when it does not, and keeps what it received for the demo's summary.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from orchestrator.outbound.signing import SignatureInvalid, verify


@dataclass(frozen=True, slots=True)
class Received:
    """One POST the lender's endpoint received."""

    event_id: str
    type: str
    external_id: str | None
    verified: bool
    problem: str | None


@dataclass
class LenderReceiver:
    """What the lender's endpoint received; ``secret`` is set once the endpoint exists."""

    url: str
    now: Callable[[], datetime]
    tolerance_seconds: int
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, headers: dict[str, str], body: bytes) -> bool:
        """Record one request; whether its signature verified."""
        problem: str | None = None
        try:
            if self.secret is None:
                raise SignatureInvalid("no endpoint secret yet")
            verify(
                self.secret, headers, body, now=self.now(), tolerance_seconds=self.tolerance_seconds
            )
        except SignatureInvalid as error:
            problem = str(error)
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        account = payload.get("account") or {}
        item = Received(
            event_id=str(headers.get("webhook-id", "")),
            type=str(payload.get("type", "?")),
            external_id=account.get("external_id") if isinstance(account, dict) else None,
            verified=problem is None,
            problem=problem,
        )
        with self.lock:
            self.received.append(item)
        return item.verified

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def has(self, event_type: str, external_id: str) -> bool:
        """Whether a verified event of this type arrived for this account."""
        return any(
            r.verified and r.type == event_type and r.external_id == external_id
            for r in self.snapshot()
        )

    def lines(self, borrower: str) -> list[str]:
        """The summary's "Lender events" part, one line each."""
        received = self.snapshot()
        # A retried event arrives again with the same webhook-id: count each event once.
        unique = {r.event_id: r for r in received if r.verified}
        refused = [r for r in received if not r.verified]
        lines = [
            f"  {self.url} received {len(received)} POST(s): {len(unique)} signed event(s) "
            f"verified with the endpoint's secret, {len(refused)} refused"
        ]
        for event_type, count in sorted(Counter(r.type for r in unique.values()).items()):
            lines.append(f"    {event_type:<24} {count}")
        for r in refused[:3]:
            lines.append(f"    refused {r.type} {r.event_id}: {r.problem}")
        chosen = [
            r for r in unique.values() if r.type == "plan.chosen" and r.external_id == borrower
        ]
        if chosen:
            lines.append(
                f"  plan.chosen for {borrower} received and verified ({chosen[0].event_id})"
            )
        else:
            lines.append(f"  no plan.chosen for {borrower} had arrived when the run ended")
        return lines


@contextmanager
def running_receiver(
    now: Callable[[], datetime], tolerance_seconds: int
) -> Iterator[LenderReceiver]:
    """A receiver listening on 127.0.0.1 (a free port) until the block ends."""
    holder: list[LenderReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            ok = holder[0].take(headers, body)
            self.send_response(204 if ok else 400)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the summary reports what arrived

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    holder.append(
        LenderReceiver(
            url=f"http://{host!s}:{port}/lender/events",
            now=now,
            tolerance_seconds=tolerance_seconds,
        )
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="lender")
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
