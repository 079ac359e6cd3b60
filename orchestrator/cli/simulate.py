"""``orchestrator simulate``: preview a strategy on a portfolio over virtual days."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from orchestrator.cli import runtime

out = Console()


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    portfolio: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Accounts as JSON Lines, in the API's schema."
    ),
    days: int = typer.Option(60, min=1, max=3650, help="Virtual days to run."),
    start: str = typer.Option(None, help="First day, YYYY-MM-DD (default: today, UTC)."),
    seed: int = typer.Option(1, help="Random seed: same seed, same log."),
    log: Path = typer.Option(Path("contacts.jsonl"), "--out", help="Contact log (JSON Lines)."),
    tenant: str = typer.Option("simulation", help="Tenant name written on each log line."),
    strategy_file: Path = typer.Option(
        None,
        "--strategy",
        exists=True,
        dir_okay=False,
        help="A strategy YAML to preview instead of the tenant's.",
    ),
    outcomes: Path = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="Outcome rates (default config/simulation/outcomes.yaml).",
    ),
    silent: bool = typer.Option(
        False,
        "--no-reactions",
        help="Borrowers never react: only the portfolio's dated events happen.",
    ),
    chart: Path = typer.Option(None, help="Also write the summary as an HTML page with a chart."),
) -> None:
    """Preview a strategy on a portfolio over virtual days.

    Runs the real strategy, planner and compliance engine on a virtual clock, with providers
    and borrowers replaced by a seeded outcome model.

    Writes one JSON line per contact sent or blocked (tenant, external_id, channel, template,
    step, variant, at_utc, at_local, zones, decision, rules, outcome), one line more for each
    outcome that arrives later (``decision: outcome``: a field visit's, a returned letter),
    and prints contacts per channel per day, blocks per rule, and payments.
    """
    from orchestrator.configuration.source import ConfigSet, load_config, read_yaml
    from orchestrator.configuration.strategies import parse_strategy
    from orchestrator.simulation.report import html_report
    from orchestrator.simulation.run import (
        OutcomeModel,
        Simulation,
        collected_text,
        load_portfolio,
        open_log,
    )

    settings = runtime.settings()
    config = load_config(settings.config_dir, settings.templates_dir)
    strategy = config.strategy_for(tenant)
    if strategy_file is not None:
        strategy = parse_strategy(read_yaml(strategy_file) or {}, str(strategy_file))
        config = ConfigSet(
            config.rules, {**config.strategies, "default": strategy}, config.templates
        )
    model = (
        OutcomeModel.silent()
        if silent
        else OutcomeModel.parse(
            read_yaml(outcomes or settings.config_dir / "simulation" / "outcomes.yaml") or {},
            str(outcomes or "outcomes.yaml"),
        )
    )
    first = _start(start)
    with portfolio.open("rb") as handle:
        accounts, dated = load_portfolio(handle, config=config, tenant=tenant, start=first)
    began = time.perf_counter()
    with (
        log.open("wb") as handle,
        Progress(
            TextColumn("[bold]simulating[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days"),
            console=out,
        ) as progress,
    ):
        task = progress.add_task("days", total=days)
        run = Simulation(
            accounts,
            dated,
            tenant=tenant,
            strategy=strategy,
            model=model,
            seed=seed,
            write=open_log(handle),
        )
        summary = run.run(first, days, progress=lambda _: progress.advance(task))
        progress.update(task, completed=days)
    elapsed = time.perf_counter() - began

    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for (day, channel), count in sorted(summary.per_day_channel.items()):
        per_day[day][channel] = count
    table = Table(title="Contacts per day", title_justify="left")
    for column in ("local date", "sms", "email", "push", "call", "total"):
        table.add_column(column, justify="right" if column != "local date" else "left")
    for day, counts in per_day.items():
        table.add_row(
            str(day),
            *(f"{counts.get(c, 0):,}" for c in ("sms", "email", "push", "call")),
            f"{sum(counts.values()):,}",
        )
    out.print(table)
    blocks = Table("rule", "blocked", title="Blocked, by rule", title_justify="left")
    for rule, count in summary.blocks_by_rule.most_common():
        blocks.add_row(rule, f"{count:,}")
    out.print(blocks)
    out.print(
        f"{summary.accounts:,} accounts, {days} days in {elapsed:.1f} s: {summary.sent:,} contacts "
        f"sent, {summary.blocked:,} blocked, {len(summary.accounts_contacted):,} accounts reached, "
        f"{summary.payments:,} payments ({collected_text(summary)}). Log: [bold]{log}[/]"
    )
    if chart is not None:
        chart.write_text(
            html_report(summary, title=f"Simulation of {portfolio.name}"), encoding="utf-8"
        )
        out.print(f"Chart: [bold]{chart}[/]")


def _start(value: str | None) -> datetime:
    from orchestrator.errors import ConfigError, Problem

    if value is None:
        today = datetime.now(UTC).date()
    else:
        try:
            today = date.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                "--start", [Problem("start", f"{value!r} is not a date YYYY-MM-DD")]
            ) from None
    return datetime(today.year, today.month, today.day, tzinfo=UTC)
