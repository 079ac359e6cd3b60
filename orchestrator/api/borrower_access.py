"""Who may use a self-service link: the second factor, the session it opens, the forms'
CSRF tokens and the rate limits (per link and per client address, in Redis).

A link alone shows nothing. The borrower proves they are the borrower with the last four
digits of a telephone number on the account; that opens a short session (a signed cookie
bound to the link, ``HttpOnly``, ``SameSite=Strict``). Every form carries a CSRF token
bound to the session and a one-time nonce: the nonce is the event's business key, so a
form posted twice (a double tap, a replay) records its action once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis

SESSION_COOKIE = "ss_session"
PRE_COOKIE = "ss_pre"  # before the second factor: the verify form's double-submit token
SESSION_SECONDS = 15 * 60


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` per ``seconds`` (a fixed window)."""

    name: str
    count: int
    seconds: int


# Requests of any kind; failed second factors (a lock that also slows down a guesser
# walking through 10,000 four-digit codes: 5 tries per link per 15 minutes).
REQUESTS_PER_LINK = Limit("link", 60, 60)
REQUESTS_PER_ADDRESS = Limit("address", 120, 60)
FAILURES_PER_LINK = Limit("fail-link", 5, 15 * 60)
FAILURES_PER_ADDRESS = Limit("fail-address", 20, 15 * 60)


class RateLimits:
    """Fixed-window counters in Redis under the deployment's namespace.

    Parameters:
      client: Redis.
      namespace: the deployment's key prefix.
      now: seconds since the epoch (injected so virtual time applies).
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def _key(self, limit: Limit, subject: str, now: float) -> str:
        window = int(now // limit.seconds)
        digest = hashlib.sha256(subject.encode()).hexdigest()[:24]
        return f"{self.namespace}:self-service:{limit.name}:{digest}:{window}"

    def over(self, checks: Iterable[tuple[Limit, str]], now: float | None = None) -> bool:
        """Whether any (limit, subject) is already spent, without counting."""
        at = time.time() if now is None else now
        for limit, subject in checks:
            used = self.client.get(self._key(limit, subject, at))
            if used is not None and int(used) >= limit.count:
                return True
        return False

    def hit(self, checks: Iterable[tuple[Limit, str]], now: float | None = None) -> bool:
        """Count one use against each (limit, subject); whether any is now over."""
        at = time.time() if now is None else now
        over = False
        pipe = self.client.pipeline()
        keys = []
        for limit, subject in checks:
            key = self._key(limit, subject, at)
            pipe.incr(key)
            pipe.expire(key, limit.seconds + 1)
            keys.append(limit)
        results = pipe.execute()
        for limit, used in zip(keys, results[::2], strict=True):
            if int(used) > limit.count:
                over = True
        return over


def _mac(secret: str, purpose: str, *parts: object) -> str:
    message = "|".join([purpose, *map(str, parts)]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def open_session(secret: str, link_id: int, now: float, seconds: int = SESSION_SECONDS) -> str:
    """A session cookie's value: the link, when it ends, and their MAC."""
    until = int(now) + seconds
    return f"{link_id}.{until}.{_mac(secret, 'session', link_id, until)}"


def session_valid(secret: str, value: str | None, link_id: int, now: float) -> bool:
    if not value:
        return False
    try:
        found, until, mac = value.split(".")
        if int(found) != link_id or int(until) <= now:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(mac, _mac(secret, "session", link_id, until))


def new_nonce() -> str:
    """A form's one-time id (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def csrf_token(secret: str, session: str, nonce: str) -> str:
    """The CSRF token of one form: bound to the session and the form's nonce."""
    return _mac(secret, "csrf", session, nonce)


def csrf_valid(secret: str, session: str | None, nonce: str, token: str) -> bool:
    if not session or not nonce or not token:
        return False
    return hmac.compare_digest(token, csrf_token(secret, session, nonce))


def last_four_matches(answer: str, numbers: Iterable[str]) -> bool:
    """Whether ``answer`` is the last four digits of one of the account's numbers."""
    digits = "".join(c for c in answer if c.isdigit())
    if len(digits) != 4:
        return False
    # Compared in constant time, each, so the answer's timing tells nothing.
    return any(
        hmac.compare_digest(digits, "".join(c for c in n if c.isdigit())[-4:]) for n in numbers
    )
