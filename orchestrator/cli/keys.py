"""``orchestrator keys``: the keys that protect personal data at rest (docs/security.md)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestrator.cli import runtime

app = typer.Typer(
    help=(
        "Keys for personal data at rest: names, addresses, contact addresses, message texts "
        "and providers' payloads are sealed with AES-256-GCM under data keys wrapped by "
        "ORCHESTRATOR_KEK; phone numbers and emails are found by an HMAC under "
        "ORCHESTRATOR_LOOKUP_KEY. See docs/security.md, Key management."
    ),
    no_args_is_help=True,
)
out = Console()


@app.command("generate")
def generate_command() -> None:
    """Print a new random KEK and lookup key, as environment lines.

    Keep them where the service's other secrets live (a secret manager), never in a file in
    the repository. To rotate the KEK later: move the current one to
    ORCHESTRATOR_KEK_PREVIOUS, set a new ORCHESTRATOR_KEK, restart, then run
    `orchestrator keys rotate`.
    """
    from orchestrator.store.keys import generate_key

    out.print(f"ORCHESTRATOR_KEK={generate_key()}", soft_wrap=True)
    out.print(f"ORCHESTRATOR_LOOKUP_KEY={generate_key()}", soft_wrap=True)


@app.command("rotate")
def rotate_command(
    batch_size: int = typer.Option(
        500, min=1, max=10_000, help="Rows rewritten per transaction (the service goes on)."
    ),
    new_data_key: bool = typer.Option(
        False,
        "--new-data-key",
        help="Also seal every value again under a data key drawn now (retires old data keys; "
        "rewrites every row). Without it only what is not under the current KEK changes.",
    ),
) -> None:
    """Bring every stored value under the current keys, in batches, while the service runs.

    Re-wraps the data keys of values sealed under a previous KEK (the ciphertext is kept),
    seals values stored before encryption, and hashes contact addresses again under the
    current ORCHESTRATOR_LOOKUP_KEY. Safe to interrupt and run again. When it is done, the
    previous KEK can be removed from ORCHESTRATOR_KEK_PREVIOUS.

    Example:

        ORCHESTRATOR_KEK_PREVIOUS=$OLD ORCHESTRATOR_KEK=$NEW orchestrator keys rotate
    """
    from orchestrator.store.rotation import count_rows, rotate, sealed_tables

    config = runtime.settings()
    store = runtime.open_store(config)
    tables = sealed_tables()
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    ) as bar:
        tasks = {t.name: bar.add_task(t.name, total=count_rows(store, t)) for t in tables}
        result = rotate(
            store,
            batch_size=batch_size,
            new_data_key=new_data_key,
            progress=lambda table, done: bar.advance(tasks[table], done),
        )
    summary = Table("table", "values rewritten", title="Rotated")
    for name, count in result.rewritten.items():
        summary.add_row(name, str(count))
    out.print(summary)
    out.print(f"contact addresses hashed again: {result.rehashed}")
    if result.skipped:
        out.print(
            f"{result.skipped} value(s) changed by the service meanwhile (already under the "
            "current keys); run again to check"
        )
    out.print(f"Every value is under KEK {store.keyring.provider.current_id} now.")
