"""Rule packs: the law of one jurisdiction (or a tenant's tightening of it) as data.

A pack is parsed from a YAML mapping (see ``config/compliance/``) into frozen pydantic models.
Every rule carries a stable ``id`` and the ``citation`` of its source; rules the law does not
fix (a frequency the regulator only calls "reasonable") are marked ``policy: true`` and may be
changed by a tenant, legal ones may only be tightened (see :mod:`.overlay`).

The engine never reads these models on its hot path: :mod:`.compiled` turns a pack into plain
tuples once.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from orchestrator.domain import Channel, ContactKind, Purpose


def all_channels() -> tuple[Channel, ...]:
    """Every registered channel type: what a rule applies to when it names none."""
    return tuple(Channel)


def timed_channels() -> tuple[Channel, ...]:
    """Channels whose contact reaches the borrower at a moment we choose: what a window
    governs when it names no channels. Mail is left out: a letter's moment is its posting
    day, and it is read when its reader opens it."""
    return tuple(c for c in Channel if c.kind.is_timed)


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DISCLOSURE_NAMES: frozenset[str] = frozenset(
    {"debt_collector_initial", "debt_collector", "opt_out"}
)
HOLD_KINDS: tuple[str, ...] = (
    "paid_in_full",
    "cease_communication",
    "dispute",
    "bankruptcy",
    "deceased",
    "attorney_represented",
    "opt_out",
    "promise_to_pay",
)

_DURATION = re.compile(r"^\s*(\d{1,12})\s*([dhm])\s*$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}

LONGEST_PERIOD = timedelta(days=366)
"""The longest period any rule may count or block over (a cap's window, a cooldown, a
promise-to-pay grace). The longest the law names is a month (AU's 31 days); a year is a
generous ceiling for a lender's own policy, and it stays inside the engine's search
horizon (400 days), past which a longer period could not change any answer. It also bounds
how far back each tenant's planning and dispatch read contact history."""


def parse_duration(value: object) -> timedelta:
    """``"7d"``, ``"24h"``, ``"90m"`` or a ``timedelta`` → ``timedelta``, at most
    :data:`LONGEST_PERIOD` (a longer one is refused with the bound in the message)."""
    duration: timedelta | None = value if isinstance(value, timedelta) else None
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            # The amount is checked before a timedelta is made of it: a huge one would
            # overflow timedelta itself.
            amount, unit = int(match.group(1)), _UNITS[match.group(2)]
            if amount > LONGEST_PERIOD // unit:
                raise ValueError(_too_long(value))
            duration = amount * unit
        elif re.match(r"^\s*\d+\s*[dhm]\s*$", value):
            raise ValueError(_too_long(value))
    if duration is None:
        raise ValueError(f"expected a duration such as '7d', '24h' or '90m', got {value!r}")
    if duration > LONGEST_PERIOD:
        raise ValueError(_too_long(value))
    return duration


def _too_long(value: object) -> str:
    return (
        f"{str(value).strip()!r} is longer than {LONGEST_PERIOD.days}d, the longest period "
        "a rule may count or block over"
    )


def parse_clock(value: object) -> int:
    """``"HH:MM"`` (``"24:00"`` allowed as an end) → minutes after midnight."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1440:
        return value
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match:
            minutes = int(match.group(1)) * 60 + int(match.group(2))
            if int(match.group(2)) < 60 and minutes <= 1440:
                return minutes
    raise ValueError(f"expected a local time 'HH:MM' between 00:00 and 24:00, got {value!r}")


def format_clock(minutes: int) -> str:
    """Minutes after midnight → ``"HH:MM"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rule(_Frozen):
    """What every rule has: a stable id, its source, and whether the law fixes it.

    Parameters:
      id: stable rule id (``us.reg_f.call_frequency_7d``); decisions and the ledger carry it.
      citation: the source (``12 CFR 1006.14(b)(2)(i)(A)``), or ``policy`` and why.
      policy: ``true`` when the value is our policy rather than the law's: a tenant may
        change or disable it. Legal rules may only be tightened.
      note: how the source was read (stricter readings, sources that could not be read).
    """

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    citation: str = Field(min_length=1)
    policy: bool = False
    note: str = ""


class WindowRule(Rule):
    """Contact only between ``start`` and ``end`` local time, on ``days``, for ``channels``.

    Evaluated in every candidate zone of the borrower (the intersection), plus ``zones`` when
    the source fixes a clock of its own (China's convention speaks of Beijing time). Without
    ``channels`` it governs every timed channel (calls, messages, visits), not mail.
    """

    start: int
    end: int
    days: tuple[str, ...] = WEEKDAYS
    channels: tuple[Channel, ...] = Field(default_factory=timed_channels)
    zones: tuple[str, ...] = ()

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> int:
        return parse_clock(value)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        if isinstance(value, str):
            value = [d.strip() for d in value.split(",") if d.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> WindowRule:
        if self.end <= self.start:
            raise ValueError(f"end {format_clock(self.end)} must be after start")
        unknown = [d for d in self.days if d not in WEEKDAYS]
        if unknown or not self.days:
            raise ValueError(f"days must be a non-empty subset of {', '.join(WEEKDAYS)}")
        return self


class HolidayRule(Rule):
    """No contact on the public holidays of the borrower's country and state/territory."""

    channels: tuple[Channel, ...] = Field(default_factory=all_channels)


class Counts(_Frozen):
    """What a cap counts: contacts on ``channels`` whose outcome is one of ``kinds``."""

    channels: tuple[Channel, ...]
    kinds: tuple[ContactKind, ...]


class CapRule(Rule):
    """At most ``limit`` counted contacts in any rolling ``window`` (or local calendar day).

    Parameters:
      limit: the most contacts allowed (a new contact is refused when it would be one more).
      window: a rolling duration (``7d``); or ``calendar: day`` for a local calendar day of
        the borrower's primary zone.
      applies_to: the channels a candidate contact must be on for this cap to be checked.
      counts: what past (and reserved) contacts count.
      noun: how the message names what it counted ("call attempts").
    """

    limit: int = Field(ge=0)
    window: timedelta | None = None
    calendar: Literal["day"] | None = None
    applies_to: tuple[Channel, ...] = Field(default_factory=all_channels)
    counts: Counts
    noun: str = "contacts"

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _one_period(self) -> CapRule:
        if (self.window is None) == (self.calendar is None):
            raise ValueError("give exactly one of window (e.g. '7d') or calendar: day")
        if self.window is not None and self.window <= timedelta(0):
            raise ValueError("window must be positive")
        return self


class Trigger(_Frozen):
    """Which past contacts start a cooldown."""

    channels: tuple[Channel, ...]
    kinds: tuple[ContactKind, ...]


class CooldownRule(Rule):
    """After a triggering contact, no contact on ``blocks`` for ``duration``."""

    after: Trigger
    blocks: tuple[Channel, ...]
    duration: timedelta

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)


class HoldRule(Rule):
    """How a pack names and cites one kind of hold, and which purposes still pass it."""

    allows: tuple[Purpose, ...] = ()


class PreferenceRule(Rule):
    """The borrower's own stated convenient times (a ``contact_preference`` event)."""


class ContactPointRule(Rule):
    """A rule on the contact point itself (consent, workplace, invalid, third party)."""

    channels: tuple[Channel, ...] = Field(default_factory=all_channels)


class ContactPointRules(_Frozen):
    consent: ContactPointRule | None = None
    workplace: ContactPointRule | None = None
    invalid: ContactPointRule | None = None
    third_party: ContactPointRule | None = None


class Holds(_Frozen):
    """The pack's hold table: one entry per hold kind, plus the promise-to-pay grace."""

    promise_to_pay_grace: timedelta = timedelta(days=1)
    paid_in_full: HoldRule | None = None
    cease_communication: HoldRule | None = None
    dispute: HoldRule | None = None
    bankruptcy: HoldRule | None = None
    deceased: HoldRule | None = None
    attorney_represented: HoldRule | None = None
    opt_out: HoldRule | None = None
    promise_to_pay: HoldRule | None = None

    @field_validator("promise_to_pay_grace", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    def rule(self, kind: str) -> HoldRule | None:
        value = getattr(self, kind)
        return value if isinstance(value, HoldRule) else None


NOTICE_TRIGGERS = ("initial_communication", "dispute", "dispute_resolved", "cease_communication")


class NoticeRule(Rule):
    """A notice the law requires when something happens, and by when.

    Parameters:
      trigger: ``initial_communication`` (the first contact made about the debt; not
        required when that contact was itself this notice), or an event: ``dispute``,
        ``dispute_resolved``, ``cease_communication``.
      purpose: what the message is for (holds let some purposes through, never the caps).
      template: the message template, tried on ``channels`` in order.
      within: the deadline after the trigger.
      electronic_consent: an electronic channel (kind ``message``: email, SMS, WeChat...)
        carries the notice only to a contact point with ``consent: true``, the borrower's
        consent to receive it there (for the US validation notice, E-SIGN consent,
        15 U.S.C. 7001(c), as 12 CFR 1006.42(b) asks); otherwise the next channel (a letter)
        carries it.
    """

    trigger: Literal["initial_communication", "dispute", "dispute_resolved", "cease_communication"]
    purpose: Purpose
    template: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    channels: tuple[Channel, ...] = Field(min_length=1)
    within: timedelta
    electronic_consent: bool = False

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)


class Disclosures(_Frozen):
    """Disclosure names a message must carry; their texts live with the templates."""

    initial: tuple[str, ...] = ()
    subsequent: tuple[str, ...] = ()
    electronic: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known(self) -> Disclosures:
        unknown = {*self.initial, *self.subsequent, *self.electronic} - DISCLOSURE_NAMES
        if unknown:
            raise ValueError(
                f"unknown disclosure {sorted(unknown)}; known: {sorted(DISCLOSURE_NAMES)}"
            )
        return self


class RulePack(_Frozen):
    """One jurisdiction's rules, or a tenant overlay that tightens another pack.

    Parameters:
      id: the pack id (``us-reg-f``, ``us-ma``, a tenant's ``acme-us``).
      jurisdiction: ``US``, ``US-MA``, ``CN``, ``GB``, ``AU``; ``*`` for the default pack;
        empty for a tenant overlay.
      extends: the pack this one tightens (a state overlay or a tenant overlay).
      title, sources: for people.
      windows, holidays, caps, cooldowns: the time and frequency rules.
      holds: the hold table; contact_points: consent/workplace/invalid/third-party rules.
      preference: the rule id and citation under which a borrower's stated times are kept.
      disclosures: which disclosure names messages must carry.
      notices: the notices the law requires on a trigger, with their deadlines.
      disable: ids of *policy* rules of the extended pack this overlay switches off.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_+-]*$")
    jurisdiction: str = ""
    extends: str | None = None
    title: str = ""
    sources: tuple[str, ...] = ()
    windows: tuple[WindowRule, ...] = ()
    holidays: tuple[HolidayRule, ...] = ()
    caps: tuple[CapRule, ...] = ()
    cooldowns: tuple[CooldownRule, ...] = ()
    holds: Holds = Holds()
    contact_points: ContactPointRules = ContactPointRules()
    preference: PreferenceRule | None = None
    disclosures: Disclosures = Disclosures()
    notices: tuple[NoticeRule, ...] = ()
    disable: tuple[str, ...] = ()

    _compiled: Any = PrivateAttr(default=None)

    @property
    def lookback(self) -> timedelta:
        """How much past history any rule of this pack can look at: callers fetch only
        contacts newer than ``at - lookback`` (plus every reserved future contact)."""
        spans = [cap.window for cap in self.caps if cap.window is not None]
        spans += [cooldown.duration for cooldown in self.cooldowns]
        # A local calendar day is at most 27 h away from any instant in it.
        if any(cap.calendar == "day" for cap in self.caps):
            spans.append(timedelta(hours=27))
        return max(spans, default=timedelta(0))

    def rules(self) -> tuple[Rule, ...]:
        """Every rule this pack defines (notices, holds and contact-point rules included)."""
        found: list[Rule] = [*self.windows, *self.holidays, *self.caps, *self.cooldowns]
        found += list(self.notices)
        found += [r for kind in HOLD_KINDS if (r := self.holds.rule(kind)) is not None]
        points = self.contact_points
        found += [
            r
            for r in (points.consent, points.workplace, points.invalid, points.third_party)
            if r is not None
        ]
        if self.preference is not None:
            found.append(self.preference)
        return tuple(found)

    def rule_ids(self) -> tuple[str, ...]:
        """Every rule id this pack defines (holds and contact-point rules included)."""
        return tuple(r.id for r in self.rules())

    def citations(self) -> dict[str, str]:
        """Each rule id this pack defines, with its citation: how a count of blocks by rule
        names the law behind each."""
        return {r.id: r.citation for r in self.rules()}

    def required_disclosures(
        self, channel: Channel, *, initial: bool, limited_content: bool = False
    ) -> tuple[str, ...]:
        """The disclosure names a message on ``channel`` must carry.

        Parameters:
          channel: the message's channel; electronic channels add the opt-out notice
            (12 CFR 1006.6(e)).
          initial: the first communication with the borrower about this debt
            (``debt_collector_initial``, 1006.18(e)(1)) rather than a later one
            (``debt_collector``, 1006.18(e)(2)).
          limited_content: a limited-content voicemail (1006.2(j)) carries none.
        """
        if limited_content:
            return ()
        names = list(self.disclosures.initial if initial else self.disclosures.subsequent)
        if channel.is_electronic:
            names += [n for n in self.disclosures.electronic if n not in names]
        return tuple(names)
