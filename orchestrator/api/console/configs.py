"""The console's config editors: channels and providers, the strategy ladder, the rule
overlay; and the history and rollback of a tenant's templates (edited in :mod:`.messages`).

Each edits the tenant's version of one :class:`~orchestrator.configuration.versions.Kind`
as YAML: *check* validates it with everything else in force
(:meth:`ConfigSource.candidate`) and shows the diff against what is in force; *apply*
stores it through :func:`orchestrator.api.config.store_change` — the function behind
``PUT /v1/config/{kind}`` — recording ``user:NAME``; the history lists every version with a
one-click rollback (the old content applied again, as a new version). A refused change
shows every problem with its path, and nothing is stored.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from orchestrator.api.config import simulate_strategy, store_change, visible_problems
from orchestrator.api.console.session import (
    HEADERS,
    ConsoleRefused,
    PersonDep,
    in_thread,
    read_form,
    render,
    require,
)
from orchestrator.api.dependencies import ClockDep, ConfigDep, SettingsDep, StoreDep
from orchestrator.configuration.files import ConfigRefused
from orchestrator.configuration.versions import Kind, find, history
from orchestrator.errors import Problem
from orchestrator.ops_users import Can, OpsPerson
from orchestrator.simulation.compare import Comparison

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Section:
    """One editor page: its path, the kind it edits, who may edit it, what it says."""

    path: str
    kind: Kind
    permission: Can
    title: str
    intro: str


SECTIONS = {
    "channels": Section(
        "channels",
        Kind.CHANNELS,
        Can.EDIT_CHANNELS,
        "Channels and providers",
        "Which providers send each channel, in order of preference, with their limits. "
        "Credentials are only ever named by their environment variable (${NAME}); the "
        "values stay in the environment of the processes.",
    ),
    "strategies": Section(
        "strategies",
        Kind.STRATEGY,
        Can.EDIT_STRATEGY,
        "Strategy",
        "The contact ladder: for each segment of accounts, which step goes out on which "
        "channel, how many days from the due date. A change is simulated against the "
        "strategy in force before it may be applied.",
    ),
    # The templates page is messages.py's; this entry serves its history and rollback.
    "templates": Section(
        "templates",
        Kind.TEMPLATES,
        Can.EDIT_TEMPLATES,
        "Your templates",
        "Your own texts for some of the message templates, over the shared templates "
        "folder: every one is checked as the folder is (rendered in the sandbox, linted), "
        "and a lint finding needs a waiver in lint_waivers with its reason.",
    ),
    "rules": Section(
        "rules",
        Kind.RULES,
        Can.EDIT_RULES,
        "Rule overlay",
        "Your tenant's own rules on top of the law's packs. An overlay may only tighten: a "
        "loosening is refused, naming the rule and its citation.",
    ),
}

RULES_EXAMPLE = """\
# No rule overlay yet: the shipped rule packs apply as they are.
# An overlay tightens them; for example, no contact before 9:00 or after 20:00, and at
# most 5 calls in 7 days instead of the law's 7:
#
# id: acme-policy
# extends: us-reg-f
# windows:
#   - id: us.reg_f.inconvenient_time
#     citation: 12 CFR 1006.6(b)(1)(i)
#     start: "09:00"
#     end: "20:00"
# caps:
#   - id: us.reg_f.call_frequency_7d
#     citation: 12 CFR 1006.14(b)(2)(i)(A)
#     window: 7d
#     limit: 5
#     applies_to: [call]
#     counts: {channels: [call], kinds: [reserved, attempt, conversation, limited_content]}
"""


def _section(name: str) -> Section:
    found = SECTIONS.get(name)
    if found is None:
        raise ConsoleRefused(404, f"There is no {name!r} page.")
    return found


SectionPath = Path(max_length=32)


def diff(before: str, after: str, *, before_name: str, after_name: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs: ``add``, ``del`` or ``ctx``."""
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=before_name,
        tofile=after_name,
        lineterm="",
        n=2,
    )
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            out.append(("ctx", line))
        elif line.startswith("+"):
            out.append(("add", line))
        elif line.startswith("-"):
            out.append(("del", line))
        else:
            out.append(("ctx", line))
    return out


def _path(channel: str, index: int, *rest: str) -> str:
    return ".".join([f"channels.{channel}.providers[{index}]", *rest])


