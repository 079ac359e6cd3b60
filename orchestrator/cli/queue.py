"""``orchestrator queue``: the send queue's dead letters, for an operator to inspect and requeue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.cli import runtime

if TYPE_CHECKING:
    from orchestrator.dispatch.dead_letters import DeadLetter

app = typer.Typer(
    help="Inspect and requeue dead-lettered send messages (Redis or RabbitMQ).",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)


@app.command("dead-letters")
def dead_letters() -> None:
    """List the send messages Dramatiq gave up on: message id, actor, task, when, why.

    Listing changes nothing. A task behind a dead letter is also visible in the store (its
    ledger says why); `orchestrator queue requeue` sends the message again."""
    from orchestrator.dispatch.dead_letters import list_dead_letters

    letters = list_dead_letters(runtime.settings())
    if not letters:
        out.print("no dead letters")
        return
    table = Table("message id", "actor", "task", "failed at", "reason")
    for letter in letters:
        table.add_row(
            letter.message_id,
            letter.actor,
            _tasks(letter),
            "-" if letter.failed_at is None else letter.failed_at.isoformat(),
            letter.reason,
        )
    out.print(table)
    # The table may cut an id to fit a narrow terminal: the commands below never are.
    out.print("To send one again:")
    for letter in letters:
        out.print(f"  orchestrator queue requeue {letter.message_id}", soft_wrap=True)


@app.command("requeue")
def requeue(
    message_ids: list[str] = typer.Argument(None, help="Message ids from `dead-letters`."),
    all_: bool = typer.Option(False, "--all", help="Requeue every dead letter."),
) -> None:
    """Put dead letters back on the send queue, as fresh messages (retry count reset).

    Safe to repeat: a worker's claim in the store refuses a task that is no longer queued.
    If any id given is not a dead letter, nothing is requeued."""
    from orchestrator.dispatch.dead_letters import UnknownDeadLetters
    from orchestrator.dispatch.dead_letters import requeue as requeue_letters

    if all_ == bool(message_ids):
        err.print("[bold red]error:[/] give message ids or --all (one of the two)")
        raise typer.Exit(2)
    try:
        done = requeue_letters(runtime.settings(), None if all_ else message_ids)
    except UnknownDeadLetters as exc:
        err.print(f"[bold red]error:[/] {exc}; nothing was requeued")
        raise typer.Exit(1) from None
    out.print(f"requeued {len(done)} message(s)")
    for message_id in done:
        out.print(f"  {message_id}")


def _tasks(letter: DeadLetter) -> str:
    """The task a message asked to send, or a batch's first ids and how many."""
    if letter.task_id is not None:
        return str(letter.task_id)
    if letter.batch:
        shown = ", ".join(str(i) for i in letter.batch[:3])
        more = len(letter.batch) - 3
        return shown + (f" (+{more})" if more > 0 else "")
    return "-"
