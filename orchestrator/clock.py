"""Time, injected.

Every component that needs "now" takes a :class:`Clock`; production passes
:class:`SystemClock`, the simulation and tests pass :class:`VirtualClock`. Nothing reads the
wall clock directly, which is what lets ``orchestrator simulate`` run the real code on
virtual time.
"""

from __future__ import annotations

import threading
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
