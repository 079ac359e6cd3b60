"""When a request left its client, for measuring pacing: a client may stamp each request with
the instant it went out (header ``X-Sandbox-Sent-At``, Unix seconds), and the sandbox keeps
the stamp with the message it records (``sent_at``, beside its own ``received_at``).

Benchmarks and tests use it to tell how our sends were spaced (the send side) from how the
sandbox saw them arrive (the receive side, which a loaded machine's scheduling also shapes:
requests that waited in the sandbox's socket backlog are handled, and timed, together).
Nothing in the orchestrator sends the header: a bench or a test installs
:func:`stamp_requests` on the client it wants measured, and a real provider ignores it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import httpx

HEADER = "X-Sandbox-Sent-At"


def stamp_requests(client: httpx.Client) -> httpx.Client:
    """``client``, its every request stamped with ``time.time()`` just before it is sent
    (the last of its request hooks, run after the request is built and before a connection
    is taken from the pool)."""

    def stamp_sent_at(request: httpx.Request) -> None:
        request.headers[HEADER] = f"{time.time():.6f}"

    hooks = client.event_hooks
    if stamp_sent_at.__qualname__ not in {h.__qualname__ for h in hooks.get("request", [])}:
        client.event_hooks = {**hooks, "request": [*hooks.get("request", []), stamp_sent_at]}
    return client


def sent_at(headers: Mapping[str, str]) -> dict[str, Any]:
    """``{"sent_at": seconds}`` for a journal entry when the request carries a usable stamp;
    nothing otherwise (no stamp, or one that is not a finite number)."""
    value = headers.get(HEADER)
    if value is None:
        return {}
    try:
        stamp = float(value)
    except ValueError:
        return {}
    return {"sent_at": stamp} if math.isfinite(stamp) else {}
