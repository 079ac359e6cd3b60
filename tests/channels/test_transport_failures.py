"""Reading Retry-After (seconds or an HTTP date) and the statuses worth retrying."""

from __future__ import annotations

import httpx

from channels.transport import retry_after, retryable_status
from tests.channels.channel_support import NOW


def test_retry_after_in_seconds() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "120"}), now=NOW) == 120.0


def test_retry_after_as_http_date() -> None:
    headers = httpx.Headers({"Retry-After": "Mon, 02 Mar 2026 14:06:30 GMT"})
    assert retry_after(headers, now=NOW) == 90.0


def test_retry_after_in_the_past_or_garbage() -> None:
    assert (
        retry_after(httpx.Headers({"Retry-After": "Mon, 02 Mar 2026 14:00:00 GMT"}), now=NOW) == 0.0
    )
    assert retry_after(httpx.Headers({"Retry-After": "soon"}), now=NOW) is None
    assert retry_after(httpx.Headers({}), now=NOW) is None


def test_only_429_and_5xx_are_retryable() -> None:
    for status in (429, 500, 502, 503, 504):
        assert retryable_status("p", httpx.Response(status), now=NOW) is not None
    for status in (400, 401, 403, 404, 409, 422):
        assert retryable_status("p", httpx.Response(status), now=NOW) is None
