"""Per-provider limits shared by every worker, kept in Redis: a rate limit (a schedule of send
instants, and a log of the requests let go) and a circuit breaker.

Both use Redis's own clock (``TIME`` inside the scripts), so workers on machines whose clocks
disagree still share one bucket and one breaker.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from orchestrator.configuration.channel_config import Breaker, RateLimit

# The provider's rate as a schedule (GCRA, "virtual scheduling"): KEYS[1] holds the
# theoretical arrival time (TAT, Redis's clock, microseconds) of the next send. ARGV: rate a
# second, capacity (the burst), wanted, within_us, lead_us, dry. Books up to ``wanted``
# consecutive send instants, none sooner than ``lead_us`` nor later than ``within_us`` from
# now; returns the delay (us) of each booked one, then, last, how long until one more could
# be booked within ``within_us`` (0 when every one wanted was). With ``dry`` = 1 nothing is
# booked: it says what would be. The instants booked never number more than
# ``rate * t + capacity`` over any span of t seconds (TAT moves on by one interval each).
_BOOK = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = 1000000 / tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * interval
local wanted = tonumber(ARGV[3])
local within = tonumber(ARGV[4])
local lead = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
now = now + lead
within = within - lead
if tat < now then
  tat = now
end
local booked = {}
for i = 1, wanted do
  local at = math.max(now, tat - tolerance)
  if at - now > within then
    break
  end
  booked[#booked + 1] = math.floor(at - now + lead)
  tat = tat + interval
end
local wait = 0
if #booked < wanted then
  wait = math.ceil(math.max(now, tat - tolerance) - now - within)
end
if ARGV[6] ~= '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',
    math.ceil((tat - now + tolerance) / 1000) + 1000)
end
booked[#booked + 1] = wait
return booked
"""

# The sends actually going out (a sliding log): KEYS[1] is a sorted set of the instants
# (Redis's clock, microseconds) at which requests were let go in the last ``span_us``. ARGV:
# most, span_us, member. Lets this one go (and logs it) when fewer than ``most`` went in the
# span up to now, returning 0; else logs nothing and returns how long (us) until one more
# could go. So no span of ``span_us`` ever holds more than ``most`` requests let go. With a
# KEYS[2] (benchmarks only), each instant let go is also appended to that list.
_ADMIT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local most = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - span))
local count = redis.call('ZCARD', KEYS[1])
if count < most then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(span / 1000) + 1000)
  if KEYS[2] then
    redis.call('RPUSH', KEYS[2], string.format('%.0f', now))
  end
  return 0
end
local leaving = redis.call('ZRANGE', KEYS[1], count - most, count - most, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(leaving[2]) + span - now))
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


@dataclass(frozen=True, slots=True)
class Booking:
    """Send instants booked on a provider's rate limit.

    Parameters:
      delays: seconds from now until each booked send may go out, in order (as many as
        could be booked within the horizon asked for).
      wait: when fewer were booked than wanted, seconds until one more could be.
    """

    delays: tuple[float, ...]
    wait: float = 0.0


ADMIT_GUARD = 0.05
"""How much longer than a second the log of requests let go (:meth:`RateLimiter.admit`)
counts: a request leaves the worker a moment after it is let go (its HTTP request is built
and written), so requests let go more than a second and this guard apart still leave more
than a second apart, even when the first of them was the slower to leave."""


class RateLimiter:
    """A provider's rate limit shared by every worker: ``per_second`` sends, at most
    ``capacity`` at once (the burst), kept in Redis as a schedule of send instants (GCRA)
    and a log of the requests actually let go.

    Parameters:
      client: Redis.
      namespace: key prefix.

    It never waits itself: :meth:`book` says when each booked send may go out (or how long
    until one could be booked), and the dispatcher waits for that instant, outside any
    transaction, immediately before the request. Over any span of ``t`` seconds the booked
    instants number at most ``per_second * t + capacity``; a send that could not go out at
    its instant books a new one rather than go late (which would let sends bunch up).

    The schedule smooths the sends; the log bounds them. At the moment of sending, each
    request asks :meth:`admit`, which lets it go only if fewer than
    :attr:`~orchestrator.configuration.channel_config.RateLimit.most_in_a_second`
    (``per_second + burst``) were let go in the last second (and :data:`ADMIT_GUARD`):
    however late threads wake, whatever a stalled process does with its instants, no second
    holds more requests than that.
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._book = client.register_script(_BOOK)
        self._admit = client.register_script(_ADMIT)
        self.record_to: str | None = None
        """Benchmarks only: a Redis list each instant let go (Redis's clock, microseconds) is
        appended to, to compare with when the requests actually left."""

    def book(
        self,
        provider: str,
        limit: RateLimit | None,
        wanted: int,
        *,
        within: float,
        lead: float = 0.0,
        dry: bool = False,
    ) -> Booking:
        """Book up to ``wanted`` sends to ``provider`` at instants no sooner than ``lead``
        and no later than ``within`` seconds from now, in one atomic step.

        Parameters:
          provider: the limit's key (the provider, per account for a tenant's own).
          limit: its rate limit; ``None`` books every send now.
          wanted: how many sends.
          within: the latest instant the caller can use, in seconds from now.
          lead: the soonest instant the caller can use (the time its request needs to be
            ready to go).
          dry: book nothing; say what would be booked.
        """
        if limit is None or wanted <= 0:
            return Booking((lead,) * max(wanted, 0))
        key = f"{self.namespace}:ratelimit:{provider}:schedule"
        *booked, wait = self._book(
            keys=[key],
            args=[
                limit.per_second,
                limit.capacity,
                wanted,
                int(max(within, -1.0) * 1_000_000),
                int(max(lead, 0.0) * 1_000_000),
                "1" if dry else "0",
            ],
        )
        return Booking(tuple(int(d) / 1_000_000 for d in booked), int(wait) / 1_000_000)

    def book_one(self, provider: str, limit: RateLimit | None, *, within: float) -> float | None:
        """Book one send no more than ``within`` seconds from now: the seconds until it may
        go out, or ``None`` when none could be booked that soon (nothing is booked then)."""
        booking = self.book(provider, limit, 1, within=within)
        return booking.delays[0] if booking.delays else None

    def admit(self, provider: str, limit: RateLimit | None, token: str) -> float:
        """Let one request to ``provider`` go now, in one atomic step, if fewer than
        ``limit.most_in_a_second`` went in the last second (and :data:`ADMIT_GUARD`): 0.0,
        and it is logged as gone. Otherwise nothing is logged and the answer is the seconds
        until one more could go (the request asks again no sooner).

        Parameters:
          provider: the limit's key (as for :meth:`book`).
          limit: its rate limit; ``None`` lets every request go.
          token: unique to this request (the log's member).
        """
        if limit is None:
            return 0.0
        key = f"{self.namespace}:ratelimit:{provider}:sent"
        wait = self._admit(
            keys=[key] if self.record_to is None else [key, self.record_to],
            args=[limit.most_in_a_second, int((1.0 + ADMIT_GUARD) * 1_000_000), token],
        )
        return int(wait) / 1_000_000


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
