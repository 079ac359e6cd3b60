"""The demo's late ladder: letters (信函), WeChat (微信) and field visits (上门).

Letters go to the sandbox's Lob stand-in and WeChat messages to its Official Account
stand-in, like any provider; field visits have no provider, so a stand-in field agent
(:mod:`channels.sandbox.field_agent`) works the visit queue through the API while the demo
runs. The summary then lists each letter with the tracking events that moved it, the WeChat
messages, and each visit with its outcome and the agent's faults.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from channels.sandbox.field_agent import (
    FieldAgentSettings,
    StandInFieldAgent,
    VisitFaults,
    VisitRates,
)
from orchestrator.clock import Clock
from orchestrator.store.db import Store
from orchestrator.store.tables import Account, Attempt, DeliveryReport, Task

# The demo's places (orchestrator/demo/samples.py), all covered by one agent.
REGIONS = ["NY", "CA", "TX", "MA", "HI", "GD", "BJ", "ENG", "NSW"]
AGENT = "Chen Jing (sandbox)"


def config_for_clock(shipped: Path, folder: Path, speed: float) -> Path:
    """A copy of the shipped config folder in ``folder``, fitted to a clock ``speed`` times
    faster than real time: a WeChat push is refused when its timestamp is older than
    ``callback_max_age_seconds`` (ten virtual minutes: a fifth of a real second at 2,880x),
    so the demo's platform allows ten real seconds. A tenant may only tighten that window,
    which is why the platform's copy is the one changed; the shipped files stay as they are."""
    target = folder / "config"
    shutil.copytree(shipped, target)
    path = target / "channels.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for provider in document["channels"].get("wechat", {}).get("providers", []):
        if provider.get("adapter") == "wechat_official":
            settings = provider.setdefault("settings", {})
            settings["callback_max_age_seconds"] = max(
                int(settings.get("callback_max_age_seconds", 600)), int(10 * speed)
            )
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@contextmanager
def field_agent(
    api_url: str, key: str, clock: Clock, *, every: float = 0.5
) -> Iterator[StandInFieldAgent]:
    """A stand-in field agent working the queue over HTTP every ``every`` real seconds
    until the block ends; one visit in five has its outcome posted twice (an app retrying),
    one in ten is a no-show (it expires at its deadline, a week on)."""
    settings = FieldAgentSettings(
        name=AGENT,
        regions=REGIONS,
        rates=VisitRates(
            met_borrower=0.3,
            refused=0.1,
            promise_to_pay=0.25,
            wrong_address=0.05,
            third_party_met=0.1,
            promise_amount="500.00",
        ),
        faults=VisitFaults(duplicate_rate=0.2, no_show_rate=0.1),
    )
    stop = threading.Event()
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        agent = StandInFieldAgent(http, clock, settings)
        thread = threading.Thread(
            target=agent.run, args=(stop, every), daemon=True, name="field-agent"
        )
        thread.start()
        try:
            yield agent
        finally:
            stop.set()
            thread.join(timeout=30)


def summary_lines(store: Store, agent: StandInFieldAgent | None) -> list[str]:
    """The late ladder's part of the summary, one line each."""
    return [*_letters(store), *_wechat(store), *_visits(store, agent)]


def _letters(store: Store) -> list[str]:
    with store.snapshot() as conn:
        letters = conn.execute(
            sa.select(
                Attempt.id,
                Attempt.provider,
                Attempt.provider_message_id,
                Attempt.status,
                Account.external_id,
                Task.step,
            )
            .join(Account, Account.id == Attempt.account_id)
            .join(Task, Task.id == Attempt.task_id)
            .where(Attempt.channel == "letter", Attempt.contact_kind != "failed")
            .order_by(Attempt.id)
        ).all()
        reports = conn.execute(
            sa.select(DeliveryReport.attempt_id, DeliveryReport.payload)
            .where(DeliveryReport.attempt_id.in_([r.id for r in letters]))
            .order_by(DeliveryReport.id)
        ).all()
    events: dict[int, list[str]] = {}
    for attempt_id, payload in reports:
        event = _event(payload)
        if event:
            events.setdefault(attempt_id, []).append(event)
    if not letters:
        return ["  letters: none posted in this run (the final letter goes at D+45)"]
    lines = [f"  letters (信函): {len(letters)} posted"]
    for row in letters:
        story = " → ".join(events.get(row.id, [])) or "no tracking event yet"
        lines.append(
            f"    {row.external_id} {row.step} via {row.provider} {row.provider_message_id or ''}: "
            f"{story} ({row.status})"
        )
    return lines


def _event(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    details = payload.get("details")
    if isinstance(details, dict) and details.get("event"):
        return str(details["event"])
    return str(payload.get("event") or "")


def _wechat(store: Store) -> list[str]:
    with store.snapshot() as conn:
        rows = conn.execute(
            sa.select(Attempt.status, Task.step, sa.func.count())
            .join(Task, Task.id == Attempt.task_id)
            .where(Attempt.channel == "wechat", Attempt.contact_kind != "failed")
            .group_by(Attempt.status, Task.step)
        ).all()
    if not rows:
        return ["  WeChat: no template message sent in this run"]
    statuses: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    for status, step, count in rows:
        statuses[status] += count
        steps[step] += count
    total = sum(statuses.values())
    return [
        f"  WeChat (微信) template messages: {total} "
        f"({', '.join(f'{s} {n}' for s, n in statuses.most_common())}) "
        f"for steps {', '.join(f'{s} {n}' for s, n in steps.most_common())}"
    ]


_FAULTS = {
    "duplicate": "outcome posted twice",
    "no_show": "no-show: it expires at its deadline",
    "late": "outcome posted after the deadline",
    "after_expiry": "outcome posted after expiry",
}


def _visits(store: Store, agent: StandInFieldAgent | None) -> list[str]:
    with store.snapshot() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(Attempt)
            .where(Attempt.channel == "visit", Attempt.contact_kind != "failed")
        ).scalar_one()
    reports = sorted(agent.reports.values(), key=lambda r: r.visit_id) if agent else []
    if not count and not reports:
        return ["  field visits: none queued in this run (late, large balances at D+50)"]
    lines = [f"  field visits (上门): {count} queued, worked by the stand-in agent {AGENT}"]
    for report in reports:
        if report.fault == "no_show" or not report.answers:
            what = "no outcome yet"
        else:
            what = report.outcome.replace("_", " ")
        answers = ", ".join(str(a) for a in report.answers)
        notes = [f"answers {answers}"] if answers else []
        if report.fault:
            notes.append(_FAULTS.get(report.fault, report.fault))
        if report.message:
            notes.append(report.message)
        lines.append(
            f"    visit {report.visit_id} {report.account}: {what}"
            + (f" ({'; '.join(notes)})" if notes else "")
        )
    return lines
