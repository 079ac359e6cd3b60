"""Access tokens shared by every worker process, so the platform's fetch limit holds.

WeChat's ``access_token`` is valid for 7200 s and fetched at most 2000 times a day per
account; every fetch invalidates the previous token after a five-minute overlap. So workers
must share one token: the first to find none fetches it under a lock, the others wait for it.

- :class:`RedisTokens`: the token in Redis under ``{prefix}wechat:token:{appid}`` with the
  platform's expiry less a margin, fetched under ``…:lock`` (``SET NX PX``, released only by
  its holder); a token the platform refused is dropped only if it is still the one stored.
- :class:`LocalTokens`: the same in one process (no Redis configured).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import redis

from orchestrator.clock import Clock
from orchestrator.errors import TransientError

Fetch = Callable[[], tuple[str, int]]  # () -> (token, expires_in seconds)
MARGIN_SECONDS = 300  # refresh five minutes early: the platform's own overlap

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_DROP = _RELEASE


class TokenStore(Protocol):
    def token(self, appid: str, fetch: Fetch) -> str: ...

    def drop(self, appid: str, token: str) -> None: ...


class LocalTokens:
    """One process's tokens (a deployment without Redis; tests)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def token(self, appid: str, fetch: Fetch) -> str:
        with self._lock:
            found = self._tokens.get(appid)
            now = self.clock.now().timestamp()
            if found is None or found[1] <= now:
                value, expires_in = fetch()
                found = (value, now + max(expires_in - MARGIN_SECONDS, 60))
                self._tokens[appid] = found
            return found[0]

    def drop(self, appid: str, token: str) -> None:
        with self._lock:
            if self._tokens.get(appid, ("",))[0] == token:
                del self._tokens[appid]


class RedisTokens:
    """Tokens in Redis, fetched by one process at a time.

    Parameters:
      client: the Redis connection.
      prefix: prepended to every key (a deployment's or a test's namespace).
      wait_seconds: how long a process waits for another's fetch before giving up
        (a transient error: dispatch retries the send).
    """

    def __init__(self, client: redis.Redis, *, prefix: str = "", wait_seconds: float = 10) -> None:
        self.client = client
        self.prefix = prefix
        self.wait_seconds = wait_seconds

    def _key(self, appid: str) -> str:
        return f"{self.prefix}wechat:token:{appid}"

    def token(self, appid: str, fetch: Fetch) -> str:
        key = self._key(appid)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            stored = self.client.get(key)
            if stored is not None:
                return stored.decode() if isinstance(stored, bytes) else str(stored)
            holder = uuid.uuid4().hex
            if self.client.set(f"{key}:lock", holder, nx=True, px=15_000):
                try:
                    stored = self.client.get(key)  # fetched while we took the lock
                    if stored is not None:
                        return stored.decode() if isinstance(stored, bytes) else str(stored)
                    value, expires_in = fetch()
                    self.client.set(key, value, ex=max(expires_in - MARGIN_SECONDS, 60))
                    return value
                finally:
                    self.client.eval(_RELEASE, 1, f"{key}:lock", holder)
            if time.monotonic() > deadline:
                raise TransientError(
                    "wechat_official", "token_wait", "another process is fetching the token"
                )
            time.sleep(0.05)

    def drop(self, appid: str, token: str) -> None:
        self.client.eval(_DROP, 1, self._key(appid), token)
