"""Tightening a pack: state overlays and tenant overlays, merged so that the strictest wins.

An overlay is a :class:`RulePack` that ``extends`` another. Merging keeps every rule of the
base and adds the overlay's; a rule with the same id as a base rule replaces it, which is
only accepted when the replacement is at least as strict for a *legal* rule (a ``policy``
rule may change freely, and only policy rules may be listed under ``disable``). Windows
intersect and caps add up, so new rules can only ever narrow what is allowed.

:func:`loosenings` lists every attempt to loosen a legal limit, each naming the rule id, so a
config that tries is refused as a whole with a message an operator can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from orchestrator.compliance.pack import (
    HOLD_KINDS,
    CapRule,
    ContactPointRule,
    ContactPointRules,
    CooldownRule,
    Disclosures,
    HoldRule,
    Holds,
    HolidayRule,
    Rule,
    RulePack,
    WindowRule,
    format_clock,
)
from orchestrator.errors import ConfigError, Problem

_R = TypeVar("_R", bound=Rule)
_POINT_FLAGS = ("consent", "workplace", "invalid", "third_party")


def pack_from_mapping(mapping: Mapping[str, Any], source: str) -> RulePack:
    """Parse a YAML mapping into a :class:`RulePack`, or raise ``ConfigError`` listing every
    bad field with its path.

    Parameters:
      mapping: the parsed YAML document.
      source: the file or config name, for the error message.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(source, [Problem("", "a rule pack must be a mapping")])
    try:
        return RulePack.model_validate(dict(mapping))
    except ValidationError as exc:
        problems = [
            Problem(".".join(str(part) for part in error["loc"]), error["msg"])
            for error in exc.errors()
        ]
        raise ConfigError(source, problems) from None


def _subset(small: Sequence[Any], large: Sequence[Any]) -> bool:
    return set(small) <= set(large)


def _window_problems(base: WindowRule, new: WindowRule) -> list[str]:
    found = []
    if new.start < base.start or new.end > base.end:
        found.append(
            f"window {format_clock(new.start)}–{format_clock(new.end)} is wider than "
            f"{format_clock(base.start)}–{format_clock(base.end)}"
        )
    if not _subset(base.days, new.days):
        found.append(f"applies on fewer days than {','.join(base.days)}")
    if not _subset(base.channels, new.channels):
        found.append("applies to fewer channels")
    if not _subset(base.zones, new.zones):
        found.append("drops a zone the law names")
    return found


def _cap_problems(base: CapRule, new: CapRule) -> list[str]:
    found = []
    if new.limit > base.limit:
        found.append(f"limit {new.limit} is above {base.limit}")
    if base.calendar != new.calendar:
        found.append("changes the counting period's kind (rolling vs calendar day)")
    elif base.window is not None and new.window is not None and new.window < base.window:
        found.append(f"window {new.window} is shorter than {base.window}")
    if not _subset(base.applies_to, new.applies_to):
        found.append("applies to fewer channels")
    if not _subset(base.counts.channels, new.counts.channels):
        found.append("counts fewer channels")
    if not _subset(base.counts.kinds, new.counts.kinds):
        found.append("counts fewer kinds of contact")
    return found


def _cooldown_problems(base: CooldownRule, new: CooldownRule) -> list[str]:
    found = []
    if new.duration < base.duration:
        found.append(f"duration {new.duration} is shorter than {base.duration}")
    if not _subset(base.after.channels, new.after.channels) or not _subset(
        base.after.kinds, new.after.kinds
    ):
        found.append("is triggered by fewer contacts")
    if not _subset(base.blocks, new.blocks):
        found.append("blocks fewer channels")
    return found


def _holiday_problems(base: HolidayRule, new: HolidayRule) -> list[str]:
    return [] if _subset(base.channels, new.channels) else ["applies to fewer channels"]


def _hold_problems(base: HoldRule, new: HoldRule) -> list[str]:
    extra = set(new.allows) - set(base.allows)
    return [f"lets {sorted(p.value for p in extra)} through the hold"] if extra else []


def _point_problems(base: ContactPointRule, new: ContactPointRule) -> list[str]:
    return [] if _subset(base.channels, new.channels) else ["applies to fewer channels"]


