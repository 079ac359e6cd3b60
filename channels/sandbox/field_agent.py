"""A stand-in field agent (上门): the sandbox's imitation of a person working the visit queue.

Field visits have no provider to imitate: the "provider" is the lender's own field team,
working the product's work queue (docs/channels.md, "Field visits"). This stand-in does what
a field agent's app would, through the real API and nothing else: it registers as a field
agent for its regions (``POST /v1/field-agents``), takes the open visits in those regions
(``GET /v1/visits``, ``POST /v1/visits/{id}/assign``: it plays the dispatcher too, unless
told not to), and posts each visit's outcome (``POST /v1/visits/{id}/outcome``), drawn from
configurable rates.

And it fails on demand, the way people and their phones do (:class:`VisitFaults`):

- **no-show**: the agent never goes, so the visit expires at its deadline;
- **late**: the outcome is posted after the deadline (the product refuses it);
- **duplicate**: the outcome is posted twice, as an app retrying after a lost answer does
  (the product answers the second the same and records nothing more);
- **after expiry**: the outcome is posted once the visit was expired (refused too).

Each visit's outcome and fault are drawn from a generator seeded with the run's seed and the
visit's id, so a visit's fate does not depend on the order the queue was read in. Every post
and the product's answer go to :attr:`StandInFieldAgent.reports`.
"""

from __future__ import annotations

import contextlib
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.clock import Clock

OUTCOMES = (
    "met_borrower",
    "not_home",
    "refused",
    "promise_to_pay",
    "wrong_address",
    "third_party_met",
)
FAULTS = ("no_show", "late", "duplicate", "after_expiry")


class VisitRates(BaseModel):
    """How visits end, as probabilities summing to at most 1; the rest is ``not_home``.

    Parameters:
      met_borrower / refused / promise_to_pay / wrong_address / third_party_met: each
        outcome's share.
      promise_amount: what a borrower met at the door promises (a decimal string).
      promise_days: how many days ahead the promised day lies.
    """

    model_config = ConfigDict(extra="forbid")

    met_borrower: float = Field(0.3, ge=0, le=1)
    refused: float = Field(0.1, ge=0, le=1)
    promise_to_pay: float = Field(0.2, ge=0, le=1)
    wrong_address: float = Field(0.05, ge=0, le=1)
    third_party_met: float = Field(0.1, ge=0, le=1)
    promise_amount: str = Field("100.00", pattern=r"^\d{1,12}(\.\d{1,2})?$")
    promise_days: int = Field(7, ge=0, le=365)

    @model_validator(mode="after")
    def _fits(self) -> VisitRates:
        if sum(self._shares().values()) > 1 + 1e-9:
            raise ValueError("the outcome rates must sum to at most 1 (the rest is not_home)")
        return self

    def _shares(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in OUTCOMES if name != "not_home"}

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        for outcome, rate in self._shares().items():
            if roll < rate:
                return outcome
            roll -= rate
        return "not_home"


class VisitFaults(BaseModel):
    """How the agent fails, as probabilities per visit (summing to at most 1).

    Parameters:
      no_show_rate: the agent never goes; the visit expires at its deadline.
      late_rate: the outcome is posted ``late_by_seconds`` after the deadline.
      duplicate_rate: the outcome is posted twice.
      after_expiry_rate: the outcome is posted once the visit is listed as expired.
      late_by_seconds: how far past the deadline a late outcome is posted (on the clock
        given to the agent).
    """

    model_config = ConfigDict(extra="forbid")

    no_show_rate: float = Field(0.0, ge=0, le=1)
    late_rate: float = Field(0.0, ge=0, le=1)
    duplicate_rate: float = Field(0.0, ge=0, le=1)
    after_expiry_rate: float = Field(0.0, ge=0, le=1)
    late_by_seconds: float = Field(60.0, ge=1)

    @model_validator(mode="after")
    def _fits(self) -> VisitFaults:
        if sum(getattr(self, f"{name}_rate") for name in FAULTS) > 1 + 1e-9:
            raise ValueError("the fault rates must sum to at most 1")
        return self

    def draw(self, rng: random.Random) -> str | None:
        roll = rng.random()
        for fault in FAULTS:
            rate: float = getattr(self, f"{fault}_rate")
            if roll < rate:
                return fault
            roll -= rate
        return None


