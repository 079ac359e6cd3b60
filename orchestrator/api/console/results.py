"""The console's results page: champion against each challenger, per strategy segment, over
a chosen period, and the same figures as CSV.

The figures are :func:`orchestrator.reporting.results.period_results`' — what
``GET /v1/results`` answers. The page offers calendar months (the current one by default),
which are read from the month's kept totals after folding in the writes since
(``store/kept_results.py``), and any other period by its dates, counted from the rows
(with the API's defaults for a missing end). This module only lays them out: one table per
segment, a column per arm, and beside each challenger its difference from the champion
(percentage points for a rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from orchestrator.api.console.session import HEADERS, PersonDep, render
from orchestrator.api.dependencies import ClockDep, ConfigDep, StoreDep
from orchestrator.api.results import DEFAULT_DAYS
from orchestrator.ops_users import OpsPerson
from orchestrator.reporting.results import (
    CHAMPION,
    ArmResult,
    PeriodError,
    Results,
    period_results,
)
from orchestrator.store.kept_results import is_month, next_month

router = APIRouter(prefix="/console", include_in_schema=False)
MONTHS_OFFERED = 13  # this month and the twelve before it

_RATES = (
    ("contact rate", "contact_rate", "contacted", "accounts"),
    ("right-party-contact rate", "right_party_rate", "right_party", "accounts"),
    ("promise-to-pay rate", "promise_rate", "promised", "accounts"),
    ("kept-promise rate", "kept_rate", "promises_kept", "promises_due"),
    ("payment rate", "payment_rate", "paying", "accounts"),
)


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure as the table shows it, and the challenger's difference from the champion
    (empty for the champion, or when either side has no value)."""

    text: str
    detail: str = ""
    diff: str = ""
    sign: str = ""  # "up", "down" or "": the difference's direction, for its style


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    group: str = ""  # a heading row's text instead of figures


@dataclass(frozen=True, slots=True)
class SegmentTable:
    segment: str
    arms: tuple[str, ...]
    has_champion: bool
    rows: tuple[Row, ...]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _signed(value: Decimal | float | int, unit: str = "") -> tuple[str, str]:
    if value == 0:
        return f"±0{unit}", ""
    return (f"+{value}{unit}" if value > 0 else f"−{-value}{unit}"), ("up" if value > 0 else "down")


def _count_row(label: str, values: list[int], *, detail: list[str] | None = None) -> Row:
    cells = []
    for index, value in enumerate(values):
        diff, sign = ("", "") if index == 0 else _signed(value - values[0])
        cells.append(Cell(f"{value:,}", detail[index] if detail else "", diff, sign))
    return Row(label, tuple(cells))


def _rate_row(label: str, arms: list[ArmResult], rate: str, part: str, base: str) -> Row:
    cells = []
    first = getattr(arms[0], rate)
    for index, arm in enumerate(arms):
        value = getattr(arm, rate)
        detail = f"{getattr(arm, part):,} of {getattr(arm, base):,}"
        diff, sign = "", ""
        if index and value is not None and first is not None:
            points = round((value - first) * 100, 1)
            diff, sign = _signed(Decimal(str(points)), " pp")
        cells.append(Cell(_percent(value), detail, diff, sign))
    return Row(label, tuple(cells))


def _money_row(label: str, amounts: list[Decimal]) -> Row:
    cells = []
    for index, amount in enumerate(amounts):
        diff, sign = ("", "") if index == 0 else _signed(amount - amounts[0])
        cells.append(Cell(f"{amount:,}", "", diff, sign))
    return Row(label, tuple(cells))


def _money(figures: dict[str, Any], key: str) -> Decimal:
    return Decimal(figures.get(key, "0"))