def _rule_problem(path: str, base: Rule, new: Rule, details: list[str]) -> list[Problem]:
    if base.policy:
        return []
    problems = [
        Problem(path, f"{base.id} loosens a legal limit ({base.citation}): {detail}")
        for detail in details
    ]
    if new.policy:
        problems.append(
            Problem(path, f"{base.id} is law ({base.citation}); it cannot be marked policy")
        )
    return problems


def loosenings(base: RulePack, overlay: RulePack) -> list[Problem]:
    """Every way ``overlay`` would loosen a legal rule of ``base`` (empty when it only
    tightens)."""
    problems: list[Problem] = []
    groups: list[tuple[str, Sequence[Rule], Sequence[Rule]]] = [
        ("windows", base.windows, overlay.windows),
        ("holidays", base.holidays, overlay.holidays),
        ("caps", base.caps, overlay.caps),
        ("cooldowns", base.cooldowns, overlay.cooldowns),
    ]
    for field, base_rules, new_rules in groups:
        by_id = {rule.id: rule for rule in base_rules}
        for index, new in enumerate(new_rules):
            old = by_id.get(new.id)
            if old is None:
                continue
            if isinstance(old, WindowRule) and isinstance(new, WindowRule):
                details = _window_problems(old, new)
            elif isinstance(old, CapRule) and isinstance(new, CapRule):
                details = _cap_problems(old, new)
            elif isinstance(old, CooldownRule) and isinstance(new, CooldownRule):
                details = _cooldown_problems(old, new)
            elif isinstance(old, HolidayRule) and isinstance(new, HolidayRule):
                details = _holiday_problems(old, new)
            else:
                details = []
            problems += _rule_problem(f"{field}[{index}]", old, new, details)
    legal_ids = {r.id: r for r in _all_rules(base) if not r.policy}
    for index, rule_id in enumerate(overlay.disable):
        if rule_id in legal_ids:
            rule = legal_ids[rule_id]
            problems.append(
                Problem(
                    f"disable[{index}]",
                    f"{rule_id} is law ({rule.citation}) and cannot be disabled",
                )
            )
    problems += _hold_loosenings(base.holds, overlay.holds)
    problems += _point_loosenings(base.contact_points, overlay.contact_points)
    return problems


def _hold_loosenings(base: Holds, new: Holds) -> list[Problem]:
    problems: list[Problem] = []
    for kind in HOLD_KINDS:
        if kind not in new.model_fields_set:
            continue
        old_rule, new_rule = base.rule(kind), new.rule(kind)
        if old_rule is None:
            continue
        path = f"holds.{kind}"
        if new_rule is None:
            if not old_rule.policy:
                problems.append(
                    Problem(
                        path, f"{old_rule.id} is law ({old_rule.citation}); it cannot be removed"
                    )
                )
            continue
        problems += _rule_problem(path, old_rule, new_rule, _hold_problems(old_rule, new_rule))
    if "promise_to_pay_grace" in new.model_fields_set:
        promise = base.rule("promise_to_pay")
        shorter = new.promise_to_pay_grace < base.promise_to_pay_grace
        if shorter and promise is not None and not promise.policy:
            problems.append(
                Problem(
                    "holds.promise_to_pay_grace",
                    f"{promise.id} loosens a legal limit ({promise.citation}): grace "
                    f"{new.promise_to_pay_grace} is shorter than {base.promise_to_pay_grace}",
                )
            )
    return problems


def _point_loosenings(base: ContactPointRules, new: ContactPointRules) -> list[Problem]:
    problems: list[Problem] = []
    for flag in _POINT_FLAGS:
        if flag not in new.model_fields_set:
            continue
        old_rule: ContactPointRule | None = getattr(base, flag)
        new_rule: ContactPointRule | None = getattr(new, flag)
        if old_rule is None:
            continue
        path = f"contact_points.{flag}"
        if new_rule is None:
            if not old_rule.policy:
                problems.append(
                    Problem(
                        path, f"{old_rule.id} is law ({old_rule.citation}); it cannot be removed"
                    )
                )
            continue
        problems += _rule_problem(path, old_rule, new_rule, _point_problems(old_rule, new_rule))
    return problems


