"""``orchestrator templates ...``: lint, check and preview messages from the command line.

The CLI registers :data:`templates_app` under ``templates``; ``preview STEP --account ID``
(which needs the store and the strategy) is built on :func:`preview`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, TemplateError
from orchestrator.messages.context import MessageContext, sample_context
from orchestrator.messages.library import RenderedMessage, TemplateLibrary
from orchestrator.messages.lint import LintFinding, lint
from orchestrator.settings import load_settings

templates_app = typer.Typer(
    name="templates",
    help="Message templates: lint their language, check they render, preview them.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

DirectoryOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Templates folder. Default: ORCHESTRATOR_TEMPLATES_DIR, else ./templates.",
        file_okay=False,
        show_default=False,
    ),
]


def _library(directory: Path | None, console: Console) -> TemplateLibrary:
    try:
        return TemplateLibrary(directory or load_settings().templates_dir)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@templates_app.command("lint")
def lint_command(directory: DirectoryOption = None) -> None:
    """Refuse threatening, deceptive or insulting language in any template.

    Reads every template and disclosure text against the phrase lists in
    [bold]templates/_lint/{locale}.yaml[/bold] (threats of arrest, contacting employer or
    family, fake legal action, insults, false urgency), plus hard-coded disclosures and
    debt references in limited-content voicemails. Prints one row per phrase found and
    exits 1 when there is any.
    """
    console = Console()
    library = _library(directory, console)
    try:
        findings = lint(library)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not findings:
        count = len(library.templates()) + len(library.disclosure_files())
        console.print(f"[green]{count} files checked, no findings.[/green]")
        return
    console.print(findings_table(findings))
    console.print(f"[red]{len(findings)} finding(s): reword these templates.[/red]")
    raise typer.Exit(1)


@templates_app.command("check")
def check_command(
    directory: DirectoryOption = None,
    locale: Annotated[
        list[str] | None,
        typer.Option(
            "--locale", "-l", help="A locale to check (repeat). Default: every locale folder."
        ),
    ] = None,
) -> None:
    """Trial-render every template for every locale: unknown variables, missing templates,
    missing blocks, sandbox violations. Exits 1 listing every problem."""
    console = Console()
    library = _library(directory, console)
    try:
        library.check_all(locale or None)
    except ConfigError as exc:
        table = Table("where", "problem", title=f"{len(exc.problems)} problem(s)")
        for problem in exc.problems:
            table.add_row(problem.path, problem.message)
        console.print(table)
        raise typer.Exit(1) from None
    console.print(f"[green]{len(library.templates())} templates render in every locale.[/green]")


@templates_app.command("sample")
def sample_command(
    name: Annotated[str, typer.Argument(help="Template name, e.g. due_today.")],
    channel: Annotated[
        Channel,
        typer.Argument(
            parser=Channel, help="A channel: sms, email, push, call or one a package adds."
        ),
    ],
    locale: Annotated[str, typer.Option("--locale", "-l", help="Borrower locale.")] = "en-US",
    amount: Annotated[str | None, typer.Option(help="Amount due, e.g. 1234.56.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code, e.g. CNY.")] = None,
    disclosure: Annotated[
        list[str] | None,
        typer.Option("--disclosure", "-d", help="Disclosure to append (repeat)."),
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Show the email's HTML part.")] = False,
    directory: DirectoryOption = None,
) -> None:
    """Render a template with sample account data and show it as the borrower would get it."""
    console = Console()
    library = _library(directory, console)
    overrides: dict[str, object] = {}
    try:
        if amount is not None:
            overrides["amount_due"] = Decimal(amount)
        if currency is not None:
            overrides["currency"] = currency.upper()
        context = sample_context(**overrides)
        preview(
            library, name, channel, locale, context,
            disclosures=disclosure or (), console=console, show_html=html,
        )  # fmt: skip
    except (TemplateError, InvalidOperation) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def preview(
    library: TemplateLibrary,
    name: str,
    channel: Channel,
    locale: str,
    context: MessageContext,
    *,
    disclosures: Sequence[str] = (),
    console: Console | None = None,
    show_html: bool = False,
) -> RenderedMessage:
    """Render one message and print it in a panel: subject or title, body, SMS segments.

    Parameters:
      library: the templates.
      name / channel / locale / context / disclosures: as for
        :meth:`TemplateLibrary.render`.
      console: where to print (default: stdout).
      show_html: also print an email's HTML part.

    Returns the rendered message; raises :class:`TemplateError` like ``render``.
    """
    message = library.render(name, channel, locale, context, disclosures=disclosures)
    (console or Console()).print(preview_panel(message, show_html=show_html))
    return message


def preview_panel(message: RenderedMessage, *, show_html: bool = False) -> Panel:
    """A rich panel showing ``message`` as the borrower would receive it."""
    rows: list[Text] = []
    if message.subject is not None:
        rows.append(Text.assemble(("Subject: ", "bold"), message.subject))
    if message.title is not None:
        rows.append(Text.assemble(("Title: ", "bold"), message.title))
    if rows:
        rows.append(Text(""))
    rows.append(Text(message.body))
    if show_html and message.html is not None:
        rows += [Text(""), Text("HTML part:", style="bold"), Text(message.html, style="dim")]
    facts = []
    if message.sms is not None:
        sms = message.sms
        plural = "s" if sms.segments != 1 else ""
        facts.append(f"{sms.encoding}, {sms.characters} characters, {sms.segments} segment{plural}")
    if message.disclosures:
        facts.append("disclosures: " + ", ".join(message.disclosures))
    if message.limited_content:
        facts.append("limited-content message")
    if facts:
        rows += [Text(""), Text(" · ".join(facts), style="cyan")]
    return Panel(
        Group(*rows),
        title=f"{message.template} · {message.channel} · {message.locale}",
        subtitle=f"from {message.source}",
        expand=False,
    )


def findings_table(findings: Sequence[LintFinding]) -> Table:
    """Lint findings as a table: file, line, category, phrase, list."""
    table = Table("file", "line", "category", "phrase", "list", title="Template lint")
    for finding in findings:
        table.add_row(
            finding.path,
            str(finding.line),
            finding.category.value,
            finding.phrase,
            finding.locale,
        )
    return table
