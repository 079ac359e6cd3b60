"""A send's lease and the window margin bound real things (HTTP requests, the time to reach
a provider): on a clock running fast (the demo, the chaos bench) they are converted, so a
40 s lease is still 40 real seconds at 480x, not 40/480 of one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.clock import ScaledClock, SystemClock, VirtualClock
from orchestrator.configuration.channel_config import DispatchPolicy
from orchestrator.dispatch.reserve import lease_of, margin_of

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def test_on_the_wall_clock_they_are_as_configured():
    policy = DispatchPolicy(lease_seconds=300, window_margin_seconds=5)
    for clock in (SystemClock(), VirtualClock(START)):
        assert lease_of(policy, clock) == timedelta(seconds=300)
        assert margin_of(policy, clock) == timedelta(seconds=5)


def test_on_a_fast_clock_they_are_real_seconds():
    policy = DispatchPolicy(lease_seconds=40, window_margin_seconds=5)
    clock = ScaledClock(START, 480)
    assert lease_of(policy, clock) == timedelta(seconds=40 * 480)  # 5 h 20 min of clock
    assert margin_of(policy, clock) == timedelta(minutes=40)


def test_the_margin_defaults_to_a_few_seconds_and_can_be_turned_off():
    assert DispatchPolicy().window_margin_seconds == 5
    assert DispatchPolicy(window_margin_seconds=0).window_margin_seconds == 0
