"""The console's templates page: a template per locale and channel, its text edited as a
draft and previewed live with a sample or a real account, with its lint findings, the
disclosures the rule pack requires, and an SMS's encoding and segment count.

The draft is rendered and linted by the real code: the templates folder is copied, the
draft written over its file, and a :class:`~orchestrator.messages.library.TemplateLibrary`
opened on the copy — the sandbox, the fallbacks and the disclosures are the ones dispatch
uses. Templates are part of the deployment (one folder for every tenant, read by every
process), so a checked draft is put in force by committing it to that folder, not from here.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from orchestrator.api.console.session import (
    ConsoleRefused,
    PersonDep,
    in_thread,
    read_form,
    render,
    require,
)
from orchestrator.api.dependencies import ClockDep, ConfigDep, StoreDep
from orchestrator.configuration.source import ConfigSet
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, TemplateError
from orchestrator.intake.accounts import find_account
from orchestrator.messages.account_context import message_context
from orchestrator.messages.context import MessageContext, sample_context
from orchestrator.messages.library import RenderedMessage, TemplateLibrary
from orchestrator.messages.lint import LintFinding, lint
from orchestrator.ops_users import Can, OpsPerson
from orchestrator.planning.facts import RENDER_COLUMNS, load
from orchestrator.store.tables import Account, Attempt, Tenant

router = APIRouter(prefix="/console/templates", include_in_schema=False)

MAX_TEMPLATE = 64 * 1024


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
    templates_dir: Path,
    path: str,
    draft: str,
    *,
    name: str,
    channel: Channel,
    locale: str,
    context: MessageContext,
    disclosures: tuple[str, ...],
) -> Preview:
    """Render and lint ``draft`` as the template at ``path`` of a copy of the folder."""
    found = Preview(required=disclosures)
    with tempfile.TemporaryDirectory(prefix="co-template-") as tmp:
        folder = Path(tmp) / "templates"
        shutil.copytree(templates_dir, folder)
        (folder / path).write_text(draft, encoding="utf-8")
        try:
            library = TemplateLibrary(folder)
            found.findings = [f for f in lint(library) if f.path == path]
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


def _page(
    request: Request,
    person: OpsPerson,
    config: ConfigSet,
    chosen: Any,
    draft: str,
    preview: Preview | None,
    account: str,
    jurisdiction: str,
) -> HTMLResponse:
    files = sorted(config.templates.templates(), key=lambda t: (t.locale, t.channel, t.name))
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
        status=422 if preview is not None and preview.error else 200,
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
) -> HTMLResponse:
    config = source.get()
    chosen = _choice(config, path)
    if chosen is None:
        raise ConsoleRefused(404, "The templates folder has no templates.")
    draft = config.templates.source(chosen.path)
    preview = _preview(person, config, store, clock, chosen, draft, account, jurisdiction)
    return _page(request, person, config, chosen, draft, preview, account, jurisdiction)


@router.post("", response_class=HTMLResponse)
async def preview_form(
    request: Request, person: PersonDep, source: ConfigDep, clock: ClockDep, store: StoreDep
) -> HTMLResponse:
    fields = await read_form(request, person.csrf_token)
    require(person, Can.EDIT_TEMPLATES)
    config = source.get()
    chosen = _choice(config, fields.get("path", ""))
    if chosen is None:
        raise ConsoleRefused(404, "The templates folder has no templates.")
    draft = fields.get("draft", "").replace("\r\n", "\n")
    if len(draft.encode()) > MAX_TEMPLATE:
        raise ConsoleRefused(400, f"A template may have at most {MAX_TEMPLATE // 1024} KiB.")
    account = fields.get("account", "").strip()
    jurisdiction = fields.get("jurisdiction", "US").strip() or "US"
    preview = await in_thread(
        _preview, person, config, store, clock, chosen, draft, account, jurisdiction
    )
    return _page(request, person, config, chosen, draft, preview, account, jurisdiction)


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
        config.templates.directory,
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
