"""Simulation: the real strategy, planner, routing and compliance engine on a virtual clock.

Ops preview a strategy change on a portfolio before applying it; tests prove the invariants
over months of virtual time. Providers and borrowers are replaced by a seeded outcome model
(``config/simulation/outcomes.yaml``): deliveries, answered calls, STOP replies, payments,
promises and disputes, each settable to 0 so a portfolio's own dated events are the only ones.

Everything happens on one event queue ordered by virtual time: planning passes (each account
is planned when its local date changes, like the scheduler's periodic runs), sends (where the
send-time check is made again, exactly as dispatch makes it) and borrower events.

Each channel behaves as it does for real. A call's outcome is known as it ends. A letter is a
contact on its posting day (what the packs count: mail, outside the hours rules, inside the
holds) and reaches the borrower ``posting_days`` later, or comes back ``return_days`` after
that, marking the address invalid. A WeChat message is a message; a refused one or an
unfollow is an opt-out of WeChat. A field visit goes to the work queue: it is an open attempt
until its outcome arrives days later (met, not home, refused, promise, wrong address, third
party met), each counted as the work queue counts it, or, with none by the task's deadline,
it expires and counts nowhere. Outcomes that arrive later are log lines of their own
(``decision: outcome``).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import IO, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.compliance import (
    AccountEvent,
    AccountFacts,
    ContactPointFacts,
    PastContact,
    Reason,
    RulePack,
)
from orchestrator.compliance.localtime import zone
from orchestrator.configuration.source import ConfigSet
from orchestrator.configuration.strategies import Strategy
from orchestrator.domain import Channel, ContactKind, EventType, TaskStatus
from orchestrator.errors import ConfigError, Problem, problems_from
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import event_row, locate
from orchestrator.planning.planner import PlannedContact, PlanningAccount, plan_account
from orchestrator.planning.routing import choose_route
from orchestrator.planning.visits import COUNTED_AS, VisitOutcome
from orchestrator.tasks.decision import Verdict, decide_task

_PLAN_AT = time(0, 5)  # each zone is planned just after its local midnight
_CALL_LENGTH = timedelta(minutes=4)
# How long after its time of day a visit's outcome is recorded: the agent's visit and note.
# Not a whole minute, so an outcome never ties with a send (sends fall on whole minutes)
# and the order of the two never depends on the queue's tie-break.
_VISIT_LENGTH = timedelta(minutes=41, seconds=17)


# --- the outcome model ------------------------------------------------------------------------


class _Rates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliveryRates(_Rates):
    sms: float = Field(0.96, ge=0, le=1)
    email: float = Field(0.93, ge=0, le=1)
    push: float = Field(0.90, ge=0, le=1)
    letter: float = Field(0.97, ge=0, le=1)
    wechat: float = Field(0.95, ge=0, le=1)
    other: float = Field(0.95, ge=0, le=1)  # a channel type a package added

    def rate(self, channel: Channel) -> float:
        """The delivered share for ``channel`` (``other`` for types without their own)."""
        found = getattr(self, channel.value, None)
        return found if isinstance(found, float) else self.other


class CallRates(_Rates):
    answered: float = Field(0.25, ge=0, le=1)
    voicemail: float = Field(0.30, ge=0, le=1)
    not_connected: float = Field(0.10, ge=0, le=1)


class VisitRates(_Rates):
    """How field visits end; the share left over gets no outcome and expires at the task's
    deadline. An outcome arrives ``min_days`` to ``max_days`` after the visit is handed to
    the work queue, at about the same local time of day (an agent's working hours)."""

    met_borrower: float = Field(0.30, ge=0, le=1)
    not_home: float = Field(0.30, ge=0, le=1)
    refused: float = Field(0.08, ge=0, le=1)
    promise_to_pay: float = Field(0.12, ge=0, le=1)
    wrong_address: float = Field(0.05, ge=0, le=1)
    third_party_met: float = Field(0.05, ge=0, le=1)
    min_days: int = Field(0, ge=0, le=60)
    max_days: int = Field(6, ge=0, le=60)

    def shares(self) -> list[tuple[VisitOutcome, float]]:
        return [(outcome, getattr(self, outcome.value)) for outcome in VisitOutcome]


class LetterTimes(_Rates):
    """How long the post takes: days from posting to the borrower's door, and for a
    returned letter, days more until it is back and the address is marked invalid."""

    posting_days: int = Field(3, ge=0, le=30)
    return_days: int = Field(7, ge=0, le=60)


class OutcomeModel(_Rates):
    """What borrowers and providers do after a contact (probabilities)."""

    delivery: DeliveryRates = Field(default_factory=DeliveryRates)
    call: CallRates = Field(default_factory=CallRates)
    visit: VisitRates = Field(default_factory=VisitRates)
    letter: LetterTimes = Field(default_factory=LetterTimes)
    wechat_unfollow: float = Field(0.005, ge=0, le=1)
    reply_stop: float = Field(0.01, ge=0, le=1)
    pay_in_full: float = Field(0.04, ge=0, le=1)
    promise_to_pay: float = Field(0.35, ge=0, le=1)
    keep_promise: float = Field(0.6, ge=0, le=1)
    dispute: float = Field(0.01, ge=0, le=1)

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str) -> OutcomeModel:
        try:
            model = cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(source, problems_from(exc.errors())) from None
        call = model.call
        if call.answered + call.voicemail + call.not_connected > 1:
            raise ConfigError(
                source, problems_from([{"loc": ("call",), "msg": "rates add up to more than 1"}])
            )
        visit = model.visit
        if sum(share for _, share in visit.shares()) > 1:
            raise ConfigError(
                source, problems_from([{"loc": ("visit",), "msg": "rates add up to more than 1"}])
            )
        if visit.min_days > visit.max_days:
            raise ConfigError(
                source,
                problems_from([{"loc": ("visit", "min_days"), "msg": "is later than max_days"}]),
            )
        return model

    @classmethod
    def silent(cls) -> OutcomeModel:
        """Every borrower reaction off: only the portfolio's own events happen."""
        return cls(
            reply_stop=0,
            pay_in_full=0,
            promise_to_pay=0,
            keep_promise=0,
            dispute=0,
            wechat_unfollow=0,
            visit=VisitRates(promise_to_pay=0, refused=0, met_borrower=0.5, not_home=0.5,
                             wrong_address=0, third_party_met=0),
        )  # fmt: skip


