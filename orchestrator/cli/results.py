"""``orchestrator results``: champion against challengers, as a table or CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.cli import runtime

if TYPE_CHECKING:
    from orchestrator.reporting.results import ArmResult

out = Console()
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("results")(show_results)


def show_results(
    tenant: str = typer.Option(..., "--tenant", "-t", help="Whose results."),
    start: str = typer.Option(
        None, "--from", help="First day, YYYY-MM-DD (default: 30 days before --to)."
    ),
    end: str = typer.Option(
        None, "--to", help="The day after the last, YYYY-MM-DD (default: tomorrow, UTC)."
    ),
    csv_file: Path = typer.Option(
        None, "--csv", dir_okay=False, help="Write the figures as CSV to this file ('-': stdout)."
    ),
) -> None:
    """Champion against challengers, per strategy segment, over a period.

    For each segment and arm (the variant; [bold]champion[/] where a segment has none):
    accounts, contact rate, right-party-contact rate, promise-to-pay rate, kept-promise
    rate, payment rate, amount collected, and what each channel cost at the prices in the
    channel config. An account counts in the arm of its first task in the period;
    docs/results.md defines every figure. The same figures as GET /v1/results.

    Example: [bold]orchestrator results -t acme --from 2026-10-01 --to 2026-11-01[/]
    """
    from orchestrator.clock import SystemClock
    from orchestrator.configuration.source import ConfigSource
    from orchestrator.reporting.results import PeriodError, period_results
    from orchestrator.tenancy import tenant_id_for

    last = _day(end, "--to") or datetime.now(UTC).date() + timedelta(days=1)
    first = _day(start, "--from") or last - timedelta(days=30)
    settings = runtime.settings()
    store = runtime.open_store(settings)
    with store.snapshot() as conn:
        tenant_id = tenant_id_for(conn, tenant)
    if tenant_id is None:
        err.print(
            f"[bold red]error:[/] no tenant named {tenant!r}: "
            "[bold]orchestrator tenants list[/] shows them."
        )
        raise typer.Exit(2)
    config = ConfigSource(
        settings.config_dir, settings.templates_dir, store, now=SystemClock().now
    ).get()
    try:
        found = period_results(
            store,
            tenant_id=tenant_id,
            tenant=tenant,
            start=first,
            end=last,
            channels=config.channels_for(tenant),
            now=SystemClock().now(),
        )
    except PeriodError as exc:
        err.print(f"[bold red]error:[/] --{exc.field}: {exc}")
        raise typer.Exit(2) from None
    if csv_file is not None:
        if str(csv_file) == "-":
            typer.echo(found.as_csv(), nl=False)
            return
        csv_file.write_text(found.as_csv(), encoding="utf-8")
        err.print(f"Wrote {len(found.arms)} arm(s) to [bold]{csv_file}[/]")
        return
    if not found.arms:
        out.print(f"No account of {tenant} had a task from {first} to {last - timedelta(days=1)}.")
        return
    table = Table(
        title=f"Results of {tenant}, {first} to {last - timedelta(days=1)}",
        title_justify="left",
    )
    for column in ("segment", "arm"):
        table.add_column(column)
    for column in ("accounts", "contact", "RPC", "promise", "kept", "paying", "collected"):
        table.add_column(column, justify="right")
    table.add_column("cost per channel")
    for arm in found.arms:
        table.add_row(arm.segment, arm.arm, f"{arm.accounts:,}", *_cells(arm))
    out.print(table)
    out.print(
        "contact, RPC, promise and paying: share of the arm's accounts; kept: share of the "
        "promises that fell due. Definitions: docs/results.md"
    )


def _cells(arm: ArmResult) -> list[str]:
    data = {
        "collected": ", ".join(f"{v:,.2f} {c}" for c, v in sorted(arm.collected.items())) or "0",
        "cost": "; ".join(
            f"{name} {cost.messages:,}"
            + "".join(f" · {v:,.4f} {c}" for c, v in sorted(cost.cost.items()))
            + (f" · {cost.unpriced:,} unpriced" if cost.unpriced else "")
            for name, cost in sorted(arm.channels.items())
        )
        or "-",
    }
    return [
        _percent(arm.contact_rate),
        _percent(arm.right_party_rate),
        _percent(arm.promise_rate),
        _percent(arm.kept_rate) + f" of {arm.promises_due:,}",
        _percent(arm.payment_rate),
        data["collected"],
        data["cost"],
    ]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[bold red]error:[/] {option}: {value!r} is not a date YYYY-MM-DD")
        raise typer.Exit(2) from None
