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
    """Time that shows ``start`` at the real instant ``anchor`` and runs ``speed`` times as
    fast as the wall clock.

    Used by the demo (a day in a few minutes) and by runs whose processes must agree on what
    time it is. Two clocks with the same start, speed and anchor show the same instant in any
    process, which is why the anchor is a wall-clock instant rather than a process's own
    monotonic start: processes of one deployment share one virtual epoch.
    ``speed=1`` is the wall clock shifted to ``start``.

    Parameters:
      start: the instant this clock shows at ``anchor``.
      speed: virtual seconds per real second.
      anchor: the real instant (POSIX seconds) at which it shows ``start``; default: now.
    """

    def __init__(self, start: datetime, speed: float = 1.0, anchor: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start instant")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start.astimezone(UTC)
        self.speed = speed
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        elapsed = (time.time() - self.anchor) * self.speed
        return self._start + timedelta(seconds=elapsed)

    @property
    def setting(self) -> str:
        """This clock as an ``ORCHESTRATOR_CLOCK`` value, anchor included: a process given it
        shows the same time as this one."""
        anchor = datetime.fromtimestamp(self.anchor, UTC).isoformat()
        return f"{self._start.isoformat()}@{self.speed:g}@{anchor}"


def speed_of(clock: Clock) -> float:
    """Virtual seconds per real second: a :class:`ScaledClock`'s speed, else 1 (the wall
    clock, and a :class:`VirtualClock`, which moves only when told to)."""
    return clock.speed if isinstance(clock, ScaledClock) else 1.0


def clock_from_setting(value: str | None, *, anchor: float | None = None) -> Clock:
    """Read ``ORCHESTRATOR_CLOCK``.

    ``None`` → the wall clock. ``START[@SPEED[@ANCHOR]]`` (e.g. ``2026-11-02T15:00:00Z@60``) →
    a :class:`ScaledClock` showing START at the real instant ANCHOR (ISO 8601). Without an
    anchor in the value, ``anchor`` (POSIX seconds) is used, else the moment of this call.
    """
    if not value:
        return SystemClock()
    start, _, rest = value.partition("@")
    speed, _, anchor_text = rest.partition("@")
    try:
        instant = _instant(start)
        if anchor_text:
            anchor = _instant(anchor_text).timestamp()
        return ScaledClock(instant, float(speed) if speed else 1.0, anchor)
    except ValueError:
        raise ValueError(
            f"ORCHESTRATOR_CLOCK {value!r} is not START[@SPEED[@ANCHOR]], "
            "e.g. 2026-11-02T15:00:00Z@60 or 2026-11-02T15:00:00Z@60@2026-11-28T06:00:00Z"
        ) from None


def _instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError("naive instant")
    return instant
