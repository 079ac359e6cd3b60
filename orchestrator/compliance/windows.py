"""When, by the clock and the calendar, a channel may be used: the allowed windows.

A :class:`Schedule` is the intersection of time components (a pack's window rules, public
holidays, the borrower's stated preferences), each evaluated in every candidate zone of the
borrower (invariant 1: when the zone is uncertain, the window is the intersection over all
candidate zones). The engine asks two questions of it: the earliest allowed instant at or
after ``t``, and how long an allowed stretch lasts. Both are answered from per-UTC-day interval
lists that are computed once per (schedule, zones, day) and cached, which is what keeps
:func:`orchestrator.compliance.decide` fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from orchestrator.compliance.localtime import closing_instant, opening_instant
from orchestrator.compliance.public_holidays import holiday_name

Interval = tuple[datetime, datetime]
DayFunction = Callable[[Any, tuple[str, ...], int], tuple[Interval, ...]]
"""A cached "allowed UTC intervals of this UTC day" function (per component or schedule)."""
_DAY = timedelta(days=1)
_FULL_DAY: tuple[tuple[int, int], ...] = ((0, 1440),)
_CLOSED: tuple[tuple[int, int], ...] = ()


def _cache_hash(component: object) -> None:
    """Components key the per-day caches: hash their fields once, not on every lookup."""
    values = tuple(getattr(component, f.name) for f in fields(component) if f.compare)  # type: ignore[arg-type]
    object.__setattr__(component, "_hash", hash((type(component).__name__, values)))


@dataclass(frozen=True, slots=True)
class Window:
    """Between ``start`` and ``end`` (minutes after local midnight) on the weekdays of
    ``days`` (a bit mask, Monday = bit 0); other days are not restricted by this window."""

    rule_id: str
    citation: str
    start: int
    end: int
    days: int
    extra_zones: tuple[str, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        _cache_hash(self)

    def __hash__(self) -> int:
        return self._hash

    def local(self, day: date) -> tuple[tuple[int, int], ...]:
        if self.days >> day.weekday() & 1:
            return ((self.start, self.end),)
        return _FULL_DAY


@dataclass(frozen=True, slots=True)
class HolidayClosure:
    """No contact at all on a public holiday of ``country``/``subdivision``."""

    rule_id: str
    citation: str
    country: str
    subdivision: str | None
    extra_zones: tuple[str, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        _cache_hash(self)

    def __hash__(self) -> int:
        return self._hash

    def local(self, day: date) -> tuple[tuple[int, int], ...]:
        return _CLOSED if holiday_name(self.country, self.subdivision, day) else _FULL_DAY


@dataclass(frozen=True, slots=True)
class Preference:
    """The borrower's stated convenient times: only between ``start`` and ``end``, and only
    on the weekdays of ``days``."""

    rule_id: str
    citation: str
    start: int
    end: int
    days: int
    extra_zones: tuple[str, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        _cache_hash(self)

    def __hash__(self) -> int:
        return self._hash

    def local(self, day: date) -> tuple[tuple[int, int], ...]:
        if self.days >> day.weekday() & 1:
            return ((self.start, self.end),)
        return _CLOSED


Component = Window | HolidayClosure | Preference


class Schedule:
    """An intersection of time components; hashable, with its hash computed once."""

    __slots__ = ("_hash", "components")

    def __init__(self, components: Sequence[Component]) -> None:
        self.components: tuple[Component, ...] = tuple(components)
        self._hash = hash(self.components)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        return isinstance(other, Schedule) and other.components == self.components

    def with_components(self, extra: Sequence[Component]) -> Schedule:
        return Schedule((*self.components, *extra)) if extra else self


def _merge(intervals: list[Interval]) -> list[Interval]:
    intervals.sort()
    merged: list[Interval] = []
    for start, end in intervals:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


@lru_cache(maxsize=4096)
def _utc_midnight(ordinal: int) -> datetime:
    return datetime.fromordinal(ordinal).replace(tzinfo=UTC)


@lru_cache(maxsize=131072)
def component_day(
    component: Component, zones: tuple[str, ...], ordinal: int
) -> tuple[Interval, ...]:
    """The UTC intervals of UTC day ``ordinal`` that ``component`` allows in every zone."""
    day_start = _utc_midnight(ordinal)
    day_end = day_start + _DAY
    result: list[Interval] = [(day_start, day_end)]
    for zone_name in (*zones, *component.extra_zones):
        in_zone: list[Interval] = []
        # Local dates that overlap this UTC day: offsets stay within ±14 h.
        for local_ordinal in (ordinal - 1, ordinal, ordinal + 1):
            local_day = date.fromordinal(local_ordinal)
            for start, end in component.local(local_day):
                in_zone.append(
                    (
                        opening_instant(zone_name, local_day, start),
                        closing_instant(zone_name, local_day, end),
                    )
                )
        result = _intersect(result, _merge(in_zone))
        if not result:
            break
    return tuple(
        (max(s, day_start), min(e, day_end)) for s, e in result if s < day_end and e > day_start
    )


@lru_cache(maxsize=131072)
def schedule_day(schedule: Schedule, zones: tuple[str, ...], ordinal: int) -> tuple[Interval, ...]:
    """The UTC intervals of UTC day ``ordinal`` that every component of ``schedule`` allows."""
    day_start = _utc_midnight(ordinal)
    result: Sequence[Interval] = ((day_start, day_start + _DAY),)
    for component in schedule.components:
        result = _intersect(result, component_day(component, zones, ordinal))
        if not result:
            break
    return tuple(result)


def earliest_allowed(
    days: DayFunction, key: object, zones: tuple[str, ...], at: datetime, limit: datetime
) -> datetime | None:
    """The earliest instant >= ``at`` (and before ``limit``) inside the allowed intervals."""
    ordinal = at.toordinal()
    t = at
    while t < limit:
        for start, end in days(key, zones, ordinal):
            if end > t:
                return start if start > t else t
        ordinal += 1
        t = _utc_midnight(ordinal)
    return None


def allowed_until(
    days: DayFunction, key: object, zones: tuple[str, ...], at: datetime, limit: datetime
) -> datetime | None:
    """The end of the allowed stretch containing ``at`` (``at`` must be allowed); ``None``
    when it lasts past ``limit``."""
    ordinal = at.toordinal()
    t = at
    while True:
        end_of_stretch: datetime | None = None
        for start, end in days(key, zones, ordinal):
            if start <= t < end:
                end_of_stretch = end
                break
        if end_of_stretch is None:
            return t
        ordinal += 1
        next_midnight = _utc_midnight(ordinal)
        if end_of_stretch < next_midnight:
            return end_of_stretch
        if next_midnight >= limit:
            return None
        t = next_midnight


def is_allowed(days: DayFunction, key: object, zones: tuple[str, ...], at: datetime) -> bool:
    return any(start <= at < end for start, end in days(key, zones, at.toordinal()))
