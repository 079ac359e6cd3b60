"""The ops config API (``/v1/config``): read and replace a tenant's strategy, rule overlay,
channel config and own templates.

Ops keys only (a lender key gets 403); a key sees and edits its own tenant's configs. A
change is validated as a whole with everything else in force (the files and every other
stored version); an invalid one is refused with every problem's path and changes nothing.
An accepted change is stored as the next version — that row (who, when, the content and its
SHA-256) is the audit record — and every process picks it up within seconds, without a
restart.

Content is YAML (``Content-Type: application/yaml``, comments kept) or JSON
(``application/json``, stored as the equivalent YAML). Reads answer JSON, with the YAML in
``content``; send ``Accept: application/yaml`` to get the YAML itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FilePath
from typing import Any

import orjson
import yaml
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from orchestrator.api.auth import OpsCaller
from orchestrator.api.dependencies import ClockDep, ConfigDep, SettingsDep, StoreDep
from orchestrator.api.errors import ApiError, ErrorBody, documented
from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import (
    ConfigChanged,
    ConfigInForce,
    ConfigOverview,
    ConfigVersion,
    ConfigVersions,
    SimulationComparison,
)
from orchestrator.clock import Clock
from orchestrator.configuration.files import FILES, MAX_DEPTH, ConfigRefused, read_yaml
from orchestrator.configuration.source import ConfigSource, InForce
from orchestrator.configuration.versions import (
    Kind,
    StoredVersion,
    append,
    content_sha256,
    find,
    history,
    lock_scope,
    newest_for,
    newest_versions,
)
from orchestrator.errors import ConfigError, Problem, field_path
from orchestrator.settings import Settings
from orchestrator.simulation.compare import (
    MAX_DAYS,
    MAX_SAMPLE,
    Comparison,
    compare,
    sample_accounts,
)
from orchestrator.simulation.run import OutcomeModel
from orchestrator.store.db import Store
from orchestrator.tenancy import Principal

router = APIRouter(prefix="/v1/config", tags=["configuration"])

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_YAML_MEDIA = "application/yaml; charset=utf-8"

KindPath = Path(
    description="strategy, rules (the tenant's rule overlay), channels or templates (the "
    "tenant's own texts over the templates folder)"
)
# Versions are stored in an INTEGER column (int4 on PostgreSQL): a larger number names no
# version, and is refused before it reaches the database.
VersionPath = Path(ge=1, le=2**31 - 1, description="a version number from the history")

_YAML_ANSWER = {"application/yaml": {"schema": {"type": "string"}}}
# Every config route needs an ops key of the tenant whose config it reads or changes.
_OPS_ERRORS = documented(401, 403, 413, 422)

_BODY = {
    "requestBody": {
        "required": True,
        "description": "The whole config of this kind, as YAML or JSON.",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _wants_yaml(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return any(media in accept for media in _YAML_TYPES)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _in_force_view(found: InForce, newest: StoredVersion | None) -> dict[str, Any]:
    return {
        "source": found.source,
        "version": found.version,
        "sha256": found.sha256,
        "path": found.path,
        "created_by": found.created_by,
        "created_at": _time(found.created_at),
        "stored_version": newest.version if newest is not None else None,
        "pending": newest is not None and newest.version != found.version,
    }


def _version_view(item: StoredVersion) -> dict[str, Any]:
    return {
        "version": item.version,
        "sha256": item.sha256,
        "created_by": item.created_by,
        "created_at": _time(item.created_at),
        "file_default": item.is_file_default,
    }


def visible_problems(
    exc: ConfigRefused, tenant: str, source: ConfigSource, kind: Kind | None = None
) -> list[Problem]:
    """The problems tenant ``tenant`` may see in a refused change: its own (paths into
    the document it sent, when ``kind`` names it) and the files'; another tenant's only as
    a count."""
    own = StoredVersion(tenant, kind, 0, "").source if kind is not None else None
    return _visible(exc, tenant, _root(source), own)


def _visible(exc: ConfigRefused, tenant: str, root: str, own: str | None) -> list[Problem]:
    problems: list[Problem] = []
    hidden = 0
    for scope, error in exc.parts:
        if scope not in (FILES, tenant):
            hidden += 1
            continue
        if error.source == own:
            problems.extend(error.problems)
            continue
        source = error.source.removeprefix(root)
        problems += [
            Problem(f"{source}: {p.path}" if p.path else source, p.message) for p in error.problems
        ]
    if hidden:
        problems.append(
            Problem(
                "", f"{hidden} other tenant config(s) are invalid too; the platform must fix them"
            )
        )
    return problems


def _root(source: ConfigSource) -> str:
    return f"{FilePath(source.config_dir).parent}/"


@router.get(
    "",
    summary="What configuration is in force for your tenant",
    response_model=ConfigOverview,
    responses=_OPS_ERRORS,
)
def overview(who: OpsCaller, source: ConfigDep, store: StoreDep) -> JSONResponse:
    """For each kind (strategy, rules, channels): where what applies comes from (``file``
    default or your ``tenant`` version), its version and SHA-256, and whether a newer stored
    version is ``pending`` (not loaded yet, or refused). ``config_version`` is the digest of
    the whole running configuration, recorded with each decision. ``last_error`` says why
    the newest change was refused, while the previous version stays in force."""
    config = source.get()
    with store.snapshot() as conn:
        newest = newest_for(conn, who.tenant_slug)
    error = source.last_error
    return JSONResponse(
        {
            "tenant": who.tenant_slug,
            "config_version": config.version,
            "kinds": {
                kind.value: _in_force_view(config.in_force(who.tenant_slug, kind), newest.get(kind))
                for kind in Kind
            },
            "last_error": None
            if error is None
            else {
                "refused_at": _time(source.refused_at),
                "problems": [
                    {"field": p.path, "message": p.message}
                    for p in _visible(error, who.tenant_slug, _root(source), None)
                ],
            },
        }
    )


@router.get(
    "/{kind}",
    summary="The config of one kind in force for your tenant",
    response_model=ConfigInForce,
    responses={
        200: {"content": _YAML_ANSWER, "description": "JSON, or the YAML itself"},
        **_OPS_ERRORS,
        **documented(404),
    },
)
def read(
    request: Request, who: OpsCaller, source: ConfigDep, store: StoreDep, kind: Kind = KindPath
) -> Response:
    """JSON: where it comes from, its version and SHA-256, and the YAML in ``content``
    (``null`` for rules without a tenant overlay: the shipped packs apply). With
    ``Accept: application/yaml``: the YAML itself, version and source in headers."""
    found = source.get().in_force(who.tenant_slug, kind)
    with store.snapshot() as conn:
        newest = newest_for(conn, who.tenant_slug).get(kind)
    if _wants_yaml(request):
        if found.content is None:
            raise ApiError(
                404, "not_found", f"No {kind} content for your tenant: the shipped files apply."
            )
        return Response(
            found.content,
            media_type=_YAML_MEDIA,
            headers={
                "ETag": f'"{found.sha256}"',
                "X-Config-Source": found.source,
                "X-Config-Version": str(found.version or ""),
            },
        )
    return JSONResponse(
        {"kind": kind.value, **_in_force_view(found, newest), "content": found.content}
    )


@router.get(
    "/{kind}/versions",
    summary="Every stored version: who, when, SHA-256",
    response_model=ConfigVersions,
    responses=_OPS_ERRORS,
)
def versions(
    who: OpsCaller, source: ConfigDep, store: StoreDep, kind: Kind = KindPath
) -> JSONResponse:
    """Newest first. ``file_default`` marks a return to the file default."""
    in_force = source.get().in_force(who.tenant_slug, kind).version
    with store.snapshot() as conn:
        items = history(conn, who.tenant_slug, kind)
    return JSONResponse(
        {
            "kind": kind.value,
            "versions": [
                {**_version_view(item), "in_force": item.version == in_force} for item in items
            ],
        }
    )


@router.get(
    "/{kind}/versions/{version}",
    summary="One stored version, with its content",
    response_model=ConfigVersion,
    responses={
        200: {"content": _YAML_ANSWER, "description": "JSON, or the YAML itself"},
        **_OPS_ERRORS,
        **documented(404),
    },
)
def read_version(
    request: Request,
    who: OpsCaller,
    store: StoreDep,
    kind: Kind = KindPath,
    version: int = VersionPath,
) -> Response:
    """To see what changed, or to roll back: PUT an old version's content again."""
    with store.snapshot() as conn:
        item = find(conn, who.tenant_slug, kind, version)
    if item is None:
        raise ApiError(404, "not_found", f"Your tenant has no {kind} version {version}.")
    if _wants_yaml(request):
        return Response(item.content, media_type=_YAML_MEDIA, headers={"ETag": f'"{item.sha256}"'})
    return JSONResponse({"kind": kind.value, **_version_view(item), "content": item.content})


