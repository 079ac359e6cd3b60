"""The rate limit's log of requests let go (``RateLimiter.admit``, in Redis): at the moment of
sending, a request goes only if fewer than ``per_second + burst`` went in the last second
(and a small guard); otherwise it is told how long until one more could go, and nothing is
logged for it."""

from __future__ import annotations

import time

import redis

from orchestrator.configuration.channel_config import RateLimit
from orchestrator.dispatch.limits import ADMIT_GUARD, RateLimiter


def test_the_most_in_a_second_is_the_rate_and_the_burst():
    assert RateLimit(per_second=20).most_in_a_second == 22  # burst: a tenth, 2
    assert RateLimit(per_second=100).most_in_a_second == 110
    assert RateLimit(per_second=20, burst=1).most_in_a_second == 21
    assert RateLimit(per_second=3).most_in_a_second == 4  # burst at least 1
    assert RateLimit(per_second=0.5).most_in_a_second == 1


def test_no_more_than_the_most_go_within_a_second(redis_url, redis_namespace):
    client = redis.Redis.from_url(redis_url)
    limiter = RateLimiter(client, redis_namespace)
    limit = RateLimit(per_second=4, burst=1)  # at most 5 in any second
    began = time.monotonic()
    waits = [limiter.admit("sms", limit, f"r{i}") for i in range(7)]
    asked_in = time.monotonic() - began

    assert waits[:5] == [0.0] * 5
    # The sixth and seventh find no room: each told to come back when the first leaves the
    # log, a second (and the guard) after it went; neither is logged.
    for wait in waits[5:]:
        assert 1.0 + ADMIT_GUARD - asked_in - 0.01 <= wait <= 1.0 + ADMIT_GUARD + 1e-6
    assert client.zcard(f"{redis_namespace}:ratelimit:sms:sent") == 5

    time.sleep(waits[6] + 0.01)
    assert limiter.admit("sms", limit, "r7") == 0.0  # the first left: room again


def test_each_provider_account_has_its_own_log(redis_url, redis_namespace):
    limiter = RateLimiter(redis.Redis.from_url(redis_url), redis_namespace)
    limit = RateLimit(per_second=1, burst=1)  # at most 2 in any second
    assert [limiter.admit("twilio_sms", limit, f"a{i}") for i in range(2)] == [0.0, 0.0]
    assert limiter.admit("twilio_sms", limit, "a2") > 0.0
    assert limiter.admit("twilio_sms@acme", limit, "b0") == 0.0
    assert limiter.admit("twilio_sms", None, "c0") == 0.0  # no limit: always goes
