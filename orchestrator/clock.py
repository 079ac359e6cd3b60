"""Time, injected.

Every component that needs "now" takes a :class:`Clock`; production passes
:class:`SystemClock`, the simulation and tests pass :class:`VirtualClock`. Nothing reads the
wall clock directly, which is what lets ``orchestrator simulate`` run the real code on
virtual time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that moves only when told to.

    Parameters:
      start: the first instant; a naive datetime is refused.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start instant")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware instant")
        with self._lock:
            if instant < self._now:
                raise ValueError("time does not run backwards")
            self._now = instant.astimezone(UTC)


class ScaledClock:
    """Time that starts at ``start`` and runs ``speed`` times as fast as the wall clock.

    Used by the demo (a day in a few minutes) and by tests whose worker processes must agree
    with the test on what time it is. ``speed=1`` is the wall clock shifted to ``start``.

    Parameters:
      start: the instant this clock shows when it is created.
      speed: virtual seconds per real second.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start instant")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self._speed
        return self._start + timedelta(seconds=elapsed)


def clock_from_setting(value: str | None) -> Clock:
    """``None`` → the wall clock; ``2026-11-02T15:00:00Z`` or ``2026-11-02T15:00:00Z@3600``
    (start, and virtual seconds per real second) → a :class:`ScaledClock`."""
    if not value:
        return SystemClock()
    start, _, speed = value.partition("@")
    try:
        instant = datetime.fromisoformat(start.strip().replace("Z", "+00:00"))
        return ScaledClock(instant, float(speed) if speed else 1.0)
    except ValueError:
        raise ValueError(
            f"ORCHESTRATOR_CLOCK {value!r} is not START[@SPEED], e.g. 2026-11-02T15:00:00Z@60"
        ) from None