def _too_deep(data: Any) -> str | None:
    """The path of the first value nested deeper than :data:`MAX_DEPTH` levels in parsed
    JSON, found without recursion; ``None`` when there is none. Checked before the JSON is
    dumped as YAML, which recurses once per level."""
    pending: list[tuple[Any, tuple[str | int, ...], int]] = [(data, (), 1)]
    while pending:
        value, loc, depth = pending.pop()
        if depth > MAX_DEPTH:
            return field_path(loc)
        children = value.items() if isinstance(value, dict) else enumerate(value)
        pending.extend(
            (child, (*loc, key), depth + 1)
            for key, child in children
            if isinstance(child, dict | list)
        )
    return None


async def _content(request: Request, who: Principal, kind: Kind, source: ConfigSource) -> str:
    raw = await request.body()  # at most the route's limit (orchestrator.api.body_limits)
    if not raw.strip():
        raise ApiError(400, "empty_body", "The body is empty: send the whole config as YAML.")
    if "json" in request.headers.get("content-type", "").lower():
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "The body must be a JSON object.")
        deepest = _too_deep(data)
        if deepest is not None:
            own = StoredVersion(who.tenant_slug, kind, 0, "").source
            problem = Problem(deepest, f"nested deeper than {MAX_DEPTH} levels")
            refused = ConfigRefused([(who.tenant_slug, ConfigError(own, [problem]))])
            raise _refused(kind, refused, who, source)
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "The body must be UTF-8 text.") from None