def segment_tables(found: Results) -> list[SegmentTable]:
    """Per segment (in the order of :attr:`Results.arms`: the champion first), the rows the
    page shows. With no champion in the period, the first arm is what the others are
    compared with, and the page says so."""
    data = found.as_json()["arms"]
    by_segment: dict[str, list[tuple[ArmResult, dict[str, Any]]]] = {}
    for arm, figures in zip(found.arms, data, strict=True):
        by_segment.setdefault(arm.segment, []).append((arm, figures))
    tables = []
    for segment, pairs in by_segment.items():
        arms = [arm for arm, _ in pairs]
        figures = [f for _, f in pairs]
        rows = [
            _count_row("accounts", [a.accounts for a in arms]),
            _count_row("attempts", [a.attempts for a in arms]),
        ]
        rows += [_rate_row(label, arms, *names) for label, *names in _RATES]
        currencies = sorted({c for f in figures for c in f["collected"]})
        rows.append(Row("collected", (), group="Amount collected"))
        for currency in currencies or ["—"]:
            rows.append(
                _money_row(
                    f"collected, {currency}", [_money(f["collected"], currency) for f in figures]
                )
            )
        channels = sorted({ch for f in figures for ch in f["channels"]})
        rows.append(Row("channels", (), group="Cost per channel"))
        for channel in channels:
            blocks = [
                f["channels"].get(channel, {"messages": 0, "cost": {}, "unpriced": 0})
                for f in figures
            ]
            rows.append(
                _count_row(
                    f"{channel}: messages",
                    [b["messages"] for b in blocks],
                    detail=[f"{b['unpriced']:,} unpriced" if b["unpriced"] else "" for b in blocks],
                )
            )
            for currency in sorted({c for b in blocks for c in b["cost"]}):
                amounts = [_money(b["cost"], currency) for b in blocks]
                rows.append(_money_row(f"{channel}: cost, {currency}", amounts))
        if not channels:
            rows.append(Row("no message accepted by a provider", (), group=""))
        tables.append(
            SegmentTable(
                segment,
                tuple(a.arm for a in arms),
                arms[0].arm == CHAMPION,
                tuple(rows),
            )
        )
    return tables


def _period(
    raw_from: str | None, raw_to: str | None, raw_month: str | None, today: date
) -> tuple[date, date, dict[str, str]]:
    """The period the form asks for: a calendar month (``month=YYYY-MM``), or dates; with
    neither, the current calendar month. A value that does not read is named in the returned
    problems (and the default used in its place)."""
    problems: dict[str, str] = {}

    def read(name: str, raw: str | None) -> date | None:
        if not raw:
            return None
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            problems[name] = f"{raw!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-10-01."
            return None

    if raw_month:
        try:
            first = date.fromisoformat(f"{raw_month.strip()}-01")
        except ValueError:
            problems["month"] = f"{raw_month!r} is not a month: write it as YYYY-MM, e.g. 2026-10."
        else:
            return first, next_month(first), problems
    start, end = read("from", raw_from), read("to", raw_to)
    if start is None and end is None:
        start = today.replace(day=1)
        return start, next_month(start), problems
    end = end or today + timedelta(days=1)
    start = start or end - timedelta(days=DEFAULT_DAYS)
    return start, end, problems


def _months(today: date, count: int = MONTHS_OFFERED) -> list[date]:
    """The calendar months the form offers, this one first."""
    months = [today.replace(day=1)]
    while len(months) < count:
        last = months[-1] - timedelta(days=1)
        months.append(last.replace(day=1))
    return months


def _read(
    person: OpsPerson, store: Any, config: Any, start: date, end: date, now: datetime
) -> Results | PeriodError:
    channels = config.get().channels_for(person.tenant_slug)
    try:
        return period_results(
            store,
            tenant_id=person.tenant_id,
            tenant=person.tenant_slug,
            start=start,
            end=end,
            channels=channels,
            now=now,
        )
    except PeriodError as exc:
        return exc


@router.get("/results", response_class=HTMLResponse)
def results_page(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    config: ConfigDep,
    clock: ClockDep,
) -> HTMLResponse:
    raw_from = request.query_params.get("from")
    raw_to = request.query_params.get("to")
    raw_month = request.query_params.get("month")
    today = clock.now().date()
    start, end, problems = _period(raw_from, raw_to, raw_month, today)
    found = None if problems else _read(person, store, config, start, end, clock.now())
    if isinstance(found, PeriodError):
        problems[found.field] = str(found)
        found = None
    return render(
        request,
        "results.html",
        person=person,
        active="results",
        start=start,
        end=end,
        last_day=end - timedelta(days=1),
        form_from=raw_from if raw_from is not None and not raw_month else start.isoformat(),
        form_to=raw_to if raw_to is not None and not raw_month else end.isoformat(),
        months=_months(today),
        month=start if is_month(start, end) else None,
        problems=problems,
        found=found,
        tables=segment_tables(found) if found is not None else [],
        status=422 if problems else 200,
    )


@router.get("/results.csv")
def results_csv(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    config: ConfigDep,
    clock: ClockDep,
) -> Response:
    """The page's figures as ``GET /v1/results?format=csv`` answers them."""
    start, end, problems = _period(
        request.query_params.get("from"),
        request.query_params.get("to"),
        request.query_params.get("month"),
        clock.now().date(),
    )
    found = None if problems else _read(person, store, config, start, end, clock.now())
    if isinstance(found, PeriodError):
        problems[found.field] = str(found)
    if problems or not isinstance(found, Results):
        text = "".join(f"{name}: {message}\n" for name, message in problems.items())
        return Response(
            text, status_code=422, media_type="text/plain; charset=utf-8", headers=HEADERS
        )
    name = f"results-{person.tenant_slug}-{start}-{end}.csv"
    return Response(
        found.as_csv(),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