def providers_table(content: str | None) -> list[dict[str, Any]]:
    """The providers of a channel config, per channel, as the form shows them: each
    setting with its path and whether it may be edited in the form (a scalar that names no
    credential). Credentials appear as the ``*_env`` variable names or ``${VARIABLE}``
    references the YAML holds, never as values."""
    try:
        data = yaml.safe_load(content or "") or {}
    except yaml.YAMLError:
        return []
    rows = []
    channels = data.get("channels") if isinstance(data, dict) else None
    for channel, block in (channels or {}).items():
        providers = block.get("providers", []) if isinstance(block, dict) else []
        for index, provider in enumerate(providers if isinstance(providers, list) else []):
            if not isinstance(provider, dict):
                continue
            settings = provider.get("settings") or {}
            fields = []
            for key, value in settings.items() if isinstance(settings, dict) else []:
                nested = isinstance(value, dict | list)
                fields.append(
                    {
                        "key": key,
                        "path": _path(channel, index, "settings", key),
                        "value": f"({len(value)} entries: see the YAML)" if nested else value,
                        "editable": not nested and not key.endswith("_env"),
                    }
                )
            limit = provider.get("rate_limit")
            rows.append(
                {
                    "channel": channel,
                    "order": index + 1,
                    "adapter": provider.get("adapter", ""),
                    "settings": fields,
                    "rate_limit": limit.get("per_second") if isinstance(limit, dict) else None,
                    "rate_path": _path(channel, index, "rate_limit", "per_second"),
                }
            )
    return rows


def _rewritten(content: str) -> str:
    try:
        return str(yaml.safe_dump(yaml.safe_load(content), sort_keys=False, allow_unicode=True))
    except yaml.YAMLError:
        return content


def _shown(value: Any) -> str:
    """A setting as the form's field shows it."""
    return "" if value is None else str(value)


def _typed(raw: str, before: Any) -> Any:
    """A field's text as the kind of value it replaces: text stays text (a sender such as
    ``+15005550006`` is no number); a number or a switch is read as YAML, and what does not
    read as one is left as typed, for validation to name."""
    if isinstance(before, str) or (before is None and not raw.strip()):
        return raw if raw or before is not None else None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def form_to_yaml(content: str, fields: dict[str, str]) -> str:
    """The in-force YAML with the form's fields (``channels.CH.providers[I].settings.KEY``
    and ``...rate_limit.per_second``, each value read as YAML) put in; comments are not
    kept. A field naming no provider setting is refused (400)."""
    data = yaml.safe_load(content or "") or {}
    editable = {
        field["path"]: (row, field["key"])
        for row in providers_table(content)
        for field in row["settings"]
        if field["editable"]
    }
    rates = {row["rate_path"]: row for row in providers_table(content)}
    for path, raw in fields.items():
        if not path.startswith("channels."):
            continue
        if path in editable:
            row, key = editable[path]
            provider = data["channels"][row["channel"]]["providers"][row["order"] - 1]
            if raw != _shown(provider["settings"][key]):
                provider["settings"][key] = _typed(raw, provider["settings"][key])
        elif path in rates:
            row = rates[path]
            provider = data["channels"][row["channel"]]["providers"][row["order"] - 1]
            if raw == _shown(row["rate_limit"]):
                continue
            if not raw.strip():
                provider.pop("rate_limit", None)
            else:
                provider.setdefault("rate_limit", {})["per_second"] = _typed(raw, 0)
        else:
            raise ConsoleRefused(400, f"{path} is not a setting the form may change.")
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


# What the strategy page simulates: the API's defaults (POST /v1/config/strategy/simulate).
SIMULATION_SAMPLE = 200
SIMULATION_DAYS = 30
SIMULATION_CHANGES = 50


def simulated_digest(person: OpsPerson, draft: str) -> str:
    """The mark the page carries once ``draft`` has been simulated: an HMAC of the draft
    keyed by the session's CSRF token, so it names exactly that text and only this server,
    for this session, can have made it."""
    key = person.csrf_token.encode()
    return hmac.new(key, b"strategy-simulated\0" + draft.encode(), hashlib.sha256).hexdigest()


def simulation_view(found: Comparison) -> dict[str, Any]:
    """The comparison as the page lays it out: rows of (figure, current, proposed,
    difference), blocks by rule with their citations, and the changed accounts."""
    data = found.as_json()
    current, proposed = data["current"], data["proposed"]

    def row(label: str, before: int | Decimal, after: int | Decimal) -> dict[str, Any]:
        change = after - before
        return {
            "label": label,
            "current": f"{before:,}",
            "proposed": f"{after:,}",
            "diff": "±0" if change == 0 else (f"+{change:,}" if change > 0 else f"−{-change:,}"),
        }

    channels = sorted(set(current["contacts"]) | set(proposed["contacts"]))
    contacts = [
        row(ch, current["contacts"].get(ch, 0), proposed["contacts"].get(ch, 0)) for ch in channels
    ]
    contacts.append(
        row("all channels", sum(current["contacts"].values()), sum(proposed["contacts"].values()))
    )
    rules: dict[str, dict[str, Any]] = {}
    for side in ("current", "proposed"):
        for block in data[side]["blocks_by_rule"]:
            entry = rules.setdefault(
                block["rule"], {"citation": block["citation"], "current": 0, "proposed": 0}
            )
            entry[side] = block["count"]
    blocks = [
        {**row(rule, entry["current"], entry["proposed"]), "citation": entry["citation"]}
        for rule, entry in sorted(rules.items(), key=lambda item: (-item[1]["current"], item[0]))
    ]
    outcomes = [
        row("accounts reached", current["accounts_reached"], proposed["accounts_reached"]),
        row("contacts blocked", current["blocked"], proposed["blocked"]),
        row("expected payments", current["payments"], proposed["payments"]),
    ]
    for currency in sorted(set(current["collected"]) | set(proposed["collected"])):
        outcomes.append(
            row(
                f"expected collected, {currency}",
                Decimal(current["collected"].get(currency, "0")),
                Decimal(proposed["collected"].get(currency, "0")),
            )
        )
    return {
        "data": data,
        "contacts": contacts,
        "blocks": blocks,
        "outcomes": outcomes,
        "changes": data["changes"],
    }


