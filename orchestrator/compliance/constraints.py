"""The time-varying tests one decision combines: windows, holds, caps and cooldowns.

Each constraint answers three questions about an instant ``t`` (UTC):

- ``earliest(t)``: an instant ``r >= t`` such that the constraint fails everywhere in
  ``[t, r)``; ``r == t`` exactly when it holds at ``t``; ``None`` when it never holds again
  within the horizon. ``r`` may be conservative (the constraint may still fail at ``r``): the
  engine simply asks again from there.
- ``until(t)`` (``t`` allowed): an instant ``u > t`` such that it holds on all of ``[t, u)``;
  ``None`` when it holds past the horizon. Again ``u`` may be conservative.
- ``reasons(t)`` (``t`` refused): one :class:`Reason` per rule that refuses ``t``.

The engine's search for the next allowed instant is a fixpoint over ``earliest``; every step
only moves forward and never past the true answer, so the answer is exact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from orchestrator.compliance.compiled import CapSpec, CooldownSpec
from orchestrator.compliance.holds import Hold, HoldTable, holds_at
from orchestrator.compliance.localtime import day_start, iso_minute, local_date, zone
from orchestrator.compliance.model import AccountFacts, Reason
from orchestrator.compliance.pack import format_clock
from orchestrator.compliance.public_holidays import holiday_name
from orchestrator.compliance.windows import (
    Component,
    HolidayClosure,
    Preference,
    Schedule,
    allowed_until,
    component_day,
    earliest_allowed,
    is_allowed,
    schedule_day,
)
from orchestrator.domain import Channel, Purpose

_TICK = timedelta(microseconds=1)
_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Constraint(Protocol):
    def earliest(self, t: datetime) -> datetime | None: ...

    def until(self, t: datetime) -> datetime | None: ...

    def reasons(self, t: datetime) -> list[Reason]: ...


def solo_earliest(constraint: Constraint, t: datetime, limit: datetime) -> datetime | None:
    """The earliest instant the constraint alone holds (its fixpoint), within ``limit``."""
    current: datetime | None = t
    while current is not None and current < limit:
        nxt = constraint.earliest(current)
        if nxt == current:
            return current
        current = nxt
    return None


class ScheduleConstraint:
    """Allowed windows (pack windows, public holidays, the borrower's preferences) over all
    candidate zones. Preferences can change at an event: ``epochs`` gives, for an instant,
    the preference components in force and when they next change."""

    __slots__ = ("base", "epochs", "limit", "zones")

    def __init__(
        self,
        base: Schedule,
        zones: tuple[str, ...],
        epochs: PreferenceEpochs | None,
        limit: datetime,
    ) -> None:
        self.base = base
        self.zones = zones
        self.epochs = epochs
        self.limit = limit

    def _at(self, t: datetime) -> tuple[Schedule, datetime]:
        if self.epochs is None:
            return self.base, self.limit
        extra, ends = self.epochs.at(t)
        return self.base.with_components(extra), min(ends or self.limit, self.limit)

    def earliest(self, t: datetime) -> datetime | None:
        schedule, epoch_end = self._at(t)
        found = earliest_allowed(schedule_day, schedule, self.zones, t, epoch_end)
        if found is None and epoch_end < self.limit:
            return epoch_end
        return found

    def until(self, t: datetime) -> datetime | None:
        schedule, epoch_end = self._at(t)
        end = allowed_until(schedule_day, schedule, self.zones, t, epoch_end)
        if epoch_end < self.limit and (end is None or end > epoch_end):
            return epoch_end
        return end

    def reasons(self, t: datetime) -> list[Reason]:
        schedule, _ = self._at(t)
        found: list[Reason] = []
        for component in schedule.components:
            if is_allowed(component_day, component, self.zones, t):
                continue
            lifts = earliest_allowed(component_day, component, self.zones, t, self.limit)
            found.append(
                Reason(component.rule_id, component.citation, self._describe(component, t), lifts)
            )
        return found

    def _describe(self, component: Component, t: datetime) -> str:
        """Where and why, naming the first refusing zone and how many others refuse."""
        refusing: list[tuple[str, datetime]] = []
        holiday = ""
        is_holiday = isinstance(component, HolidayClosure)
        is_preference = isinstance(component, Preference)
        for zone_name in dict.fromkeys((*self.zones, *component.extra_zones)):
            local = t.astimezone(zone(zone_name))
            if isinstance(component, HolidayClosure):
                name = holiday_name(component.country, component.subdivision, local.date())
                if name is None:
                    continue
                holiday = holiday or name
            else:
                on_day = component.days >> local.weekday() & 1
                inside = component.start <= local.hour * 60 + local.minute < component.end
                # A window leaves other weekdays open; a preference closes them.
                if (on_day and inside) if is_preference else (not on_day or inside):
                    continue
            refusing.append((zone_name, local))
        if refusing:
            zone_name, local = refusing[0]
            label = _WEEKDAY_LABELS[local.weekday()]
            where = f"{label} {local.hour:02d}:{local.minute:02d} in {zone_name}"
            if len(refusing) > 1:
                where += f" (and {len(refusing) - 1} more candidate zones)"
        else:
            where = "a repeated (DST) hour"
        if is_holiday:
            assert isinstance(component, HolidayClosure)
            region = component.country + (
                f"-{component.subdivision}" if component.subdivision else ""
            )
            return f"public holiday in {region} ({holiday}): {where}"
        assert not isinstance(component, HolidayClosure)
        span = f"{format_clock(component.start)}–{format_clock(component.end)}"
        days = _days_text(component.days)
        if is_preference:
            return f"borrower asked for contact only {span}{days}; it is {where}"
        return f"{where} is outside {span}{days} local"


_WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _days_text(mask: int) -> str:
    if mask == 0b1111111:
        return ""
    return " on " + ",".join(name for i, name in enumerate(_WEEKDAY_NAMES) if mask >> i & 1)


class PreferenceEpochs:
    """The borrower's ``contact_preference`` events for one channel, over time: the latest
    general preference and the latest one for the channel both apply."""

    __slots__ = ("events",)

    def __init__(self, events: Sequence[tuple[datetime, Channel | None, Preference]]) -> None:
        self.events = events

    def at(self, t: datetime) -> tuple[tuple[Component, ...], datetime | None]:
        latest: dict[Channel | None, Preference] = {}
        next_change: datetime | None = None
        for when, scope, preference in self.events:
            if when > t:
                next_change = when
                break
            latest[scope] = preference
        return tuple(latest.values()), next_change


class HoldConstraint:
    """No contact while a hold stops this channel for this purpose (invariant 3)."""

    __slots__ = ("account", "channel", "points", "purpose", "table")

    def __init__(
        self,
        account: AccountFacts,
        channel: Channel,
        purpose: Purpose,
        table: HoldTable,
        points: list[datetime],
    ) -> None:
        self.account = account
        self.channel = channel
        self.purpose = purpose
        self.table = table
        self.points = points

    def blocking(self, t: datetime) -> list[Hold]:
        holds = holds_at(self.account.events, self.account.amount_due, t, self.table)
        return [h for h in holds if h.blocks(self.channel, self.purpose)]

    def earliest(self, t: datetime) -> datetime | None:
        if not self.blocking(t):
            return t
        for point in self.points[bisect_right(self.points, t) :]:
            if not self.blocking(point):
                return point
        return None

    def until(self, t: datetime) -> datetime | None:
        for point in self.points[bisect_right(self.points, t) :]:
            if self.blocking(point):
                return point
        return None

    def reasons(self, t: datetime) -> list[Reason]:
        return [Reason(h.rule_id, h.citation, h.detail, h.until) for h in self.blocking(t)]


class RollingCap:
    """At most ``limit`` counted contacts in any rolling window, including windows that hold
    contacts already reserved *after* ``t``: adding a contact at ``t`` must not push any
    window over the limit (invariant 2)."""

    __slots__ = ("limit", "spec", "times", "window")

    def __init__(self, spec: CapSpec, times: list[datetime]) -> None:
        assert spec.window is not None
        self.spec = spec
        self.times = times
        self.window = spec.window
        self.limit = spec.limit

    def _worst(self, t: datetime) -> tuple[int, datetime]:
        """The fullest window that a contact at ``t`` would fall in: (count, its end)."""
        times, window = self.times, self.window
        best = bisect_right(times, t) - bisect_right(times, t - window)
        best_end = t
        first = bisect_left(times, t)
        last = bisect_left(times, t + window)
        for index in range(first, last):
            end = times[index]
            count = bisect_right(times, end) - bisect_right(times, end - window)
            if count > best:
                best, best_end = count, end
        return best, best_end

    def holds(self, t: datetime) -> bool:
        return self._worst(t)[0] < self.limit

    def earliest(self, t: datetime) -> datetime | None:
        if self.limit <= 0:
            return None
        times = self.times
        if bisect_right(times, t) == len(times):
            # Nothing reserved after ``t`` (the usual case): room opens when the limit-th
            # most recent contact leaves the window.
            count = len(times) - bisect_right(times, t - self.window)
            if count < self.limit:
                return t
            return times[len(times) - self.limit] + self.window
        if self.holds(t):
            return t
        # Only a contact leaving the window (at its time + window) can make room.
        start = bisect_right(self.times, t - self.window)
        for when in self.times[start:]:
            candidate = when + self.window
            if candidate > t and self.holds(candidate):
                return candidate
        return None

    def until(self, t: datetime) -> datetime | None:
        # Only a reserved contact entering the forward span (just after its time - window)
        # can refuse a later instant.
        start = bisect_right(self.times, t + self.window - _TICK)
        if start < len(self.times):
            return self.times[start] - self.window + _TICK
        return None

    def reasons(self, t: datetime) -> list[Reason]:
        count, end = self._worst(t)
        lifts = self.earliest(t)
        if count == 0:
            message = f"no {self.spec.noun} allowed (limit {self.limit})"
        else:
            first = self.times[bisect_right(self.times, end - self.window)]
            message = f"{count} {self.spec.noun} since {iso_minute(first)}"
        return [Reason(self.spec.rule_id, self.spec.citation, message, lifts)]


class DailyCap:
    """At most ``limit`` counted contacts per local calendar day of the primary zone (a
    repeated hour is one hour of that day: contacts are instants, never counted twice)."""

    __slots__ = ("limit", "spec", "times", "zone")

    def __init__(self, spec: CapSpec, times: list[datetime], zone_name: str) -> None:
        self.spec = spec
        self.times = times
        self.zone = zone_name
        self.limit = spec.limit

    def _day(self, t: datetime) -> tuple[date, datetime, datetime]:
        day = local_date(t, self.zone)
        return day, day_start(self.zone, day), day_start(self.zone, day + timedelta(days=1))

    def _count(self, start: datetime, end: datetime) -> int:
        return bisect_left(self.times, end) - bisect_left(self.times, start)

    def earliest(self, t: datetime) -> datetime | None:
        if self.limit <= 0:
            return None
        day, start, end = self._day(t)
        while self._count(start, end) >= self.limit:
            if bisect_left(self.times, end) >= len(self.times):
                return end
            day += timedelta(days=1)
            start, end = end, day_start(self.zone, day + timedelta(days=1))
            t = start
        return t

    def until(self, t: datetime) -> datetime | None:
        _, _, end = self._day(t)
        for when in self.times[bisect_left(self.times, end) :]:
            _, start, stop = self._day(when)
            if self._count(start, stop) >= self.limit:
                return start
        return None

    def reasons(self, t: datetime) -> list[Reason]:
        _, start, end = self._day(t)
        day_times = self.times[bisect_left(self.times, start) : bisect_left(self.times, end)]
        if day_times:
            first = iso_minute(day_times[0])
            message = f"{len(day_times)} {self.spec.noun} this local day, the first at {first}"
        else:
            message = f"no {self.spec.noun} allowed (limit {self.limit} a day)"
        return [Reason(self.spec.rule_id, self.spec.citation, message, self.earliest(t))]


class Cooldown:
    """No contact on the blocked channels for ``duration`` after a triggering contact."""

    __slots__ = ("duration", "spec", "times")

    def __init__(self, spec: CooldownSpec, times: list[datetime]) -> None:
        self.spec = spec
        self.times = times
        self.duration = spec.duration

    def _latest_trigger(self, t: datetime) -> datetime | None:
        index = bisect_right(self.times, t)
        if index and self.times[index - 1] > t - self.duration:
            return self.times[index - 1]
        return None

    def earliest(self, t: datetime) -> datetime | None:
        trigger = self._latest_trigger(t)
        while trigger is not None:
            t = trigger + self.duration
            trigger = self._latest_trigger(t)
        return t

    def until(self, t: datetime) -> datetime | None:
        index = bisect_right(self.times, t)
        return self.times[index] if index < len(self.times) else None

    def reasons(self, t: datetime) -> list[Reason]:
        trigger = self._latest_trigger(t)
        assert trigger is not None
        kinds = "/".join(sorted(k.value.replace("_", " ") for k in self.spec.kinds))
        message = f"{kinds} at {iso_minute(trigger)}"
        return [Reason(self.spec.rule_id, self.spec.citation, message, self.earliest(t))]


__all__ = [
    "Constraint",
    "Cooldown",
    "DailyCap",
    "HoldConstraint",
    "PreferenceEpochs",
    "RollingCap",
    "ScheduleConstraint",
    "solo_earliest",
]
