"""Calling a provider over httpx, with failures translated at the edge.

Every adapter sends through :func:`call`, so a timeout, a refused connection or a broken
response is a :class:`TransientError` everywhere, and ``Retry-After`` is read one way.
The status-code mapping that is *not* provider-specific (429 and 5xx are worth retrying)
lives in :func:`retryable_status`; each adapter maps its own 4xx codes.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from channels.egress import EgressRefused
from orchestrator.errors import PermanentError, TransientError

NO_TIME_LEFT = "no_time_left"
"""The code of the :class:`TransientError` for a request not sent because its deadline
(:func:`deadline`) left it less than its timeout: nothing reached the provider."""
FLOOR = 0.001  # the shortest phase timeout: httpx reads 0 as "no wait at all", not "now"

_DEADLINE: contextvars.ContextVar[Callable[[], float] | None] = contextvars.ContextVar(
    "provider_deadline", default=None
)


@contextlib.contextmanager
def deadline(seconds_left: Callable[[], float]) -> Iterator[None]:
    """Requests made inside are over (answered, or given up) when ``seconds_left()`` reaches
    0, and none is written to the wire unless it still leaves the request its whole timeout.

    Dispatch sets it to the send's lease (less a margin): past the lease the reconciler may
    ask the provider about the message, and a request the provider is still taking then
    could be answered "no record" and the message sent again (invariant 4). An httpx
    timeout alone does not hold that line: it bounds each phase (waiting for a pooled
    connection, connecting, each write, each read) separately, so a request could go out
    after waiting most of its timeout for a connection and then wait a whole timeout more
    for its answer; and an adapter's own work before the request (rendering a letter's PDF
    on a loaded machine) comes after dispatch's last look at the clock.

    Parameters:
      seconds_left: real seconds until the deadline, asked afresh at each step.
    """
    token = _DEADLINE.set(seconds_left)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_time_left(provider: str, timeout: float) -> None:
    """Raise the :data:`NO_TIME_LEFT` error when a :func:`deadline` is set and leaves less
    than ``timeout``: for an adapter that talks to its provider other than through
    :func:`call` (SMTP), before each step that hands the message over."""
    seconds_left = _DEADLINE.get()
    if seconds_left is not None and seconds_left() < timeout:
        raise TransientError(
            provider,
            NO_TIME_LEFT,
            f"less than its {timeout:g}s timeout left before its deadline; not sent",
        )


class _TooLate(Exception):
    """Raised inside httpcore, before the request's first byte is written."""


def _bounded(
    provider: str, timeout: float, seconds_left: Callable[[], float], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """``kwargs`` for :meth:`httpx.Client.request` whose phases all end by the deadline.

    The phase timeouts are a dict httpcore reads at the start of each phase; a ``trace``
    hook (httpcore's extension, called as each phase starts) shortens them to the time
    left, and refuses to write the request at all when less than ``timeout`` is left."""
    check_time_left(provider, timeout)
    phases = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}

    def hook(event: str, info: dict[str, Any]) -> None:
        if not event.endswith(".started"):
            return
        step = event.rsplit(".", 2)[-2]
        if step == "send_request_headers":
            if seconds_left() < timeout:
                raise _TooLate  # nothing written yet: the provider never saw it
        elif step == "send_request_body":
            phases["write"] = max(min(timeout, seconds_left()), FLOOR)
        elif step == "receive_response_headers":
            phases["read"] = max(min(timeout, seconds_left()), FLOOR)

    extensions = dict(kwargs.pop("extensions", None) or {})
    previous = extensions.get("trace")

    def trace(event: str, info: dict[str, Any]) -> None:
        hook(event, info)
        if previous is not None:
            previous(event, info)

    return {**kwargs, "extensions": {**extensions, "timeout": phases, "trace": trace}}


def call(
    provider: str,
    http: httpx.Client,
    method: str,
    url: str,
    *,
    timeout: float,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; a request that never got an answer raises :class:`TransientError`.

    Parameters:
      provider: the adapter name, carried by the error.
      http: the shared client (its transport is what tests inject).
      method / url / kwargs: as for :meth:`httpx.Client.request`.
      timeout: seconds for the whole request; past it the provider may or may not have
        acted, which is why dispatch reconciles (``lookup``) rather than resends blindly.
        Inside :func:`deadline`, no phase outlasts the deadline, and a request with less
        than ``timeout`` left is not sent (a :class:`TransientError` coded
        :data:`NO_TIME_LEFT`, safe to send again).
    """
    seconds_left = _DEADLINE.get()
    try:
        if seconds_left is None:
            return http.request(method, url, timeout=timeout, **kwargs)
        return http.request(method, url, **_bounded(provider, timeout, seconds_left, kwargs))
    except _TooLate:
        raise TransientError(
            provider,
            NO_TIME_LEFT,
            f"less than its {timeout:g}s timeout left before its deadline; not sent",
        ) from None
    except EgressRefused as exc:
        # A tenant's endpoint that resolves inside our network: its configuration is wrong,
        # and trying again will not make it right.
        raise PermanentError(provider, "endpoint_refused", str(exc)) from None
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # The request never left: resending it cannot send twice.
        raise TransientError(provider, "connection", f"could not connect: {exc!r}") from None
    except httpx.TimeoutException as exc:
        raise TransientError(
            provider, "timeout", f"no answer within {timeout:g}s: {exc!r}", maybe_delivered=True
        ) from None
    except httpx.TransportError as exc:
        raise TransientError(
            provider, "connection", f"connection failed: {exc!r}", maybe_delivered=True
        ) from None


def retry_after(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait (delta-seconds or an HTTP date).

    Parameters:
      headers: the response headers.
      now: the injected clock's instant, to turn an HTTP date into a delay.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def retryable_status(
    provider: str, response: httpx.Response, *, now: datetime, code: str | None = None
) -> TransientError | None:
    """The transient error for a 429 or 5xx answer, else ``None``.

    Parameters:
      code: the provider's own error code when its body carried one.
    """
    status = response.status_code
    if status == 429 or status >= 500:
        return TransientError(
            provider,
            code or str(status),
            f"HTTP {status}: {response.text[:200]}",
            retry_after=retry_after(response.headers, now=now),
        )
    return None


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or an empty dict when it is not one (an HTML error
    page from a proxy, an empty 5xx)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
