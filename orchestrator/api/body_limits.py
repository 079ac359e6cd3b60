"""Request body limits per route, enforced before any route reads a byte of the body.

One pure ASGI middleware for every route, the lender API and the provider webhooks alike: a
``Content-Length`` over the route's limit is answered 413 at once, without reading the body;
a body sent without one (``Transfer-Encoding: chunked``) is counted while it streams in, and
answered 413 as soon as it passes the limit. So no route ever holds more than its limit in
memory, whoever sends it, signed or not. The limits are in docs/operations.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.api.errors import body
from orchestrator.api.responses import JSONResponse

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """At most ``limit`` bytes of body for requests whose method is ``method`` (``None``:
    any) and whose path matches ``path`` in full."""

    method: str | None
    path: str
    limit: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and re.fullmatch(
            self.path, path
        ) is not None


# First match wins. A full batch of 10,000 accounts is some 5-15 MB of JSON; SendGrid posts
# event batches of up to 768 KB; Twilio, Aliyun, JPush and the dialer send a few KB.
LIMITS: tuple[RouteLimit, ...] = (
    RouteLimit("POST", r"/v1/accounts:batch", 32 * MIB),
    RouteLimit("PUT", r"/v1/accounts/[^/]+", 1 * MIB),
    RouteLimit("POST", r"/v1/accounts/[^/]+/events", 64 * KIB),
    RouteLimit(None, r"/v1/config(/.*)?", 1 * MIB),
    RouteLimit("POST", r"/v1/webhooks/.+", 1 * MIB),
    # The console's config editors send a config (at most 1 MiB) URL-encoded.
    RouteLimit("POST", r"/console/.+", 3 * MIB),
)
# Everything else (reads, health, metrics) takes no body worth the name.
DEFAULT_LIMIT = 64 * KIB
# A Content-Length with more digits than this is over any limit (and ``int()`` of thousands
# of digits is refused by Python itself).
_MAX_LENGTH_DIGITS = 18


class BodyTooLarge(Exception):
    """Raised into the route from ``receive`` when a streamed body passes its limit."""


class BodyLimits:
    """ASGI middleware capping request bodies per route.

    Parameters:
      app: the application to protect.
      limits: per-route limits, first match wins.
      default: the limit of a route that matches none.
    """

    def __init__(
        self,
        app: Any,
        limits: Sequence[RouteLimit] = LIMITS,
        default: int = DEFAULT_LIMIT,
    ) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    def limit_for(self, method: str, path: str) -> int:
        return next((r.limit for r in self.limits if r.matches(method, path)), self.default)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        # (A malformed Content-Length never gets here through a server: it refuses it.)
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and (len(declared) > _MAX_LENGTH_DIGITS or int(declared) > limit)
        ):
            await _too_large(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:  # a route that answers before reading all of its body: nothing to do
                raise
            await _too_large(scope, receive, send, limit)


def _content_length(scope: Any) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return str(value.decode("latin-1").strip())
    return None


async def _too_large(scope: Any, receive: Any, send: Any, limit: int) -> None:
    response = JSONResponse(
        body(
            "payload_too_large",
            f"The body is over {limit:,} bytes, the limit of {scope['method']} "
            f"{scope['path']}: send less (split a batch), see docs/operations.md.",
        ),
        status_code=413,
        # The rest of the body is not read: the connection cannot carry another request.
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
