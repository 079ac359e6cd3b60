"""A rule pack turned into plain tuples once, so that deciding touches no pydantic model.

:func:`compile_pack` is called by the engine on first use of a pack and the result is kept
on the (frozen) pack object itself; it depends on nothing but the pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from orchestrator.compliance.holds import HoldTable
from orchestrator.compliance.pack import WEEKDAYS, ContactPointRule, RulePack
from orchestrator.compliance.windows import Component, HolidayClosure, Schedule, Window
from orchestrator.domain import Channel, ContactKind


@dataclass(frozen=True, slots=True)
class CapSpec:
    """A frequency cap, compiled. ``window`` is ``None`` for a local-calendar-day cap."""

    rule_id: str
    citation: str
    limit: int
    window: timedelta | None
    channels: frozenset[Channel]
    kinds: frozenset[ContactKind]
    noun: str

    def counts(self, channel: Channel, kind: ContactKind) -> bool:
        return channel in self.channels and kind in self.kinds


@dataclass(frozen=True, slots=True)
class CooldownSpec:
    """A lock after a triggering contact, compiled."""

    rule_id: str
    citation: str
    duration: timedelta
    channels: frozenset[Channel]
    kinds: frozenset[ContactKind]


@dataclass(frozen=True, slots=True)
class PointSpec:
    """A contact-point rule, compiled: ``flag`` is the ``ContactPointFacts`` attribute that
    blocks (``consent`` blocks when *false*)."""

    flag: str
    rule_id: str
    citation: str
    channels: frozenset[Channel]


@dataclass(slots=True)
class CompiledPack:
    """Everything :func:`orchestrator.compliance.decide` reads from a pack."""

    pack_id: str
    windows: dict[Channel, tuple[Window, ...]]
    holiday_rules: dict[Channel, tuple[tuple[str, str], ...]]
    caps: dict[Channel, tuple[CapSpec, ...]]
    cooldowns: dict[Channel, tuple[CooldownSpec, ...]]
    holds: HoldTable
    points: tuple[PointSpec, ...]
    preference: tuple[str, str]
    lookback: timedelta
    _schedules: dict[tuple[Channel, str], Schedule] = field(default_factory=dict)
    _interned: dict[tuple[Component, ...], Schedule] = field(default_factory=dict)

    def schedule(self, channel: Channel, jurisdiction: str) -> Schedule:
        """The channel's windows and the jurisdiction's holidays, as one cached schedule.

        Channels with the same rules share one object, so the per-day caches hit by
        identity instead of comparing equal schedules field by field.
        """
        key = (channel, jurisdiction)
        found = self._schedules.get(key)
        if found is None:
            country, _, subdivision = jurisdiction.partition("-")
            components: list[Component] = list(self.windows.get(channel, ()))
            components += [
                _closure(rule_id, citation, country, subdivision or None)
                for rule_id, citation in self.holiday_rules.get(channel, ())
            ]
            shared = tuple(components)
            found = self._interned.get(shared)
            if found is None:
                found = self._interned[shared] = Schedule(shared)
            self._schedules[key] = found
        return found


@lru_cache(maxsize=1024)
def _closure(rule_id: str, citation: str, country: str, subdivision: str | None) -> HolidayClosure:
    return HolidayClosure(rule_id, citation, country, subdivision)


def day_mask(days: tuple[str, ...]) -> int:
    """Weekday names → bit mask (Monday = bit 0)."""
    mask = 0
    for name in days:
        mask |= 1 << WEEKDAYS.index(name)
    return mask


def compile_pack(pack: RulePack) -> CompiledPack:
    """The pack's rules as per-channel tuples (cached on the pack)."""
    cached = pack._compiled
    if isinstance(cached, CompiledPack):
        return cached
    windows: dict[Channel, tuple[Window, ...]] = {}
    holidays: dict[Channel, tuple[tuple[str, str], ...]] = {}
    caps: dict[Channel, tuple[CapSpec, ...]] = {}
    cooldowns: dict[Channel, tuple[CooldownSpec, ...]] = {}
    # One component object per rule, shared by every channel it applies to.
    compiled_windows = [
        (w, Window(w.id, w.citation, w.start, w.end, day_mask(w.days), tuple(w.zones)))
        for w in pack.windows
    ]
    for channel in Channel:
        windows[channel] = tuple(window for w, window in compiled_windows if channel in w.channels)
        holidays[channel] = tuple(
            (h.id, h.citation) for h in pack.holidays if channel in h.channels
        )
        caps[channel] = tuple(
            CapSpec(
                c.id,
                c.citation,
                c.limit,
                c.window,
                frozenset(c.counts.channels),
                frozenset(c.counts.kinds),
                c.noun,
            )
            for c in pack.caps
            if channel in c.applies_to
        )
        cooldowns[channel] = tuple(
            CooldownSpec(
                c.id, c.citation, c.duration, frozenset(c.after.channels), frozenset(c.after.kinds)
            )
            for c in pack.cooldowns
            if channel in c.blocks
        )
    points: list[PointSpec] = []
    rules: dict[str, ContactPointRule | None] = {
        "consent": pack.contact_points.consent,
        "workplace": pack.contact_points.workplace,
        "invalid": pack.contact_points.invalid,
        "third_party": pack.contact_points.third_party,
    }
    for flag, rule in rules.items():
        if rule is not None:
            points.append(PointSpec(flag, rule.id, rule.citation, frozenset(rule.channels)))
    preference = (
        (pack.preference.id, pack.preference.citation)
        if pack.preference is not None
        else ("borrower.contact_preference", "borrower's stated convenient times")
    )
    compiled = CompiledPack(
        pack_id=pack.id,
        windows=windows,
        holiday_rules=holidays,
        caps=caps,
        cooldowns=cooldowns,
        holds=HoldTable.from_pack(pack),
        points=tuple(points),
        preference=preference,
        lookback=pack.lookback,
    )
    object.__setattr__(pack, "_compiled", compiled)
    return compiled
