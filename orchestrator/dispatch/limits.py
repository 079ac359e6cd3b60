"""Per-provider limits shared by every worker, kept in Redis: a token bucket (rate limit) and
a circuit breaker.

Both use Redis's own clock (``TIME`` inside the scripts), so workers on machines whose clocks
disagree still share one bucket and one breaker.
"""

from __future__ import annotations

import redis

from orchestrator.configuration.channel_config import Breaker, RateLimit

# ARGV: rate, capacity, wanted. Returns {granted, wait_ms}: as many tokens as there are, up
# to wanted, and when the next one frees if fewer were granted.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
local wait = 0
if granted < wanted then
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return {granted, wait}
"""

# KEYS: failures, open, trial. ARGV: trial_ms. Returns 2 when the circuit is closed (sends go
# ahead), 1 for the one trial send of a half-open circuit, 0 when no send may go ahead.
_ALLOW = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures < tonumber(ARGV[2]) then
  return 2
end
-- half-open: the circuit's rest is over; one trial send at a time
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
  return 1
end
return 0
"""

# KEYS: failures, open, trial. ARGV: threshold, open_ms, failures_ttl_ms. Returns failures.
_FAIL = """
local failures = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  redis.call('DEL', KEYS[3])
end
return failures
"""


CLOSED = 2
TRIAL = 1


class RateLimiter:
    """A token bucket per provider: ``per_second`` sends with bursts up to ``capacity``.

    Parameters:
      client: Redis.
      namespace: key prefix.

    It never waits itself: :meth:`take` says how long until a token frees, and the dispatcher
    decides (waits briefly outside any transaction, or gives the task back to the queue).
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._take = client.register_script(_TAKE)

    def take(self, provider: str, limit: RateLimit | None) -> float:
        """Take one token now if there is one: returns 0, else the seconds until one frees
        (nothing is taken then)."""
        granted, wait = self.take_many(provider, limit, 1)
        return 0.0 if granted else wait

    def take_many(self, provider: str, limit: RateLimit | None, wanted: int) -> tuple[int, float]:
        """Take up to ``wanted`` tokens now, in one atomic step: how many were taken, and,
        when fewer than ``wanted``, the seconds until the next one frees."""
        if limit is None or wanted <= 0:
            return wanted, 0.0
        key = f"{self.namespace}:ratelimit:{provider}"
        granted, wait = self._take(keys=[key], args=[limit.per_second, limit.capacity, wanted])
        return int(granted), int(wait) / 1000


class CircuitBreaker:
    """Opens after consecutive transient failures, stays open ``reset_seconds``, then lets
    one trial send through; a success closes it again.

    Parameters:
      client: Redis.
      namespace: key prefix.
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._allow = client.register_script(_ALLOW)
        self._fail = client.register_script(_FAIL)

    def _keys(self, provider: str) -> list[str]:
        base = f"{self.namespace}:breaker:{provider}"
        return [f"{base}:failures", f"{base}:open", f"{base}:trial"]

    def allows(self, provider: str, config: Breaker) -> bool:
        """Whether a send may go ahead (asking a half-open circuit takes its one trial)."""
        return self.admits(provider, config) > 0

    def admits(self, provider: str, config: Breaker) -> int:
        """:data:`CLOSED` (any number of sends may go ahead), :data:`TRIAL` (this one send
        is the half-open circuit's trial, taken by asking) or 0 (open)."""
        trial_ms = int(config.reset_seconds * 1000)
        return int(
            self._allow(keys=self._keys(provider), args=[trial_ms, config.failure_threshold])
        )

    def is_open(self, provider: str) -> bool:
        return bool(self.client.exists(self._keys(provider)[1]))

    def failure(self, provider: str, config: Breaker) -> int:
        open_ms = int(config.reset_seconds * 1000)
        return int(
            self._fail(
                keys=self._keys(provider),
                args=[config.failure_threshold, open_ms, open_ms * 10],
            )
        )

    def success(self, provider: str) -> None:
        self.client.delete(*self._keys(provider))