def _page(
    request: Request,
    person: OpsPerson,
    section: Section,
    source: Any,
    store: Any,
    *,
    draft: str | None = None,
    problems: list[Problem] | None = None,
    checked: bool = False,
    notice: str = "",
    status: int = 200,
    form_values: dict[str, str] | None = None,
    simulation: dict[str, Any] | None = None,
    simulated: str = "",
    refused: str = "",
) -> HTMLResponse:
    in_force = source.get().in_force(person.tenant_slug, section.kind)
    with store.snapshot() as conn:
        versions = history(conn, person.tenant_slug, section.kind, limit=50)
    current = in_force.content or ""
    shown = (
        draft
        if draft is not None
        else (current or (RULES_EXAMPLE if section.kind is Kind.RULES else ""))
    )
    # The form rewrites the YAML: compare it with what is in force written the same way,
    # so that the differences are the fields changed, not the comments dropped.
    before = _rewritten(current) if form_values else current
    changes = (
        diff(before, draft, before_name="in force", after_name="proposed")
        if draft is not None
        else []
    )
    return render(
        request,
        "config.html",
        person=person,
        active=section.kind.value,
        section=section,
        in_force=in_force,
        content=shown,
        versions=versions,
        problems=problems or [],
        checked=checked,
        changes=changes,
        unchanged=draft is not None and draft == current,
        providers=providers_table(current) if section.kind is Kind.CHANNELS else [],
        by_path={p.path: p.message for p in problems or []},
        form_values=form_values or {},
        may_edit=person.can(section.permission),
        notice=notice,
        status=status,
        simulation=simulation,
        simulated=simulated,
        refused=refused,
        sample_size=SIMULATION_SAMPLE,
        sample_days=SIMULATION_DAYS,
    )


@router.get("/{name}", response_class=HTMLResponse)
def editor(
    request: Request,
    person: PersonDep,
    source: ConfigDep,
    store: StoreDep,
    name: str = SectionPath,
    applied: int | None = None,
) -> HTMLResponse:
    section = _section(name)
    notice = f"Version {applied} is stored and in force." if applied else ""
    return _page(request, person, section, source, store, notice=notice)


@router.post("/{name}", response_class=HTMLResponse)
async def submit(
    request: Request,
    person: PersonDep,
    source: ConfigDep,
    store: StoreDep,
    clock: ClockDep,
    settings: SettingsDep,
    name: str = SectionPath,
) -> Response:
    """``action=check``: validate and diff, store nothing. ``action=simulate`` (strategies):
    check, then run the draft against what is in force over a sample of the tenant's
    accounts. ``action=apply``: store; a strategy only when the form carries the mark of a
    simulation of exactly this draft."""
    fields = await read_form(request, person.csrf_token)
    section = _section(name)
    require(person, section.permission)
    page = partial(_page, request, person, section, source, store)
    form_values: dict[str, str] = {}
    if "content" in fields:
        draft = fields["content"].replace("\r\n", "\n")
    elif section.kind is Kind.CHANNELS:  # the providers form: its fields over what is in force
        form_values = {k: v for k, v in fields.items() if k.startswith("channels.")}
        in_force = source.get().in_force(person.tenant_slug, section.kind).content or ""
        draft = form_to_yaml(in_force, form_values)
    else:
        raise ConsoleRefused(400, "The form sent no content.")
    if section.kind is Kind.RULES and draft.strip() == RULES_EXAMPLE.strip():
        draft = ""
    action = fields.get("action", "").removesuffix("-form")
    if section.kind is Kind.STRATEGY and action == "apply":
        mark = fields.get("simulated", "")
        if not hmac.compare_digest(mark, simulated_digest(person, draft)):
            refused = (
                "Not applied: this draft differs from the one you simulated. Simulate it, "
                "review the comparison, then apply."
                if mark
                else "Not applied: simulate this draft first, review the comparison, then apply."
            )
            return await in_thread(page, draft=draft, status=409, refused=refused)
    if section.kind is Kind.STRATEGY and action == "simulate":
        return await in_thread(
            _simulate, request, person, section, source, store, clock, settings, draft
        )
    if action == "apply":
        return await _apply(
            request, person, section, source, store, clock, draft, form_values=form_values
        )

    def check() -> list[Problem]:
        try:
            source.candidate(person.tenant_slug, section.kind, draft)
        except ConfigRefused as exc:
            return visible_problems(exc, person.tenant_slug, source, section.kind)
        return []

    problems = await in_thread(check)
    return await in_thread(
        page,
        draft=draft,
        problems=problems,
        checked=True,
        status=422 if problems else 200,
        form_values=form_values,
    )


