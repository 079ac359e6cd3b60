"""``orchestrator accounts``: bulk import and inspection."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from orchestrator.cli import runtime

app = typer.Typer(help="Import accounts in bulk.", no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)

BATCH = 2_000


@app.command("import")
def import_accounts(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A .jsonl or .csv file."
    ),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Whose accounts these are."),
    fmt: str = typer.Option(None, "--format", help="csv or jsonl (default: from the extension)."),
    rejected_path: Path = typer.Option(
        None, "--rejected", help="Where to write rejected rows (default: FILE.rejected.jsonl)."
    ),
) -> None:
    """Import accounts from a file in the API's account schema.

    JSON Lines: one account document per line, exactly as the API takes it (events included).
    CSV: dotted column names (borrower.name, borrower.address.country, debt.amount_due, ...),
    one column per channel (sms, call, email, push) and flags like sms.consent.

    Valid rows are committed in batches; re-importing the same file changes nothing. Rejected
    rows go to a file with their line number and the reason for each field. Exits 1 when any
    row was rejected.
    """
    import orjson

    from orchestrator.clock import SystemClock
    from orchestrator.intake.batch import Rejected
    from orchestrator.intake.files import FileFormatError, count_records, detect_format, read_rows
    from orchestrator.intake.prepared import IntakeResult
    from orchestrator.tenancy import tenant_id_for

    try:
        kind = detect_format(file, fmt)
    except FileFormatError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    config = runtime.settings()
    store = runtime.open_store(config)
    with store.snapshot() as conn:
        tenant_id = tenant_id_for(conn, tenant)
    if tenant_id is None:
        err.print(
            f"[bold red]error:[/] no tenant named {tenant!r}: create it with "
            f"`orchestrator tenants create {tenant}`"
        )
        raise typer.Exit(2)

    clock = SystemClock()
    totals = IntakeResult()
    rejected: list[tuple[Rejected, str]] = []
    warned: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    started = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]importing[/] {task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8} rows/s"),
        TimeRemainingColumn(),
        console=out,
    )
    with progress:
        task = progress.add_task("import", total=count_records(file, kind), name=file.name, rate="")
        batch = []
        for row in read_rows(file, kind):
            batch.append(row)
            if len(batch) >= BATCH:
                _import_batch(store, tenant_id, batch, clock, totals, rejected, warned, seen)
                progress.update(task, advance=len(batch), rate=_rate(progress, task, started))
                batch = []
        if batch:
            _import_batch(store, tenant_id, batch, clock, totals, rejected, warned, seen)
            progress.update(task, advance=len(batch), rate=_rate(progress, task, started))
    elapsed = time.perf_counter() - started

    target = rejected_path or file.with_name(file.name + ".rejected.jsonl")
    if rejected:
        with target.open("wb") as handle:
            for item, raw in rejected:
                handle.write(
                    orjson.dumps({"line": item.index, **item.as_json(), "row": raw}) + b"\n"
                )
    warnings_path = file.with_name(file.name + ".warnings.jsonl")
    if warned:
        with warnings_path.open("wb") as handle:
            for warning in warned:
                handle.write(orjson.dumps(warning) + b"\n")
    _summary(totals, len(rejected), elapsed, target if rejected else None)
    if warned:
        out.print(
            f"{len(warned):,} accepted account(s) look wrong (imported all the same); "
            f"each with its warnings: [bold]{warnings_path}[/]"
        )
        for warning in warned[:3]:
            out.print(
                f"  line {warning['line']} {warning['external_id']}: {warning['warnings'][0]}"
            )
    if rejected:
        raise typer.Exit(1)


def _import_batch(store, tenant_id, rows, clock, totals, rejected, warned, seen) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.errors import Problem
    from orchestrator.intake.batch import Rejected, check_items
    from orchestrator.intake.files import is_unreadable
    from orchestrator.intake.plausibility import document_warnings
    from orchestrator.intake.upsert import EventConflict, prepare, write_accounts

    readable = []
    for row in rows:
        reason = is_unreadable(row.document)
        if reason is not None:
            rejected.append((Rejected(row.line, None, (Problem("", reason),)), row.raw))
        else:
            readable.append(row)
    by_line = {row.line: row for row in readable}
    # check_items numbers items 0..n-1: map back to line numbers.
    lines = [row.line for row in readable]
    checked = check_items([row.document for row in readable], where=lambda i: f"line {lines[i]}")
    for item in checked.rejected:
        line = lines[item.index]
        rejected.append((Rejected(line, item.external_id, item.problems), by_line[line].raw))
    accepted = []
    for index, doc in checked.accepted:
        if doc.external_id in seen:
            line = lines[index]
            problem = Problem(
                "external_id",
                f"{doc.external_id!r} appears earlier in this file (line {seen[doc.external_id]})",
            )
            rejected.append((Rejected(line, doc.external_id, (problem,)), by_line[line].raw))
            continue
        seen[doc.external_id] = lines[index]
        accepted.append(doc)
    now = clock.now()
    while accepted:
        prepared = [prepare(doc, now=now) for doc in accepted]
        try:
            with store.transaction() as conn:
                result = write_accounts(conn, tenant_id, prepared, now=now, source="import")
        except EventConflict as conflict:
            # Nothing was written: refuse the account whose event id names other content,
            # and write the others.
            line = seen[conflict.external_id]
            problem = Problem("events", str(conflict))
            rejected.append((Rejected(line, conflict.external_id, (problem,)), by_line[line].raw))
            accepted = [doc for doc in accepted if doc.external_id != conflict.external_id]
            continue
        break
    else:
        return
    for doc in accepted:
        found = document_warnings(doc)
        if found:
            warned.append(
                {"line": seen[doc.external_id], "external_id": doc.external_id, "warnings": found}
            )
    totals.created += result.created
    totals.updated += result.updated
    totals.unchanged += result.unchanged
    totals.events_added += result.events_added


def _rate(progress: Progress, task: int, started: float) -> str:
    done = progress.tasks[task].completed
    return f"{done / max(time.perf_counter() - started, 1e-9):,.0f}"


def _summary(totals: Any, rejected: int, elapsed: float, target: Path | None) -> None:
    table = Table(title="Import summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("created", f"{totals.created:,}")
    table.add_row("updated", f"{totals.updated:,}")
    table.add_row("unchanged", f"{totals.unchanged:,}")
    table.add_row("events added", f"{totals.events_added:,}")
    table.add_row("rejected", f"[red]{rejected:,}[/]" if rejected else "0")
    done = totals.accepted + rejected
    table.add_row("time", f"{elapsed:.1f} s ({done / max(elapsed, 1e-9):,.0f} rows/s)")
    out.print(table)
    if target is not None:
        out.print(f"Rejected rows, with the reason for each field: [bold]{target}[/]")
