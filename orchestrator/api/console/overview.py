"""The console's overview: contacts per channel and status over time (a chart and its
numbers), what rules blocked or deferred (with their citations), the queue, and the
providers' health."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.engine import Connection

from orchestrator.api.console.session import HEADERS, PersonDep, render
from orchestrator.api.dependencies import AdaptersDep, CircuitsDep, ClockDep, ConfigDep, StoreDep
from orchestrator.compliance.overlay import citations
from orchestrator.configuration.source import ConfigSet
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError
from orchestrator.reporting.activity import blocks_by_rule, contacts_over_time
from orchestrator.store.rollup import timeless
from orchestrator.store.tables import Attempt, Task

router = APIRouter(include_in_schema=False)

PERIODS = (1, 7, 14, 30)
FAILED = ("failed", "bounced", "undelivered")
BLOCKED = ("blocked", "cancelled", "expired")
WAITING = ("planned", "queued")
COLOURS = {"sms": "#1d4ed8", "email": "#b45309", "push": "#047857", "call": "#7e22ce"}


@dataclass
class Overview:
    """What the overview shows for one tenant over ``days`` days up to ``now``."""

    now: datetime
    days: int
    accounts: int = 0
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)  # day -> channel -> n
    by_status: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> status -> n
    rules: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, int] = field(default_factory=dict)
    oldest_due: datetime | None = None
    providers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def contacts(self) -> int:
        return sum(sum(v.values()) for v in self.by_status.values())

    @property
    def statuses(self) -> list[str]:
        return sorted({s for counts in self.by_status.values() for s in counts})


def tenant_overview(
    conn: Connection, tenant_id: int, *, now: datetime, days: int, config: ConfigSet, tenant: str
) -> Overview:
    """The numbers of one tenant's overview, read in one snapshot, through the reporting
    services the API uses (``reporting/activity.py``, counts kept as rows are written)."""
    since = now - timedelta(days=days)
    until = now + timedelta(microseconds=1)  # up to and including now
    found = Overview(now=now, days=days)
    found.accounts = timeless(conn, tenant_id, "account").get("", 0)
    for count in contacts_over_time(
        conn, tenant_id=tenant_id, since=since, until=until, bucket="day"
    ):
        key = count.start.date()
        per_channel = found.per_day.setdefault(key, {})
        per_channel[count.channel] = per_channel.get(count.channel, 0) + count.count
        statuses = found.by_status.setdefault(count.channel, {})
        statuses[count.status] = statuses.get(count.status, 0) + count.count
    cited = citations(
        [*config.rules.packs.values(), *([o] if (o := config.tenant_overlays.get(tenant)) else [])]
    )
    found.rules = [
        {
            "rule": r.rule,
            "citation": r.citation or "",
            "blocked": r.blocked,
            "deferred": r.deferred,
        }
        for r in blocks_by_rule(
            conn, tenant_id=tenant_id, since=since, until=until, citations=cited
        )
    ]
    found.tasks = timeless(conn, tenant_id, "task")
    found.oldest_due = conn.execute(
        sa.select(sa.func.min(Task.not_before)).where(
            Task.tenant_id == tenant_id, Task.status == "queued", Task.not_before <= now
        )
    ).scalar()
    return found


def provider_health(
    conn: Connection, tenant_id: int, states: list[dict[str, str]], config: ConfigSet, *,
    tenant: str, now: datetime,
) -> list[dict[str, Any]]:  # fmt: skip
    """Each configured provider: its circuit, its error rate over the last hour and its
    rate-limit use over the last minute (sends against the configured rate)."""
    hour: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for channel, provider, status, count in conn.execute(
        sa.select(Attempt.channel, Attempt.provider, Attempt.status, sa.func.count())
        .where(Attempt.tenant_id == tenant_id, Attempt.at >= now - timedelta(hours=1))
        .group_by(Attempt.channel, Attempt.provider, Attempt.status)
    ):
        hour[(channel, provider)][0] += count
        if status in FAILED:
            hour[(channel, provider)][1] += count
    minute = dict(
        (((c, p), n) for c, p, n in conn.execute(
            sa.select(Attempt.channel, Attempt.provider, sa.func.count())
            .where(Attempt.tenant_id == tenant_id, Attempt.at >= now - timedelta(minutes=1))
            .group_by(Attempt.channel, Attempt.provider)
        ))
    )  # fmt: skip
    limits: dict[tuple[str, str], float] = {}
    try:
        channels = config.channels_for(tenant)
    except ConfigError:  # no usable config: the states above say so
        channels = None
    for kind in Channel if channels is not None else ():
        for configured in channels.providers(kind) if channels is not None else ():
            if configured.rate_limit is not None:
                limits[(kind.value, configured.adapter)] = configured.rate_limit.per_second * 60
    rows = []
    for state in states:
        key = (state["channel"], state["provider"])
        sent, failed = hour.get(key, [0, 0])
        limit = limits.get(key)
        rows.append(
            {
                **state,
                "sent_hour": sent,
                "error_rate": (failed / sent) if sent else None,
                "rate_use": (minute.get(key, 0) / limit) if limit else None,
                "rate_limit": limit,
            }
        )
    return rows


def chart(found: Overview) -> dict[str, Any]:
    """A stacked bar per day (contacts by channel), laid out for an inline SVG."""
    # The last day is today, or a later day with contacts: a process whose clock runs
    # behind the one that sent them (a demo's virtual clock) still shows them.
    last = max([found.now.date(), *found.per_day])
    first = last - timedelta(days=found.days - 1)
    days = [first + timedelta(days=i) for i in range(found.days)]
    channels = [c.value for c in Channel]
    top = max((sum(found.per_day.get(d, {}).values()) for d in days), default=0)
    scale_max = _nice(top)
    width, height, left, bottom, top_pad = 720, 260, 48, 28, 12
    plot_h = height - bottom - top_pad
    step = (width - left - 8) / len(days)
    bar_w = max(step * 0.7, 2)
    bars = []
    for index, day in enumerate(days):
        y = float(height - bottom)
        counts = found.per_day.get(day, {})
        for channel in channels:
            n = counts.get(channel, 0)
            if not n:
                continue
            h = plot_h * n / scale_max
            y -= h
            bars.append(
                {
                    "x": round(left + index * step + (step - bar_w) / 2, 1),
                    "y": round(y, 1),
                    "w": round(bar_w, 1),
                    "h": round(h, 1),
                    "fill": COLOURS[channel],
                    "title": f"{day:%d %b}: {n} {channel}",
                }
            )
    ticks = [
        {"y": round(height - bottom - plot_h * i / 4, 1), "label": f"{scale_max * i // 4:,}"}
        for i in range(5)
    ]
    every = max(1, len(days) // 7)
    labels = [
        {"x": round(left + i * step + step / 2, 1), "label": f"{d:%d %b}"}
        for i, d in enumerate(days)
        if i % every == 0 or len(days) == 1
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "bottom": height - bottom,
        "bars": bars,
        "ticks": ticks,
        "labels": labels,
        "days": [(d, found.per_day.get(d, {})) for d in days],
        "channels": channels,
        "empty": top == 0,
    }


def _nice(value: int) -> int:
    """A round axis maximum at or above ``value`` (at least 4, so ticks are whole)."""
    if value <= 4:
        return 4
    magnitude: int = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 4, 5, 8, 10):
        if value <= factor * magnitude:
            return max(4, int(factor * magnitude))
    return int(10 * magnitude)


@router.get("/console/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    person: PersonDep,
    clock: ClockDep,
    store: StoreDep,
    source: ConfigDep,
    adapters: AdaptersDep,
    breaker: CircuitsDep,
    days: int = Query(7, description="1, 7, 14 or 30"),
) -> HTMLResponse:
    if days not in PERIODS:
        days = 7
    now = clock.now()
    config = source.get()
    states = adapters.states(person.tenant_slug, breaker.is_open)
    with store.snapshot() as conn:
        found = tenant_overview(
            conn, person.tenant_id, now=now, days=days, config=config, tenant=person.tenant_slug
        )
        found.providers = provider_health(
            conn, person.tenant_id, states, config, tenant=person.tenant_slug, now=now
        )
    return render(
        request,
        "overview.html",
        person=person,
        active="overview",
        o=found,
        chart=chart(found),
        periods=PERIODS,
        config_version=config.version,
    )


@router.get("/console", include_in_schema=False)
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307, headers=HEADERS)