class FieldAgentSettings(BaseModel):
    """One stand-in agent.

    Parameters:
      name: the agent's name as registered.
      regions: the regions or cities covered (matched as the work queue matches them).
      seed: seeds outcomes and faults, so a run repeats.
      claim_unassigned: take the unassigned visits in the agent's regions (the dispatcher's
        job, played here); off, the agent works only what ops assigned to it.
      rates / faults: how visits end, and how the agent fails.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field("Sandbox Field Agent", min_length=1, max_length=200)
    regions: list[str] = Field(min_length=1)
    seed: int = 7
    claim_unassigned: bool = True
    rates: VisitRates = Field(default_factory=VisitRates)
    faults: VisitFaults = Field(default_factory=VisitFaults)


@dataclass
class VisitReport:
    """What the agent did with one visit, and what the product answered.

    Parameters:
      visit_id / account / due_by: the visit, its account and its deadline.
      outcome: the outcome drawn (posted, or that would have been for a no-show).
      fault: the fault drawn, if any.
      answers: each post's HTTP status, in order (none for a no-show).
      message: the product's last answer's message, when it refused.
      done: the agent is finished with the visit.
    """

    visit_id: int
    account: str
    due_by: datetime
    outcome: str
    fault: str | None
    answers: list[int] = field(default_factory=list)
    message: str = ""
    done: bool = False


class StandInFieldAgent:
    """Works the visit queue through the API.

    Parameters:
      http: a client for the orchestrator's API, authenticated with an ops key (any httpx
        client: a real one over the network, or a test client).
      clock: the clock the product runs on (a late outcome waits for its deadline on it).
      settings: who the agent is and how it behaves.
    """

    def __init__(self, http: httpx.Client, clock: Clock, settings: FieldAgentSettings) -> None:
        self.http = http
        self.clock = clock
        self.settings = settings
        self.agent_id: int | None = None
        self.reports: dict[int, VisitReport] = {}
        self._lock = threading.Lock()

    # --- the agent's day ---------------------------------------------------------------------

    def register(self) -> int:
        """Register as a field agent (or find the agent registered under this name)."""
        answer = self.http.post(
            "/v1/field-agents",
            json={"name": self.settings.name, "regions": self.settings.regions},
        )
        if answer.status_code == 409:
            listed = self._ok(self.http.get("/v1/field-agents"))["agents"]
            self.agent_id = next(a["id"] for a in listed if a["name"] == self.settings.name)
        else:
            self.agent_id = int(self._ok(answer)["id"])
        return self.agent_id

    def work(self) -> list[VisitReport]:
        """One pass over the queue: claim, visit, post what is due; the reports touched."""
        if self.agent_id is None:
            self.register()
        touched: list[VisitReport] = []
        with self._lock:
            for visit in self._list("open"):
                mine = visit["agent"] is not None and visit["agent"]["id"] == self.agent_id
                if not mine and visit["agent"] is None and self.settings.claim_unassigned:
                    mine = self._claim(visit)
                if mine:
                    self._report(visit)
            waiting = [r for r in self.reports.values() if not r.done and r.fault != "no_show"]
            expired = (
                {v["id"] for v in self._list("expired")}
                if any(r.fault == "after_expiry" for r in waiting)
                else set()
            )
            for report in waiting:
                if self._due(report, expired):
                    self._post(report)
                    if report.fault == "duplicate":
                        self._post(report)
                    report.done = True
                    touched.append(report)
        return touched

    def run(self, stop: threading.Event, every: float = 0.5) -> None:
        """Work the queue every ``every`` real seconds until ``stop`` is set; an API that
        does not answer is tried again on the next pass."""
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                self.work()
            stop.wait(every)

    # --- the parts ---------------------------------------------------------------------------

    def _list(self, status: str) -> list[dict[str, Any]]:
        """The visits in ``status`` in the agent's regions: one request a pass, whatever the
        number of regions (matched as the queue matches them: the address's region or
        city, case-insensitively)."""
        answer = self.http.get("/v1/visits", params={"status": status})
        regions = {r.casefold() for r in self.settings.regions}
        return [
            v
            for v in self._ok(answer)["visits"]
            if {v["region"].casefold(), v["city"].casefold()} & regions
        ]

    def _claim(self, visit: dict[str, Any]) -> bool:
        answer = self.http.post(
            f"/v1/visits/{visit['id']}/assign", json={"agent_id": self.agent_id}
        )
        return answer.status_code == 200

    def _report(self, visit: dict[str, Any]) -> VisitReport:
        report = self.reports.get(visit["id"])
        if report is None:
            rng = random.Random(f"{self.settings.seed}:visit:{visit['id']}")  # noqa: S311 - a simulation
            outcome = self.settings.rates.draw(rng)
            fault = self.settings.faults.draw(rng)
            report = VisitReport(
                visit["id"], visit["account"], _instant(visit["due_by"]), outcome, fault
            )
            self.reports[visit["id"]] = report
        return report

    def _due(self, report: VisitReport, expired: set[int]) -> bool:
        """Whether the agent posts the visit's outcome now (a no-show never does)."""
        if report.fault == "after_expiry":
            return report.visit_id in expired
        if report.fault == "late":
            late_by = timedelta(seconds=self.settings.faults.late_by_seconds)
            return self.clock.now() >= report.due_by + late_by
        return True

    def _post(self, report: VisitReport) -> None:
        body: dict[str, Any] = {"outcome": report.outcome}
        if report.outcome == "promise_to_pay":
            day = self.clock.now().date() + timedelta(days=self.settings.rates.promise_days)
            body |= {"promise_amount": self.settings.rates.promise_amount, "promise_date": str(day)}
        answer = self.http.post(f"/v1/visits/{report.visit_id}/outcome", json=body)
        report.answers.append(answer.status_code)
        if not answer.is_success:
            try:
                report.message = str(answer.json()["error"]["message"])
            except (ValueError, KeyError, TypeError):
                report.message = answer.text[:200]

    @staticmethod
    def _ok(answer: httpx.Response) -> Any:
        answer.raise_for_status()
        return answer.json()


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