# --- the simulated accounts ---------------------------------------------------------------------


@dataclass(slots=True)
class SimAccount:
    """One account during a run: its facts change as events arrive."""

    index: int
    external_id: str
    base: PlanningAccount
    pack: RulePack
    facts: AccountFacts
    history: list[PastContact] = field(default_factory=list)
    tasks: set[tuple[str, date]] = field(default_factory=set)
    paid: bool = False

    def add_event(self, event: AccountEvent) -> None:
        events = sorted((*self.facts.events, event), key=lambda e: e.at)
        self.facts = replace(self.facts, events=tuple(events))

    def invalidate(self, *channels: Channel) -> None:
        points = tuple(
            replace(p, invalid=True) if p.channel in channels else p
            for p in self.facts.contact_points
        )
        self.facts = replace(self.facts, contact_points=points)

    def recount(self, contact: PastContact, kind: ContactKind) -> None:
        """What a contact counts as, once its outcome is known (a field visit's)."""
        if contact in self.history:
            self.history[self.history.index(contact)] = replace(contact, kind=kind)


def load_portfolio(
    lines: Iterable[bytes | str], *, config: ConfigSet, tenant: str, start: datetime
) -> tuple[list[SimAccount], list[tuple[datetime, int, AccountEvent]]]:
    """Accounts from a JSON Lines portfolio (the API's account schema), and their dated events.

    Raises :class:`ConfigError` naming the line and field of the first invalid account.
    """
    accounts: list[SimAccount] = []
    dated: list[tuple[datetime, int, AccountEvent]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = AccountDocument.model_validate(orjson.loads(line))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            problems = (
                problems_from(exc.errors())
                if isinstance(exc, ValidationError)
                else [Problem("", f"not valid JSON: {exc}")]
            )
            raise ConfigError(f"portfolio line {number}", problems) from None
        jurisdiction, zones = locate(doc)
        facts = AccountFacts(
            jurisdiction=jurisdiction,
            zones=zones,
            amount_due=doc.debt.amount_due,
            currency=doc.debt.currency,
            contact_points=tuple(
                ContactPointFacts(p.channel, p.address, p.consent, p.workplace)
                for p in doc.contact_points
            ),
        )
        index = len(accounts)
        base = PlanningAccount(
            index, doc.external_id, facts, doc.debt.due_date, doc.debt.product, doc.debt.risk_score
        )
        account = SimAccount(
            index, doc.external_id, base, config.pack_for(jurisdiction, tenant), facts
        )
        for event in doc.events:
            row = event_row(event, zones, now=start)
            fact = AccountEvent(
                type=EventType(row["type"]),
                at=row["at"],
                channel=Channel(row["channel"]) if row["channel"] else None,
                until=row["until"],
                amount=row["amount"],
                details=row["details"],
            )
            if fact.at <= start:
                account.add_event(fact)
            else:
                dated.append((fact.at, index, fact))
        accounts.append(account)
    return accounts, dated


# --- the contact log ---------------------------------------------------------------------------


@dataclass
class Summary:
    """What a run did, for the table and the chart."""

    per_day_channel: Counter[tuple[date, str]] = field(default_factory=Counter)
    blocks_by_rule: Counter[str] = field(default_factory=Counter)
    citations: dict[str, str] = field(default_factory=dict)  # rule id → its legal source
    outcomes: Counter[str] = field(default_factory=Counter)
    payments: int = 0
    collected: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    blocked: int = 0
    accounts: int = 0
    accounts_contacted: set[int] = field(default_factory=set)


class Simulation:
    """One run.

    Parameters:
      accounts / dated: from :func:`load_portfolio`.
      strategy: the tenant's strategy.
      model: the outcome model.
      seed: the random seed (the same seed, portfolio and config give the same log).
      write: receives each contact log line (a dict).
    """

    def __init__(
        self,
        accounts: list[SimAccount],
        dated: list[tuple[datetime, int, AccountEvent]],
        *,
        tenant: str,
        strategy: Strategy,
        model: OutcomeModel,
        seed: int,
        write: Callable[[dict[str, Any]], None],
    ) -> None:
        self.accounts = accounts
        self.tenant = tenant
        self.strategy = strategy
        self.model = model
        self.random = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        self.write = write
        self.summary = Summary(accounts=len(accounts))
        self._queue: list[tuple[datetime, int, str, Any]] = []
        self._order = itertools.count()
        for at, index, event in dated:
            self._push(at, "event", (index, event))

    def _push(self, at: datetime, kind: str, payload: Any) -> None:
        heapq.heappush(self._queue, (at, next(self._order), kind, payload))

    def run(
        self, start: datetime, days: int, progress: Callable[[datetime], None] | None = None
    ) -> Summary:
        """Run ``days`` virtual days from ``start``. Each zone's accounts are planned just
        after its local midnight, as the scheduler's periodic runs would plan them."""
        end = start + timedelta(days=days)
        by_zone: dict[str, list[SimAccount]] = {}
        for account in self.accounts:
            by_zone.setdefault(account.facts.zones[0], []).append(account)
        self._push(start, "plan", self.accounts)
        for name, members in by_zone.items():
            local = start.astimezone(zone(name)).date()
            for day in range(days + 2):
                at = datetime.combine(local + timedelta(days=day), _PLAN_AT, zone(name))
                at = at.astimezone(UTC)
                if start < at < end:
                    self._push(at, "plan", members)
        day_mark = start
        while self._queue:
            at, _, kind, payload = heapq.heappop(self._queue)
            if at >= end:
                break
            while progress is not None and at >= day_mark + timedelta(days=1):
                day_mark += timedelta(days=1)
                progress(day_mark)
            if kind == "plan":
                self._plan(payload, at)
            elif kind == "send":
                self._send(at, *payload)
            elif kind == "event":
                index, event = payload
                self._apply(self.accounts[index], event)
            elif kind == "visit":
                self._visit_outcome(at, *payload)
            elif kind == "returned":
                index, contact, posted = payload
                account = self.accounts[index]
                account.invalidate(Channel.LETTER)
                self._log(account, contact, at, Channel.LETTER, contact.template, "outcome", [],
                          "letter.returned", posted)  # fmt: skip
        return self.summary

    # --- planning ----------------------------------------------------------------------------

    def _plan(self, accounts: list[SimAccount], now: datetime) -> None:
        for account in accounts:
            if account.paid:
                continue
            base = replace(account.base, facts=account.facts)
            for contact in plan_account(
                base,
                strategy=self.strategy,
                pack=account.pack,
                history=account.history,
                existing=account.tasks,
                now=now,
            ):
                account.tasks.add((contact.step, contact.step_date))
                if contact.status is TaskStatus.PLANNED:
                    account.history.append(
                        PastContact(contact.not_before, contact.channel, ContactKind.RESERVED)
                    )
                    account.history.sort(key=lambda c: c.at)
                    self._push(contact.not_before, "send", (account.index, contact))
                else:
                    self._cite(contact.reasons)
                    self._log(
                        account,
                        contact,
                        contact.not_before,
                        contact.channel,
                        contact.template,
                        "blocked",
                        [r.rule_id for r in contact.reasons],
                        None,
                    )

    # --- sending (the dispatch decision, made again at send time) --------------------------

    def _send(self, at: datetime, index: int, contact: PlannedContact) -> None:
        account = self.accounts[index]
        reservation = PastContact(contact.not_before, contact.channel, ContactKind.RESERVED)
        if reservation in account.history:
            account.history.remove(reservation)
        routes = ((contact.channel, contact.template), *contact.fallback)
        # The dispatch decision itself (tasks.decision), on the simulated facts.
        decided = decide_task(
            now=at,
            expires_at=contact.expires_at,
            route=partial(
                choose_route,
                account.facts,
                account.history,
                routes,
                at,
                contact.expires_at,
                account.pack,
                purpose=contact.purpose,
            ),
        )
        if decided.verdict is not Verdict.SEND and decided.verdict is not Verdict.HOLD:
            self._cite(decided.reasons)
            self._log(
                account,
                contact,
                at,
                contact.channel,
                contact.template,
                "blocked",
                decided.rules,
                None,
            )
            return
        choice = decided.choice
        assert choice is not None
        assert choice.route is not None
        assert decided.send_at is not None
        if decided.verdict is Verdict.HOLD:
            # Not now (a window, a cap, a new hold that ends): wait, as dispatch does.
            moved = replace(
                contact,
                channel=choice.route.channel,
                template=choice.route.template,
                fallback=choice.remaining,
                not_before=decided.send_at,
            )
            account.history.append(
                PastContact(decided.send_at, moved.channel, ContactKind.RESERVED)
            )
            account.history.sort(key=lambda c: c.at)
            self._push(decided.send_at, "send", (index, moved))
            return
        channel = choice.route.channel
        sent = replace(
            contact, channel=channel, template=choice.route.template, fallback=choice.remaining
        )
        if channel is Channel.VISIT:
            outcome, kind = self._hand_to_field_team(account, sent, at)
        elif channel is Channel.LETTER:
            outcome, kind = self._post(account, sent, at)
        else:
            outcome, kind = self._outcome(account, channel, at)
        account.history.append(PastContact(at, channel, kind))
        account.history.sort(key=lambda c: c.at)
        self._log(account, contact, at, channel, choice.route.template, "sent", [], outcome)
        self.summary.accounts_contacted.add(index)

    def _hand_to_field_team(
        self, account: SimAccount, contact: PlannedContact, at: datetime
    ) -> tuple[str, ContactKind]:
        """A visit joins the work queue: an open attempt whose outcome comes later, or
        which expires at the task's deadline."""
        rates = self.model.visit
        r = self.random.random()
        outcome: VisitOutcome | None = None
        for candidate, share in rates.shares():
            if r < share:
                outcome = candidate
                break
            r -= share
        days = self.random.randint(rates.min_days, rates.max_days)
        when = at + timedelta(days=days) + _VISIT_LENGTH
        if outcome is None or when >= contact.expires_at:
            self._push(contact.expires_at, "visit", (account.index, contact, at, None))
        else:
            self._push(when, "visit", (account.index, contact, at, outcome))
        return "queued", ContactKind.ATTEMPT

    def _visit_outcome(
        self,
        at: datetime,
        index: int,
        contact: PlannedContact,
        handed: datetime,
        outcome: VisitOutcome | None,
    ) -> None:
        """A visit's outcome lands as the work queue records it (``inbound.visits``)."""
        account = self.accounts[index]
        open_visit = PastContact(handed, Channel.VISIT, ContactKind.ATTEMPT)
        if outcome is None:
            # Nobody went by the deadline: the visit never happened, counted nowhere.
            account.recount(open_visit, ContactKind.FAILED)
            self._log(account, contact, at, Channel.VISIT, contact.template, "outcome", [],
                      "visit.expired", handed)  # fmt: skip
            return
        account.recount(open_visit, COUNTED_AS[outcome])
        self._log(account, contact, at, Channel.VISIT, contact.template, "outcome", [],
                  f"visit.{outcome.value}", handed)  # fmt: skip
        if outcome is VisitOutcome.WRONG_ADDRESS:
            account.invalidate(Channel.LETTER, Channel.VISIT)
        elif outcome is VisitOutcome.PROMISE_TO_PAY:
            self._promise(account, at, kept=self.random.random() < self.model.keep_promise)
        elif outcome is VisitOutcome.MET_BORROWER and self.random.random() < self.model.pay_in_full:
            when = at + timedelta(hours=self.random.randint(1, 72))
            payment = AccountEvent(EventType.PAYMENT, when, amount=account.facts.amount_due)
            self._schedule(account, when, payment)

    def _post(
        self, account: SimAccount, contact: PlannedContact, at: datetime
    ) -> tuple[str, ContactKind]:
        """A letter is a contact on its posting day; it arrives ``posting_days`` later, or
        comes back ``return_days`` after that and the address is marked invalid."""
        times = self.model.letter
        arrives = at + timedelta(days=times.posting_days)
        if self.random.random() >= self.model.delivery.rate(Channel.LETTER):
            returned = arrives + timedelta(days=times.return_days)
            self._push(returned, "returned", (account.index, contact, at))
            return "returned", ContactKind.ATTEMPT
        if self.random.random() < self.model.pay_in_full:
            when = arrives + timedelta(hours=self.random.randint(1, 72))
            payment = AccountEvent(EventType.PAYMENT, when, amount=account.facts.amount_due)
            self._schedule(account, when, payment)
        return "delivered", ContactKind.ATTEMPT

    def _outcome(
        self, account: SimAccount, channel: Channel, at: datetime
    ) -> tuple[str, ContactKind]:
        r = self.random.random()
        model = self.model
        if channel is Channel.CALL:
            call = model.call
            if r < call.answered:
                self._after_conversation(account, at)
                return "conversation", ContactKind.CONVERSATION
            if r < call.answered + call.voicemail:
                return "voicemail", ContactKind.LIMITED_CONTENT
            if r < call.answered + call.voicemail + call.not_connected:
                return "not_connected", ContactKind.NOT_CONNECTED
            return "no_answer", ContactKind.ATTEMPT
        delivered = model.delivery.rate(channel)
        if r >= delivered:
            if channel is Channel.PUSH:  # a token no longer registered
                account.invalidate(channel)
            if channel is Channel.WECHAT:  # the borrower refused the account's messages
                refused = AccountEvent(EventType.OPT_OUT, at, channel=Channel.WECHAT)
                self._schedule(account, at, refused)
            return ("bounced" if channel is Channel.EMAIL else "undelivered"), ContactKind.ATTEMPT
        if channel is Channel.WECHAT and self.random.random() < model.wechat_unfollow:
            # The borrower unfollows the Official Account: its unsubscribe push opts out.
            when = at + timedelta(hours=self.random.randint(1, 48))
            self._schedule(account, when, AccountEvent(EventType.OPT_OUT, when, channel=channel))
        if channel is Channel.SMS and self.random.random() < model.reply_stop:
            self._schedule(
                account,
                at + timedelta(minutes=5),
                AccountEvent(EventType.OPT_OUT, at + timedelta(minutes=5), channel=Channel.SMS),
            )
        if self.random.random() < model.pay_in_full:
            when = at + timedelta(hours=self.random.randint(1, 72))
            self._schedule(
                account,
                when,
                AccountEvent(EventType.PAYMENT, when, amount=account.facts.amount_due),
            )
        return "delivered", ContactKind.ATTEMPT

    def _after_conversation(self, account: SimAccount, at: datetime) -> None:
        """What the borrower says on the phone takes effect as the call ends."""
        model = self.model
        ended = at + _CALL_LENGTH
        r = self.random.random()
        if r < model.dispute:
            self._schedule(account, ended, AccountEvent(EventType.DISPUTE, ended))
        elif r < model.dispute + model.promise_to_pay:
            self._promise(account, ended, kept=self.random.random() < model.keep_promise)

    def _promise(self, account: SimAccount, at: datetime, *, kept: bool) -> None:
        """A promise to pay the whole amount within seven days, kept or not."""
        home = zone(account.facts.zones[0])
        promised = at.astimezone(home).date() + timedelta(days=7)
        until = datetime.combine(promised, time(23, 59), home).astimezone(UTC)
        amount = account.facts.amount_due
        promise = AccountEvent(EventType.PROMISE_TO_PAY, at, until=until, amount=amount)
        self._schedule(account, at, promise)
        if kept:
            paid_at = at + timedelta(days=self.random.randint(1, 6))
            payment = AccountEvent(EventType.PAYMENT, paid_at, amount=amount)
            self._schedule(account, paid_at, payment)

    def _schedule(self, account: SimAccount, at: datetime, event: AccountEvent) -> None:
        self._push(at, "event", (account.index, event))

    def _apply(self, account: SimAccount, event: AccountEvent) -> None:
        account.add_event(event)
        self.summary.outcomes[f"event.{event.type}"] += 1
        if event.type is EventType.PAYMENT:
            self.summary.payments += 1
            if event.amount is not None:
                self.summary.collected[account.facts.currency] += int(event.amount)
            if event.amount is None or event.amount >= account.facts.amount_due:
                account.paid = True

    def _cite(self, reasons: Iterable[Reason]) -> None:
        self.summary.citations.update((r.rule_id, r.citation) for r in reasons)

    # --- the log -------------------------------------------------------------------------------

    def _log(
        self,
        account: SimAccount,
        contact: PlannedContact,
        at: datetime,
        channel: Channel,
        template: str,
        decision: str,
        rules: list[str],
        outcome: str | None,
        contact_at: datetime | None = None,
    ) -> None:
        """One log line; an outcome line names the contact it is about (``contact_at``, the
        instant it was sent)."""
        primary = zone(account.facts.zones[0])
        line = {
            "tenant": self.tenant,
            "external_id": account.external_id,
            "channel": channel.value,
            "template": template,
            "step": contact.step,
            "variant": contact.variant,
            "purpose": contact.purpose.value,
            "at_utc": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "at_local": at.astimezone(primary).isoformat(),
            "zones": list(account.facts.zones),
            "jurisdiction": account.facts.jurisdiction,
            "pack": account.pack.id,
            "decision": decision,
            "rules": rules,
            "outcome": outcome,
        }
        if contact_at is not None:
            line["contact_at"] = contact_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self.write(line)
        day = at.astimezone(primary).date()
        if decision == "outcome":
            if outcome:
                self.summary.outcomes[outcome] += 1
        elif decision == "sent":
            self.summary.sent += 1
            self.summary.per_day_channel[(day, channel.value)] += 1
            if outcome:
                self.summary.outcomes[outcome] += 1
        else:
            self.summary.blocked += 1
            for rule in rules or ["(unspecified)"]:
                self.summary.blocks_by_rule[rule] += 1


def open_log(out: IO[bytes]) -> Callable[[dict[str, Any]], None]:
    def write(line: dict[str, Any]) -> None:
        out.write(orjson.dumps(line) + b"\n")

    return write


def collected_text(summary: Summary) -> str:
    return (
        ", ".join(
            f"{amount:,} {currency}" for currency, amount in sorted(summary.collected.items())
        )
        or "0"
    )
