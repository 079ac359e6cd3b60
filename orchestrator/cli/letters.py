"""``orchestrator letters``: letters a lender prints and posts itself."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from channels.print_batch import read_batch

app = typer.Typer(
    help=(
        "Letters printed in house. With the [bold]print_batch[/bold] adapter configured for "
        "the letter channel, dispatch writes each letter it sends as a PDF into the posting "
        "day's folder under its spool_dir; [bold]export[/bold] gathers one day for the print "
        "room."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
out = Console()


@app.callback()
def letters() -> None:
    """Letters printed in house (one command group, so ``export`` names its command)."""


MANIFEST_FIELDS = (
    "sequence",
    "file",
    "name",
    "address",
    "postal_code",
    "country",
    "pages",
    "sha256",
    "attempt_ref",
)


@app.command("export")
def export(
    day: Annotated[str, typer.Argument(help="The posting day, YYYY-MM-DD.")],
    spool: Annotated[
        Path,
        typer.Option(
            "--spool",
            exists=True,
            file_okay=False,
            help="The print_batch adapter's spool_dir.",
        ),
    ],
    to: Annotated[
        Path,
        typer.Option("--to", file_okay=False, help="Where the batch folder is written."),
    ] = Path("."),
) -> None:
    """Gather one posting day's letters: the PDFs numbered in postal-code order (what a
    presort discount asks for) and a manifest.csv listing each one.

    Writes {to}/letters-{day}/0001-….pdf and manifest.csv (sequence, file, name, address,
    postal_code, country, pages, sha256, attempt_ref). Print, fold for the window envelope,
    post, and keep the manifest: the sha256 column proves which document went out.
    Running it again rewrites the same folder.

    Example: orchestrator letters export 2026-11-30 --spool /var/spool/letters --to /srv/print
    """
    try:
        posting = date.fromisoformat(day)
    except ValueError:
        out.print(f"[red]{day!r} is not a day: give it as YYYY-MM-DD, e.g. 2026-11-30.[/red]")
        raise typer.Exit(2) from None
    folder = spool / posting.isoformat()
    letters = read_batch(folder)
    if not letters:
        out.print(
            f"[yellow]No letters for {posting} in {spool}.[/yellow] The day's folder is "
            "written when dispatch sends a letter through the print_batch adapter: check "
            "the letter channel's providers in config/channels.yaml and the day."
        )
        raise typer.Exit(1)
    letters.sort(key=lambda e: (e["recipient"].get("country", ""),
                                e["recipient"].get("postal_code", ""), e["file"]))  # fmt: skip
    batch = to / f"letters-{posting.isoformat()}"
    if batch.exists():
        shutil.rmtree(batch)
    batch.mkdir(parents=True)
    rows = []
    for number, entry in enumerate(letters, start=1):
        name = f"{number:04d}-{entry['file']}"
        shutil.copyfile(folder / entry["file"], batch / name)
        recipient = entry["recipient"]
        rows.append(
            {
                "sequence": number,
                "file": name,
                "name": recipient.get("name", ""),
                "address": " / ".join(entry["lines"][1:]),
                "postal_code": recipient.get("postal_code", ""),
                "country": recipient.get("country", ""),
                "pages": entry["pages"],
                "sha256": entry["sha256"],
                "attempt_ref": entry["attempt_ref"],
            }
        )
    with (batch / "manifest.csv").open("w", encoding="utf-8", newline="") as manifest:
        writer = csv.DictWriter(manifest, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    table = Table(title=f"Letters to post on {posting}")
    for column in ("#", "postal code", "country", "pages", "file"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["sequence"]),
            str(row["postal_code"]),
            str(row["country"]),
            str(row["pages"]),
            str(row["file"]),
        )
    out.print(table)
    out.print(f"Wrote {len(rows)} letters and manifest.csv to {batch}")
