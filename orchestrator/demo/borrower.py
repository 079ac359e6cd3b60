"""The demo's borrower: opens the self-service link from an SMS the sandbox received, proves
who they are, chooses a repayment plan, and the account's contacts change.

It goes through the real page over HTTP, as a phone's browser would (no API key): the link,
the second factor, the account page, the plan form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from orchestrator.domain import TaskStatus
from orchestrator.store.db import Store
from orchestrator.store.tables import Account, AccountEvent, Attempt, LedgerEntry, Task

_PENDING = (TaskStatus.PLANNED.value, TaskStatus.QUEUED.value)


@dataclass
class BorrowerVisit:
    """What the demo's borrower did, and what it changed."""

    external_id: str
    link: str
    sms_at: str
    plan: str = ""
    events: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    problem: str = ""


EXTERNAL_ID = "demo-borrower"


def borrower_document(today: date) -> dict[str, Any]:
    """The borrower who will answer: 30 days past due in New York, so the strategy sends a
    final notice by SMS at noon and by email in the evening (the borrower said email suits
    them after 18:00), both carrying the self-service link: the plan chosen from the SMS
    cancels the email."""
    return {
        "external_id": EXTERNAL_ID,
        "jurisdiction": "US-NY",
        "borrower": {
            "name": "Dana Whitfield",
            "locale": "en-US",
            "time_zone": "America/New_York",
            "address": {"country": "US", "region": "NY", "postal_code": "10001"},
        },
        "contact_points": [
            {"channel": "sms", "address": "+12125550187", "consent": True},
            {"channel": "email", "address": "dana.whitfield@example.org"},
        ],
        "debt": {
            "amount_due": "640.00",
            "currency": "USD",
            "due_date": (today - timedelta(days=30)).isoformat(),
            "product": "cash_loan",
        },
        "events": [
            {
                "type": "contact_preference",
                "at": (today - timedelta(days=5)).isoformat(),
                "channel": "email",
                "details": {"not_before": "18:00", "not_after": "20:00"},
            }
        ],
    }


def visit(journal: Path, api_url: str, store: Store, now: datetime) -> BorrowerVisit | None:
    """Choose a plan from the SMS that carried the demo borrower's link; ``None`` while no
    such SMS has been received."""
    found = _latest_link(journal, api_url, store)
    if found is None:
        return None
    account_id, external_id, link, to, sms_at = found
    result = BorrowerVisit(external_id, link, sms_at)
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        page = browser.get(link)
        pre = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if page.status_code != 200 or pre is None:
            result.problem = f"the link answered {page.status_code}"
            return result
        answer = browser.post(f"{link}/verify", data={"csrf": pre.group(1), "last4": to[-4:]})
        if answer.status_code != 303:
            result.problem = f"the second factor answered {answer.status_code}"
            return result
        page = browser.get(f"{link}/account")
        form = re.search(
            r'/act/plan">\s*<input type="hidden" name="nonce" value="([^"]+)">'
            r'<input type="hidden" name="csrf" value="([^"]+)">',
            page.text,
        )
        options = re.findall(r'name="option" value="([^"]+)"[^>]*>\s*([^<]+)</label>', page.text)
        if form is None or not options:
            result.problem = "no payment plan is offered to this account"
            return result
        option, label = next(((o, t) for o, t in options if o.startswith("m")), options[0])
        answer = browser.post(
            f"{link}/act/plan",
            data={"nonce": form.group(1), "csrf": form.group(2), "option": option},
        )
        if not answer.headers.get("location", "").endswith("done=plan"):
            result.problem = f"choosing the plan answered {answer.status_code}"
            return result
    result.plan = " ".join(label.split())
    with store.snapshot() as conn:
        result.events = [
            f"{e.type} {e.amount} until {e.until:%Y-%m-%d} ({e.details.get('instalment')})"
            for e in conn.execute(
                sa.select(AccountEvent)
                .where(AccountEvent.account_id == account_id, AccountEvent.source == "self_service")
                .order_by(AccountEvent.id)
            )
        ]
        result.changed = [
            entry.message
            for entry in conn.execute(
                sa.select(LedgerEntry.message)
                .where(
                    LedgerEntry.account_id == account_id,
                    LedgerEntry.kind.like("task.%"),
                    LedgerEntry.at >= now,
                )
                .order_by(LedgerEntry.id)
            )
        ]
    return result


def _latest_link(
    journal: Path, api_url: str, store: Store
) -> tuple[int, str, str, str, str] | None:
    if not journal.exists():
        return None
    pattern = re.compile(re.escape(api_url) + r"/s/[0-9A-Za-z]{16}")
    candidates: dict[str, tuple[str, str, str]] = {}
    for line in journal.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("kind") != "message" or not entry.get("attempt_ref"):
            continue
        match = pattern.search(str(entry.get("body", "")))
        if match and str(entry.get("to", "")).startswith("+1212555018"):
            candidates[entry["attempt_ref"]] = (match.group(0), entry["to"], entry["received_at"])
    if not candidates:
        return None
    with store.snapshot() as conn:
        rows = list(
            conn.execute(
                sa.select(Attempt.ref, Account.id, Account.external_id)
                .join(Account, Account.id == Attempt.account_id)
                .where(Attempt.ref.in_(list(candidates)))
            )
        )
        pending = set(
            conn.execute(
                sa.select(Task.account_id).where(
                    Task.account_id.in_([r.id for r in rows]), Task.status.in_(_PENDING)
                )
            ).scalars()
        )
    if not rows:
        return None
    rows.sort(key=lambda r: (r.id in pending, candidates[r.ref][2]), reverse=True)
    chosen = rows[0]
    link, to, at = candidates[chosen.ref]
    return chosen.id, chosen.external_id, link, to, at
