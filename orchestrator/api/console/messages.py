"""The console's templates page: a template per locale and channel, its text edited as a
draft and previewed live with a sample or a real account, with its lint findings, the
disclosures the rule pack requires, and an SMS's encoding and segment count; and saved as
the tenant's own text.

The draft is rendered and linted by the real code: the tenant's templates (the folder with
its own texts over it) are copied, the draft written over its file, and a
:class:`~orchestrator.messages.library.TemplateLibrary` opened on the copy — the sandbox,
the fallbacks and the disclosures are the ones dispatch uses. *Save* stores the tenant's
texts with the draft in them as its next ``templates`` version, through
:func:`orchestrator.api.config.store_change` (what ``PUT /v1/config/templates`` calls),
recording ``user:NAME``: a text that does not render, or a lint finding no waiver of the
version covers, is refused naming it, and nothing is stored. The history and rollback are
the config editors' (:mod:`.configs`, section ``templates``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from orchestrator.api.config import store_change, visible_problems
from orchestrator.api.console.session import (
    HEADERS,
    ConsoleRefused,
    PersonDep,
    in_thread,
    read_form,
    render,
    require,
)
from orchestrator.api.dependencies import ClockDep, ConfigDep, StoreDep
from orchestrator.configuration.files import ConfigRefused
from orchestrator.configuration.source import ConfigSet
from orchestrator.configuration.tenant_templates import (
    MAX_TEMPLATE_BYTES,
    TemplateOverrides,
    TenantTemplates,
    overrides_yaml,
)
from orchestrator.configuration.versions import Kind, history
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, Problem, TemplateError, problems_from
from orchestrator.intake.accounts import find_account
from orchestrator.messages.account_context import message_context
from orchestrator.messages.context import MessageContext, sample_context
from orchestrator.messages.library import RenderedMessage, TemplateLibrary
from orchestrator.messages.lint import LintFinding, lint
from orchestrator.messages.waivers import WAIVABLE, LintWaiver
from orchestrator.ops_users import Can, OpsPerson
from orchestrator.planning.facts import RENDER_COLUMNS, load
from orchestrator.store.tables import Account, Attempt, Tenant

router = APIRouter(prefix="/console/templates", include_in_schema=False)

MAX_TEMPLATE = MAX_TEMPLATE_BYTES


@dataclass
class Preview:
    """What the page shows of one draft."""

    message: RenderedMessage | None = None
    error: str = ""
    findings: list[LintFinding] = field(default_factory=list)
    required: tuple[str, ...] = ()
    account: str = ""
    jurisdiction: str = ""


def _context(
    conn: Any, person: OpsPerson, external_id: str, config: ConfigSet, now: datetime
) -> tuple[MessageContext, str, bool]:
    """The message context of a real account, as dispatch would build it now (its data,
    locale and the tenant's profile), its jurisdiction, and whether it was ever contacted."""
    row = find_account(conn, person.tenant_id, external_id)
    if row is None:
        raise TemplateError(f"no account {external_id!r} in {person.tenant_slug}")
    selected = conn.execute(sa.select(*RENDER_COLUMNS).where(Account.id == row.id)).one()
    facts = load(
        conn, [selected], since=now - config.lookback_for(person.tenant_slug), include_pending=False
    )[row.id].facts
    profile = conn.execute(sa.select(Tenant.profile).where(Tenant.id == person.tenant_id)).scalar()
    contacted = conn.execute(
        sa.select(
            sa.exists().where(
                Attempt.account_id == row.id,
                Attempt.contact_kind.in_(["attempt", "conversation", "limited_content"]),
            )
        )
    ).scalar()
    context = message_context(selected, facts, profile or {}, now=now)
    return context, row.jurisdiction, bool(contacted)


def preview_draft(
    templates: TemplateLibrary,
    path: str,
    draft: str,
    *,
    name: str,
    channel: Channel,
    locale: str,
    context: MessageContext,
    disclosures: tuple[str, ...],
) -> Preview:
    """Render and lint ``draft`` as the template at ``path`` of a copy of ``templates``."""
    found = Preview(required=disclosures)
    with tempfile.TemporaryDirectory(prefix="co-template-") as tmp:
        folder = Path(tmp) / "templates"
        shutil.copytree(templates.directory, folder)
        (folder / path).write_text(draft, encoding="utf-8")
        try:
            library = TemplateLibrary(folder, lint_lists_from=templates)
            found.findings = lint(library, [path])
            found.message = library.render(name, channel, locale, context, disclosures=disclosures)
        except (TemplateError, ConfigError) as exc:
            found.error = str(exc)
    return found


def _choice(config: ConfigSet, path: str) -> Any:
    files = {t.path: t for t in config.templates.templates()}
    if not path:
        return next(iter(sorted(files.values(), key=lambda t: t.path)), None)
    chosen = files.get(path)
    if chosen is None:
        raise ConsoleRefused(404, f"There is no template {path!r}.")
    return chosen


def own_texts(config: ConfigSet, tenant: str) -> TemplateOverrides:
    """The tenant's own texts and waivers in force (none: the folder's texts apply)."""
    library = config.templates_for(tenant)
    if isinstance(library, TenantTemplates):
        return library.overrides
    return TemplateOverrides({})


def with_text(overrides: TemplateOverrides, path: str, text: str | None) -> TemplateOverrides:
    """``overrides`` with ``path`` replaced by ``text`` (``None``: the folder's text again)."""
    texts = {k: v for k, v in overrides.texts.items() if k != path}
    if text is not None:
        texts[path] = text
    return TemplateOverrides(texts, overrides.waivers)


def _line_of(problem: Problem, path: str) -> int | None:
    """The line of ``path`` a refusal names (``templates.PATH:LINE``), if it names one."""
    head, _, line = problem.path.rpartition(":")
    if head == f"templates.{path}" and line.isdigit():
        return int(line)
    return None


def _page(
    request: Request,
    person: OpsPerson,
    config: ConfigSet,
    store: Any,
    chosen: Any,
    draft: str,
    preview: Preview | None,
    account: str,
    jurisdiction: str,
    *,
    problems: list[Problem] | None = None,
    notice: str = "",
    status: int | None = None,
) -> HTMLResponse:
    files = sorted(config.templates.templates(), key=lambda t: (t.locale, t.channel, t.name))
    overrides = own_texts(config, person.tenant_slug)
    with store.snapshot() as conn:
        versions = history(conn, person.tenant_slug, Kind.TEMPLATES, limit=50)
    problems = problems or []
    if status is None:
        status = 422 if problems or (preview is not None and preview.error) else 200
    return render(
        request,
        "templates.html",
        person=person,
        active="templates",
        files=files,
        chosen=chosen,
        draft=draft,
        preview=preview,
        account=account,
        jurisdiction=jurisdiction,
        jurisdictions=sorted(
            {p.jurisdiction for p in config.rules.packs.values() if p.jurisdiction}
            | {
                preview.jurisdiction
                if preview is not None and preview.jurisdiction
                else jurisdiction
            }
        ),
        may_edit=person.can(Can.EDIT_TEMPLATES),
        own=sorted(overrides.texts),
        overridden=chosen.path in overrides.texts,
        waivers=[(i, w) for i, w in enumerate(overrides.waivers) if w.template == chosen.path],
        may_waive=person.can(Can.WAIVE_LINT),
        waivable=WAIVABLE,
        in_force=config.in_force(person.tenant_slug, Kind.TEMPLATES),
        versions=versions,
        problems=problems,
        problem_lines=sorted({n for p in problems if (n := _line_of(p, chosen.path)) is not None}),
        notice=notice,
        status=status,
    )


@router.get("", response_class=HTMLResponse)
def templates_page(
    request: Request,
    person: PersonDep,
    source: ConfigDep,
    clock: ClockDep,
    store: StoreDep,
    path: str = Query("", max_length=300),
    account: str = Query("", max_length=128),
    jurisdiction: str = Query("US", max_length=16),
    applied: int | None = Query(None, ge=1, le=2**31 - 1),
) -> HTMLResponse:
    config = source.get()
    chosen = _choice(config, path)
    if chosen is None:
        raise ConsoleRefused(404, "The templates folder has no templates.")
    draft = config.templates_for(person.tenant_slug).source(chosen.path)
    preview = _preview(person, config, store, clock, chosen, draft, account, jurisdiction)
    notice = f"Version {applied} of your templates is stored and in force." if applied else ""
    return _page(
        request, person, config, store, chosen, draft, preview, account, jurisdiction, notice=notice
    )


@router.post("", response_class=HTMLResponse)
async def preview_form(
    request: Request, person: PersonDep, source: ConfigDep, clock: ClockDep, store: StoreDep
) -> Response:
    """``action=preview`` (the default): render the draft, store nothing. ``action=save``:
    store the tenant's texts with this draft as its text of the template (the folder's own
    text stored again returns the template to the folder). ``action=revert``: the
    folder's text again. ``action=waive`` / ``unwaive`` (compliance): add a lint waiver for
    this template, approved by the person, or remove the ``waiver``-th one."""
    fields = await read_form(request, person.csrf_token)
    action = fields.get("action", "preview")
    require(person, Can.WAIVE_LINT if action in ("waive", "unwaive") else Can.EDIT_TEMPLATES)
    config = source.get()
    chosen = _choice(config, fields.get("path", ""))
    if chosen is None:
        raise ConsoleRefused(404, "The templates folder has no templates.")
    draft = fields.get("draft", "").replace("\r\n", "\n")
    if len(draft.encode()) > MAX_TEMPLATE:
        raise ConsoleRefused(400, f"A template may have at most {MAX_TEMPLATE // 1024} KiB.")
    account = fields.get("account", "").strip()
    jurisdiction = fields.get("jurisdiction", "US").strip() or "US"
    own = own_texts(config, person.tenant_slug)
    problems: list[Problem] = []
    if action in ("save", "revert"):
        folder_text = config.templates.source(chosen.path)
        text = None if action == "revert" or draft == folder_text else draft
        changed: TemplateOverrides | None = with_text(own, chosen.path, text)
    elif action == "waive":
        changed, problems = _waived(own, chosen.path, fields, person)
        draft = config.templates_for(person.tenant_slug).source(chosen.path)
    elif action == "unwaive":
        changed = _unwaived(own, chosen.path, fields.get("waiver", ""))
        draft = config.templates_for(person.tenant_slug).source(chosen.path)
    elif action == "preview":
        changed = None
    else:
        raise ConsoleRefused(400, f"Unknown action {action!r}.")
    if changed is not None:
        outcome = await in_thread(_store, person, source, store, clock, changed)
        if not isinstance(outcome, list):
            where = f"/console/templates?path={quote(chosen.path, safe='/')}"
            if outcome is not None:
                where += f"&applied={outcome}"
            return RedirectResponse(where, status_code=303, headers=HEADERS)
        problems = outcome
    preview = await in_thread(
        _preview, person, config, store, clock, chosen, draft, account, jurisdiction
    )
    return await in_thread(
        _page,
        request,
        person,
        config,
        store,
        chosen,
        draft,
        preview,
        account,
        jurisdiction,
        problems=problems,
    )


def _store(
    person: OpsPerson, source: Any, store: Any, clock: Any, changed: TemplateOverrides
) -> int | list[Problem] | None:
    """Store ``changed`` as the tenant's next templates version (recorded as the person):
    its number (``None``: nothing stored, none of its own), or the problems refusing it."""
    try:
        item, _ = store_change(
            person.tenant_id,
            person.tenant_slug,
            Kind.TEMPLATES,
            overrides_yaml(changed),
            created_by=person.actor,
            source=source,
            store=store,
            clock=clock,
        )
    except ConfigRefused as exc:
        return visible_problems(exc, person.tenant_slug, source, Kind.TEMPLATES)
    return item.version if item is not None else None


def _waived(
    own: TemplateOverrides, path: str, fields: dict[str, str], person: OpsPerson
) -> tuple[TemplateOverrides | None, list[Problem]]:
    """``own`` with a waiver for ``path`` from the form, approved by ``person``; or the
    problems with the form (nothing to store)."""
    try:
        waiver = LintWaiver(
            template=path,
            rule=fields.get("rule", ""),
            phrase=fields.get("phrase", "").strip() or None,
            reason=fields.get("reason", ""),
            approved_by=person.actor,
        )
    except ValidationError as exc:
        found = problems_from(exc.errors())
        return None, [Problem(f"lint_waivers.{p.path}", p.message) for p in found]
    if waiver in own.waivers:
        return None, [Problem("lint_waivers", "this waiver is in force already")]
    return TemplateOverrides(own.texts, (*own.waivers, waiver)), []


def _unwaived(own: TemplateOverrides, path: str, raw: str) -> TemplateOverrides:
    try:
        index = int(raw)
        waiver = own.waivers[index]
    except (ValueError, IndexError):
        raise ConsoleRefused(400, "Choose a waiver to remove.") from None
    if waiver.template != path:
        raise ConsoleRefused(400, "That waiver is for another template.")
    return TemplateOverrides(own.texts, own.waivers[:index] + own.waivers[index + 1 :])


def _preview(
    person: OpsPerson,
    config: ConfigSet,
    store: Any,
    clock: Any,
    chosen: Any,
    draft: str,
    account: str,
    jurisdiction: str,
) -> Preview:
    now = clock.now()
    contacted = False
    try:
        if account:
            with store.snapshot() as conn:
                context, jurisdiction, contacted = _context(conn, person, account, config, now)
        else:
            context = sample_context()
    except TemplateError as exc:
        return Preview(error=str(exc), account=account, jurisdiction=jurisdiction)
    pack = config.pack_for(jurisdiction, person.tenant_slug)
    required = pack.required_disclosures(
        chosen.channel, initial=not contacted, limited_content=chosen.limited_content
    )
    found = preview_draft(
        config.templates_for(person.tenant_slug),
        chosen.path,
        draft,
        name=chosen.name,
        channel=chosen.channel,
        locale=chosen.locale,
        context=context,
        disclosures=required,
    )
    found.account = account
    found.jurisdiction = jurisdiction
    return found