def _simulate(
    request: Request,
    person: OpsPerson,
    section: Section,
    source: Any,
    store: Any,
    clock: Any,
    settings: Any,
    draft: str,
) -> HTMLResponse:
    """Check the draft, then simulate it against what is in force; the page carries the
    mark that lets exactly this draft be applied."""
    page = partial(_page, request, person, section, source, store)
    try:
        found = simulate_strategy(
            person.tenant_id,
            person.tenant_slug,
            draft,
            source=source,
            store=store,
            clock=clock,
            settings=settings,
            size=SIMULATION_SAMPLE,
            days=SIMULATION_DAYS,
            limit=SIMULATION_CHANGES,
        )
    except ConfigRefused as exc:
        problems = visible_problems(exc, person.tenant_slug, source, section.kind)
        return page(draft=draft, problems=problems, checked=True, status=422)
    return page(
        draft=draft,
        checked=True,
        simulation=simulation_view(found),
        simulated=simulated_digest(person, draft),
    )


async def _apply(
    request: Request,
    person: OpsPerson,
    section: Section,
    source: Any,
    store: Any,
    clock: Any,
    content: str,
    *,
    form_values: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> Response:
    def work() -> tuple[Any, bool] | list[Problem]:
        try:
            return store_change(
                person.tenant_id,
                person.tenant_slug,
                section.kind,
                content,
                created_by=person.actor,
                source=source,
                store=store,
                clock=clock,
            )
        except ConfigRefused as exc:
            return visible_problems(exc, person.tenant_slug, source, section.kind)

    page = partial(_page, request, person, section, source, store)
    outcome = await in_thread(work)
    if isinstance(outcome, list):
        return await in_thread(
            page,
            draft=content,
            problems=outcome,
            checked=True,
            status=422,
            form_values=form_values,
        )
    item, changed = outcome
    if not changed:
        return await in_thread(page, notice="Nothing changed: it is what is in force.")
    where = urlencode({**(query or {}), "applied": item.version})
    return RedirectResponse(f"/console/{section.path}?{where}", status_code=303, headers=HEADERS)


@router.get("/{name}/versions/{version}", response_class=HTMLResponse)
def version_page(
    request: Request,
    person: PersonDep,
    source: ConfigDep,
    store: StoreDep,
    name: str = SectionPath,
    version: int = Path(ge=1, le=2**31 - 1),
) -> HTMLResponse:
    section = _section(name)
    with store.snapshot() as conn:
        item = find(conn, person.tenant_slug, section.kind, version)
    if item is None:
        raise ConsoleRefused(404, f"{person.tenant_slug} has no {section.kind} version {version}.")
    current = source.get().in_force(person.tenant_slug, section.kind).content or ""
    return render(
        request,
        "config_version.html",
        person=person,
        active=section.kind.value,
        section=section,
        item=item,
        changes=diff(current, item.content, before_name="in force", after_name=f"v{version}"),
        may_edit=person.can(section.permission),
    )


@router.post("/{name}/rollback", response_class=HTMLResponse)
async def rollback(
    request: Request,
    person: PersonDep,
    source: ConfigDep,
    store: StoreDep,
    clock: ClockDep,
    name: str = SectionPath,
) -> Response:
    """Apply an old version's content again (a new version, so the history shows it)."""
    fields = await read_form(request, person.csrf_token)
    section = _section(name)
    require(person, section.permission)
    try:
        number = int(fields.get("version", ""))
    except ValueError:
        raise ConsoleRefused(400, "Choose a version to roll back to.") from None

    def old() -> Any:
        with store.snapshot() as conn:
            return find(conn, person.tenant_slug, section.kind, number)

    item = await in_thread(old)
    if item is None:
        raise ConsoleRefused(404, f"{person.tenant_slug} has no {section.kind} version {number}.")
    # The templates page returns to the template it was showing.
    back = {"path": fields["path"]} if fields.get("path") else None
    return await _apply(request, person, section, source, store, clock, item.content, query=back)
