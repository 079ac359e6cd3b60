"""Calling a provider over httpx, with failures translated at the edge.

Every adapter sends through :func:`call`, so a timeout, a refused connection or a broken
response is a :class:`TransientError` everywhere, and ``Retry-After`` is read one way.
The status-code mapping that is *not* provider-specific (429 and 5xx are worth retrying)
lives in :func:`retryable_status`; each adapter maps its own 4xx codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from channels.egress import EgressRefused
from orchestrator.errors import PermanentError, TransientError


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
    """
    try:
        return http.request(method, url, timeout=timeout, **kwargs)
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
