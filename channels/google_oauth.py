"""OAuth 2.0 access tokens for a Google service account (the "JWT bearer" flow).

Source: https://developers.google.com/identity/protocols/oauth2/service-account#httprest
(a JWT signed RS256 with the key's ``private_key``: ``iss`` = ``client_email``, ``scope``,
``aud`` = the token endpoint, ``iat``, ``exp`` at most one hour later; POSTed as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>``; the answer has
``access_token`` and ``expires_in``).

The token is cached until shortly before it expires; one lock keeps many worker threads
from minting at once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import jwt

from channels.transport import call, json_body, retryable_status
from orchestrator.clock import Clock
from orchestrator.errors import ConfigError, PermanentError, Problem

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Renew this long before expiry, so a token never dies in flight.
EXPIRY_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The fields of a service-account key file that the flow needs."""

    client_email: str
    private_key: str
    private_key_id: str
    project_id: str
    token_uri: str

    @classmethod
    def from_json(cls, text: str, *, setting: str) -> ServiceAccount:
        """Parse the key file's JSON; a clear :class:`ConfigError` when it is not one."""
        try:
            data = json.loads(text)
            return cls(
                client_email=data["client_email"],
                private_key=data["private_key"],
                private_key_id=data.get("private_key_id", ""),
                project_id=data.get("project_id", ""),
                token_uri=data.get("token_uri", "https://oauth2.googleapis.com/token"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                setting, [Problem(setting, f"not a service-account key: {exc!r}")]
            ) from None


class AccessTokens:
    """Mint and cache access tokens for one service account and scope.

    Parameters:
      provider: the adapter name, for errors.
      account: the service account.
      scope: e.g. ``https://www.googleapis.com/auth/firebase.messaging``.
      token_url: the token endpoint (the sandbox's in tests).
      http / clock / timeout: injected.
    """

    def __init__(
        self,
        provider: str,
        account: ServiceAccount,
        *,
        scope: str,
        token_url: str,
        http: httpx.Client,
        clock: Clock,
        timeout: float,
    ) -> None:
        self.provider = provider
        self.account = account
        self.scope = scope
        self.token_url = token_url
        self.http = http
        self.clock = clock
        self.timeout = timeout
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: datetime | None = None

    def assertion(self) -> str:
        """The signed JWT we exchange for a token."""
        now = int(self.clock.now().timestamp())
        claims = {
            "iss": self.account.client_email,
            "scope": self.scope,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 3600,
        }
        headers = {"kid": self.account.private_key_id} if self.account.private_key_id else None
        return jwt.encode(claims, self.account.private_key, algorithm="RS256", headers=headers)

    def get(self) -> str:
        """A valid access token, minting a new one when the cached one is near expiry."""
        with self._lock:
            now = self.clock.now()
            if self._token and self._expires_at and now < self._expires_at - EXPIRY_MARGIN:
                return self._token
            self._token, self._expires_at = self._mint(now)
            return self._token

    def forget(self) -> None:
        """Drop the cached token (the API refused it: revoked or rotated)."""
        with self._lock:
            self._token = None
            self._expires_at = None

    def _mint(self, now: datetime) -> tuple[str, datetime]:
        response = call(
            self.provider,
            self.http,
            "POST",
            self.token_url,
            data={"grant_type": GRANT_TYPE, "assertion": self.assertion()},
            timeout=self.timeout,
        )
        transient = retryable_status(self.provider, response, now=now)
        if transient is not None:
            raise transient
        body = json_body(response)
        token = body.get("access_token")
        if response.status_code != 200 or not token:
            # invalid_grant / unauthorized_client: the key is revoked or wrong.
            raise PermanentError(
                self.provider,
                str(body.get("error") or response.status_code),
                f"token endpoint refused the service account: {body.get('error_description', '')}",
            )
        lifetime = float(body.get("expires_in", 3600))
        return str(token), now + timedelta(seconds=lifetime)