def _refused(kind: Kind, exc: ConfigRefused, who: Principal, source: ConfigSource) -> ApiError:
    return ApiError(
        422,
        "invalid_config",
        f"The {kind} config was refused as a whole: nothing was stored and the running "
        "version stays. See problems.",
        visible_problems(exc, who.tenant_slug, source, kind),
    )


def store_change(
    tenant_id: int,
    tenant: str,
    kind: Kind,
    content: str,
    *,
    created_by: str,
    source: ConfigSource,
    store: Store,
    clock: Clock,
) -> tuple[StoredVersion | None, bool]:
    """Validate and store ``content`` (empty: back to the file default) as the tenant's
    next version of ``kind``, in one transaction that holds the tenant's config lock; the
    API and the console both change configs through it.

    Parameters:
      tenant_id / tenant: the tenant's id and slug.
      created_by: who, for the audit record: a key's prefix, or ``user:NAME``.

    Returns the newest version (``None`` while there is none) and whether it changed.
    Raises :class:`ConfigRefused` when the configuration would be invalid: nothing stored
    (:func:`visible_problems` says what the tenant may see of it).
    """
    with store.transaction() as conn:
        lock_scope(conn, tenant_id)
        stored = newest_versions(conn)
        current = next((v for v in stored if (v.scope, v.kind) == (tenant, kind)), None)
        unchanged = (
            current.sha256 == content_sha256(content)
            if current is not None
            else not content  # no version of its own: already on the file default
        )
        if unchanged:
            return current, False
        source.candidate(tenant, kind, content, stored)
        item = append(
            conn, tenant, kind, content, created_by=created_by, now=clock.now(), after=current
        )
    source.refresh()
    return item, True


def _change(
    who: Principal, kind: Kind, content: str, source: ConfigSource, store: Store, clock: Clock
) -> JSONResponse:
    try:
        item, changed = store_change(
            who.tenant_id,
            who.tenant_slug,
            kind,
            content,
            created_by=who.key_prefix,
            source=source,
            store=store,
            clock=clock,
        )
    except ConfigRefused as exc:
        raise _refused(kind, exc, who, source) from None
    unchanged = not changed
    in_force = source.get().in_force(who.tenant_slug, kind)
    return JSONResponse(
        {
            "kind": kind.value,
            **(_version_view(item) if item is not None else {"version": None}),
            "changed": not unchanged,
            "source": in_force.source,
            "in_force": item is None or in_force.version == item.version,
            "config_version": source.get().version,
        }
    )


@router.put(
    "/{kind}",
    summary="Replace your tenant's config of one kind",
    openapi_extra=_BODY,
    response_model=ConfigChanged,
    responses={
        **_OPS_ERRORS,
        **documented(400),
        422: {
            "model": ErrorBody,
            "description": "Refused: every problem with its path; nothing stored",
        },
    },
)
async def replace(
    request: Request,
    who: OpsCaller,
    source: ConfigDep,
    store: StoreDep,
    clock: ClockDep,
    kind: Kind = KindPath,
) -> JSONResponse:
    """Send the whole config (YAML, or JSON). It is validated with everything else in
    force: a wrong field, an unknown adapter, a template that does not exist or does not
    render, a rule overlay that loosens a legal limit (named by its rule id), a platform
    credential used with another endpoint — each is a problem with its path, and nothing is
    stored. Accepted: stored as the next version (``created_by``: your key's prefix) and in
    force at once in this process, within seconds in the others. The same content again
    stores nothing (``changed: false``)."""
    content = await _content(request, who, kind, source)
    return await run_in_threadpool(_change, who, kind, content, source, store, clock)


