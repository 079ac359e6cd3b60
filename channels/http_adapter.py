"""The base of every adapter that calls its provider over HTTP (all but SMTP).

What each of them would otherwise repeat lives here once: the call (the configured base URL
and timeout, failures translated at the edge by :func:`channels.transport.call`) and the
reading of an error answer: 429 and 5xx are transient (``Retry-After`` honoured), and the
provider's own code and message, read from its body by :meth:`HttpAdapter.error_details`,
decide the rest in :meth:`HttpAdapter.refused`.
"""

from __future__ import annotations

from typing import Any

import httpx

from channels.base import Adapter
from channels.transport import call, json_body, retryable_status
from orchestrator.errors import PermanentError, ProviderError


class HttpAdapter(Adapter):
    """An adapter whose provider speaks HTTP. Subclasses say how to read the provider's
    error body (:meth:`error_details`) and what a refusal means (:meth:`refused`)."""

    def request(self, method: str, target: str, **kwargs: Any) -> httpx.Response:
        """One request to the provider.

        Parameters:
          target: a path under the settings' ``base_url`` (``/v3/push``), or a whole URL.
          kwargs: as for :meth:`httpx.Client.request` (``json``, ``data``, ``headers``...).
        """
        url = target if "://" in target else self.settings.base_url.rstrip("/") + target
        return call(
            self.name, self.http, method, url, timeout=self.settings.timeout_seconds, **kwargs
        )

    def error(self, response: httpx.Response) -> ProviderError:
        """The error an answer that is not a success stands for."""
        body = json_body(response)
        code, message = self.error_details(response, body)
        transient = retryable_status(self.name, response, now=self.clock.now(), code=code)
        if transient is not None:
            return transient
        return self.refused(code or str(response.status_code), message, body)

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        """The provider's own error code (``None`` when its body has none) and message."""
        return None, response.text[:200]

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
        """A 4xx answer: permanent, unless the provider's code says to try again."""
        return PermanentError(self.name, code, message)
