"""Local wall time to UTC instants, with DST gaps and folds resolved the strict way.

A rule says "08:00–21:00 local"; the engine works on UTC instants. Two wall times need care:
a local time that does not exist (the hour skipped when clocks go forward) and one that happens
twice (the hour repeated when clocks go back). The engine never contacts anyone at a local time
that does not exist, and never lets a repeated hour widen a window, so:

- a window *opens* at the **latest** instant its local start time can mean (the second
  occurrence in a fold; the end of the gap in a gap);
- a window *closes* at the **earliest** instant its local end time can mean (the first
  occurrence in a fold; the end of the gap in a gap).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
_MINUTE = timedelta(minutes=1)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name, cached (``ZoneInfo`` construction is not free).

    Parameters:
      name: an IANA zone such as ``America/New_York``; an unknown name raises
        ``zoneinfo.ZoneInfoNotFoundError``.
    """
    return ZoneInfo(name)


def _wall(day: date, minute: int) -> datetime:
    """The naive wall time ``minute`` minutes after the start of ``day`` (1440 = next day)."""
    if minute >= MINUTES_PER_DAY:
        return datetime.combine(day + timedelta(days=1), time(0))
    return datetime.combine(day, time(minute // 60, minute % 60))


def _first_instant_at_or_after(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant whose wall time in ``tz`` is at or after ``wall`` (``wall`` lies
    in a gap): found by bisection between the two readings PEP 495 gives a gap."""
    a = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    b = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)
    # Transitions fall on whole minutes in every zone tzdata describes since 1970.
    while hi - lo > _MINUTE:
        mid = lo + (hi - lo) // 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= lo:
            mid = lo + _MINUTE
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _readings(wall: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Both UTC readings of ``wall`` (equal unless in a fold), or ``None`` in a gap."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    exists = first.astimezone(tz).replace(tzinfo=None) == wall
    if not exists:
        return None
    return (min(first, second), max(first, second))


@lru_cache(maxsize=65536)
def opening_instant(zone_name: str, day: date, minute: int) -> datetime:
    """The UTC instant at which a window opening at local ``minute`` of ``day`` opens.

    Parameters:
      zone_name: IANA zone of the wall clock.
      day: the local date.
      minute: minutes after local midnight, 0–1440.
    """
    tz = zone(zone_name)
    wall = _wall(day, minute)
    readings = _readings(wall, tz)
    if readings is None:
        return _first_instant_at_or_after(wall, tz)
    return readings[1]


@lru_cache(maxsize=65536)
def closing_instant(zone_name: str, day: date, minute: int) -> datetime:
    """The UTC instant at which a window closing at local ``minute`` of ``day`` closes.

    Parameters:
      zone_name: IANA zone of the wall clock.
      day: the local date.
      minute: minutes after local midnight, 0–1440 (1440 closes at the next local midnight).
    """
    tz = zone(zone_name)
    wall = _wall(day, minute)
    readings = _readings(wall, tz)
    if readings is None:
        return _first_instant_at_or_after(wall, tz)
    return readings[0]


@lru_cache(maxsize=65536)
def day_start(zone_name: str, day: date) -> datetime:
    """The first UTC instant of local ``day`` in ``zone_name`` (a day that starts in a gap
    starts when the gap ends; a midnight that happens twice counts from its first reading)."""
    tz = zone(zone_name)
    wall = _wall(day, 0)
    readings = _readings(wall, tz)
    if readings is None:
        return _first_instant_at_or_after(wall, tz)
    return readings[0]


def local_date(instant: datetime, zone_name: str) -> date:
    """The calendar date at ``instant`` on the wall clocks of ``zone_name``."""
    return instant.astimezone(zone(zone_name)).date()


def iso_minute(instant: datetime) -> str:
    """``2026-03-02T14:05Z`` (seconds shown only when not zero): the ledger's time format."""
    utc = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    # f-strings: strftime costs more than the rest of a blocked decision's message.
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}"
    if utc.second or utc.microsecond:
        return f"{text}:{utc.second:02d}Z"
    return f"{text}Z"