@router.delete(
    "/{kind}",
    summary="Return your tenant to the file default",
    response_model=ConfigChanged,
    responses=_OPS_ERRORS,
)
async def revert(
    who: OpsCaller, source: ConfigDep, store: StoreDep, clock: ClockDep, kind: Kind = KindPath
) -> JSONResponse:
    """Recorded as a version with empty content (``file_default: true``), so the history
    says who returned to the default, and when. Nothing changes when the tenant already
    uses the default."""
    return await run_in_threadpool(_change, who, kind, "", source, store, clock)


@router.post(
    "/strategy/simulate",
    summary="Simulate a proposed strategy against the one in force, before applying it",
    openapi_extra=_BODY,
    response_model=SimulationComparison,
    responses={
        **_OPS_ERRORS,
        **documented(400),
        422: {
            "model": ErrorBody,
            "description": "The proposed strategy is refused: every problem with its path",
        },
    },
)
async def simulate(
    request: Request,
    who: OpsCaller,
    source: ConfigDep,
    store: StoreDep,
    clock: ClockDep,
    settings: SettingsDep,
    sample: int = Query(200, ge=1, le=MAX_SAMPLE, description="accounts to simulate"),
    days: int = Query(30, ge=1, le=MAX_DAYS, description="virtual days, from now"),
    seed: int = Query(1, ge=0, le=2**31 - 1, description="picks the sample and the outcomes"),
    limit: int = Query(50, ge=0, le=500, description="changed accounts to list"),
) -> JSONResponse:
    """Send a whole strategy, as for ``PUT /v1/config/strategy``; it is validated the same
    way (a wrong one is a 422 with every problem's path) and **nothing is stored or
    changed**. The proposed and the current strategy then run over the same sample of your
    accounts (the same seed, the same sample), each from its real facts, holds and recent
    contacts, through the real planner and compliance engine on virtual time: contacts per
    channel, blocks by rule with their citations and expected payments side by side, and
    the accounts whose treatment changes with the contacts each strategy alone makes
    (docs/results.md)."""
    content = await _content(request, who, Kind.STRATEGY, source)
    return await run_in_threadpool(
        _simulate, who, content, source, store, clock, settings, sample, days, seed, limit
    )


def _simulate(
    who: Principal,
    content: str,
    source: ConfigSource,
    store: Store,
    clock: Clock,
    settings: Settings,
    size: int,
    days: int,
    seed: int,
    limit: int,
) -> JSONResponse:
    try:
        found = simulate_strategy(
            who.tenant_id,
            who.tenant_slug,
            content,
            source=source,
            store=store,
            clock=clock,
            settings=settings,
            size=size,
            days=days,
            seed=seed,
            limit=limit,
        )
    except ConfigRefused as exc:
        raise _refused(Kind.STRATEGY, exc, who, source) from None
    return JSONResponse(found.as_json())


def simulate_strategy(
    tenant_id: int,
    tenant: str,
    content: str,
    *,
    source: ConfigSource,
    store: Store,
    clock: Clock,
    settings: Settings,
    size: int = 200,
    days: int = 30,
    seed: int = 1,
    limit: int = 50,
) -> Comparison:
    """The proposed strategy ``content`` against the one in force, over a sample of the
    tenant's accounts (:func:`~orchestrator.simulation.compare.compare`): what
    ``POST /v1/config/strategy/simulate`` and the console's strategy page show. Raises
    :class:`ConfigRefused` when the strategy is not valid; stores nothing."""
    proposed = source.candidate(tenant, Kind.STRATEGY, content)
    current = source.get()
    outcomes = settings.config_dir / "simulation" / "outcomes.yaml"
    model = OutcomeModel.parse(read_yaml(outcomes) or {}, str(outcomes))
    now = clock.now()
    with store.snapshot() as conn:
        sample = sample_accounts(
            conn,
            tenant_id=tenant_id,
            size=size,
            seed=seed,
            since=now - current.lookback_for(tenant),
        )
    return compare(
        sample,
        tenant=tenant,
        current=current,
        proposed=proposed,
        model=model,
        start=now,
        days=days,
        seed=seed,
        limit=limit,
    )