def _all_rules(pack: RulePack) -> list[Rule]:
    rules: list[Rule] = [*pack.windows, *pack.holidays, *pack.caps, *pack.cooldowns]
    rules += [r for kind in HOLD_KINDS if (r := pack.holds.rule(kind)) is not None]
    points = pack.contact_points
    rules += [
        r
        for r in (points.consent, points.workplace, points.invalid, points.third_party)
        if r is not None
    ]
    return rules


def _merge_rules(base: Sequence[_R], new: Sequence[_R], disabled: set[str]) -> tuple[_R, ...]:
    merged = {rule.id: rule for rule in base if rule.id not in disabled}
    for rule in new:
        merged[rule.id] = rule
    return tuple(merged.values())


def _union(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*a, *b)))


def merge(base: RulePack, overlay: RulePack, *, source: str = "") -> RulePack:
    """``base`` tightened by ``overlay``; ``ConfigError`` if the overlay loosens a legal rule.

    Parameters:
      base: the pack being tightened (already merged with its own ancestors).
      overlay: the state or tenant overlay.
      source: where the overlay came from, for the error message.
    """
    problems = loosenings(base, overlay)
    legal = {n.id: n for n in base.notices if not n.policy}
    problems += [
        Problem(
            f"notices.{n.id}.within", f"{n.within} is later than the law's {legal[n.id].within}"
        )
        for n in overlay.notices
        if n.id in legal and n.within > legal[n.id].within
    ]
    problems += [
        Problem(
            f"notices.{n.id}.electronic_consent",
            f"the law sends this notice electronically only with the borrower's consent "
            f"({legal[n.id].citation}): it cannot be turned off",
        )
        for n in overlay.notices
        if n.id in legal and legal[n.id].electronic_consent and not n.electronic_consent
    ]
    if problems:
        raise ConfigError(source or overlay.id, problems)
    disabled = set(overlay.disable)
    holds_update: dict[str, Any] = {
        kind: overlay.holds.rule(kind)
        for kind in HOLD_KINDS
        if kind in overlay.holds.model_fields_set
    }
    if "promise_to_pay_grace" in overlay.holds.model_fields_set:
        holds_update["promise_to_pay_grace"] = overlay.holds.promise_to_pay_grace
    points_update = {
        flag: getattr(overlay.contact_points, flag)
        for flag in _POINT_FLAGS
        if flag in overlay.contact_points.model_fields_set
    }
    merged = base.model_copy(
        update={
            "id": f"{base.id}+{overlay.id}",
            "jurisdiction": base.jurisdiction,
            "extends": base.id,
            "title": overlay.title or base.title,
            "sources": _union(base.sources, overlay.sources),
            "windows": _merge_rules(base.windows, overlay.windows, disabled),
            "holidays": _merge_rules(base.holidays, overlay.holidays, disabled),
            "caps": _merge_rules(base.caps, overlay.caps, disabled),
            "cooldowns": _merge_rules(base.cooldowns, overlay.cooldowns, disabled),
            "holds": base.holds.model_copy(update=holds_update),
            "contact_points": base.contact_points.model_copy(update=points_update),
            "preference": overlay.preference or base.preference,
            "disclosures": Disclosures(
                initial=_union(base.disclosures.initial, overlay.disclosures.initial),
                subsequent=_union(base.disclosures.subsequent, overlay.disclosures.subsequent),
                electronic=_union(base.disclosures.electronic, overlay.disclosures.electronic),
            ),
            "notices": _merge_rules(base.notices, overlay.notices, disabled),
            "disable": (),
        }
    )
    # model_copy skips validation and shares private state: give the merged pack its own.
    return RulePack.model_validate(merged.model_dump())


def citations(packs: Iterable[RulePack]) -> dict[str, str]:
    """Every rule id of ``packs`` with its legal citation (a policy rule's says so), for
    pages that name the rule behind a decision."""
    found: dict[str, str] = {}
    for pack in packs:
        for rule in _all_rules(pack):
            found.setdefault(rule.id, rule.citation)
    return found
