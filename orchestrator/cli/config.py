"""``orchestrator config``: check the configuration before it ships, and show what is in force.

``validate`` loads channels, strategies, rule packs and templates exactly as a service does
(optionally with every tenant's stored versions, and the credentials' environment) and
prints every problem with its path; ``show`` prints what applies, to everyone or to one
tenant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from orchestrator.cli import runtime
from orchestrator.configuration import credentials
from orchestrator.configuration.channel_config import ChannelsConfig
from orchestrator.configuration.files import FILES, ConfigRefused, FileConfig, Refusals
from orchestrator.configuration.source import ConfigSet, assemble, current_files
from orchestrator.configuration.versions import Kind, StoredVersion, stored_versions
from orchestrator.errors import ConfigError

app = typer.Typer(
    help="Check the configuration (channels, strategies, rule packs, templates) and show "
    "what is in force.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        help="Config folder (channels.yaml, strategies/, compliance/). "
        "Default: ORCHESTRATOR_CONFIG_DIR, else ./config.",
        file_okay=False,
        show_default=False,
    ),
]
TemplatesDirOption = Annotated[
    Path | None,
    typer.Option(
        "--templates-dir",
        help="Templates folder. Default: ORCHESTRATOR_TEMPLATES_DIR, else ./templates.",
        file_okay=False,
        show_default=False,
    ),
]


def _folders(config_dir: Path | None, templates_dir: Path | None) -> tuple[Path, Path]:
    settings = runtime.settings()
    return config_dir or settings.config_dir, templates_dir or settings.templates_dir


def _relative(source: str) -> str:
    try:
        return str(Path(source).resolve().relative_to(Path.cwd()))
    except ValueError:
        return source


def problems_table(parts: list[tuple[str, ConfigError]]) -> Table:
    """One row per problem: the tenant (for stored versions), the file or version, where in
    it, and what is wrong."""
    count = sum(len(error.problems) for _, error in parts)
    table = Table(title=f"{count} problem(s)", show_lines=True)
    table.add_column("tenant", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("where", overflow="fold", ratio=2)
    table.add_column("problem", overflow="fold", ratio=3)
    for scope, error in parts:
        for problem in error.problems:
            table.add_row(
                scope or "—", _relative(error.source), problem.path or "—", problem.message
            )
    return table


def _unset_credentials(
    files: FileConfig, stored: list[StoredVersion], config: ConfigSet | None
) -> list[tuple[str, ConfigError]]:
    found: list[tuple[str, ConfigError]] = []
    checked: list[tuple[str, str, ChannelsConfig]] = []
    default = files.defaults.get(Kind.CHANNELS)
    if files.channels is not None and default is not None:
        checked.append((FILES, default.path, files.channels))
    if config is not None:
        for item in stored:
            tenant_channels = config.tenant_channels.get(item.scope)
            if item.kind is Kind.CHANNELS and tenant_channels is not None:
                checked.append((item.scope, item.source, tenant_channels))
    for scope, source, channels in checked:
        missing = credentials.missing(channels)
        if missing:
            found.append((scope, ConfigError(f"{source} (environment)", missing)))
    return found


@app.command("validate")
def validate(
    config_dir: ConfigDirOption = None,
    templates_dir: TemplatesDirOption = None,
    secrets: Annotated[
        bool,
        typer.Option(
            "--secrets",
            help="Also check that every credential variable a provider names is set in "
            "this environment (run it where the workers run).",
        ),
    ] = False,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Also check every tenant's stored versions (needs DATABASE_URL), as a "
            "service would load them.",
        ),
    ] = False,
) -> None:
    """Load the configuration as a service would; print every problem with its path.

    Checks [bold]channels.yaml[/bold] (each provider's settings against its adapter,
    credentials as variable names only), every strategy in [bold]strategies/[/bold], the
    rule packs in [bold]compliance/[/bold] (no overlay may loosen a legal limit), every
    template a strategy may send, rendered in each checked locale, lint over every template
    (findings refused unless waived in [bold]templates.yaml[/bold]; waived ones are listed)
    and each provider's approved texts. Exits 1 when anything is wrong, 0 when the whole
    is valid.

    [dim]Example: orchestrator config validate --secrets --store[/dim]
    """
    folders = _folders(config_dir, templates_dir)
    refusals = Refusals()
    files = refusals.attempt(FILES, current_files, *folders)
    stored: list[StoredVersion] = []
    config = None
    if files is not None and store:
        stored = stored_versions(runtime.open_store(runtime.settings()))
        config = refusals.attempt(FILES, assemble, files, stored)
    if files is not None and secrets:
        for scope, error in _unset_credentials(files, stored, config):
            refusals.add(scope, error)
    out = Console()
    if refusals.parts or files is None:
        out.print(problems_table(refusals.parts))
        out.print("[red]The configuration is not valid: a service would refuse it.[/red]")
        raise typer.Exit(1)
    providers = sum(
        len(c.providers) for c in (files.channels.channels.values() if files.channels else [])
    )
    out.print(
        f"[green]Valid:[/green] {len(files.rules.packs)} rule packs, {len(files.strategies)} "
        f"strateg{'y' if len(files.strategies) == 1 else 'ies'}, {providers} channel providers, "
        f"{len(files.checked)} templates rendered in every checked locale"
        + (f", {len(stored)} stored tenant versions" if store else "")
        + (", every credential variable set" if secrets else "")
        + "."
    )
    _print_waivers(out, files)


def waivers_table(files: FileConfig) -> Table:
    """The lint findings let through by a waiver in config/templates.yaml, with why and who
    approved it: the audit view of every exception to lint."""
    table = Table(
        "template", "line", "rule", "phrase", "reason", "approved by",
        title="Lint findings waived (config/templates.yaml)",
    )  # fmt: skip
    for waived in files.lint.waived:
        finding, waiver = waived.finding, waived.waiver
        table.add_row(
            finding.path,
            str(finding.line),
            waiver.rule,
            finding.phrase,
            waiver.reason,
            waiver.approved_by,
        )
    return table


def _print_waivers(out: Console, files: FileConfig) -> None:
    if files.lint.waived:
        out.print(waivers_table(files))
    for waiver in files.lint.unused:
        out.print(
            f"[yellow]Waiver for {waiver.template} ({waiver.rule}) matches nothing: "
            "remove it from config/templates.yaml.[/yellow]"
        )


@app.command("show")
def show(
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Show what applies to this tenant.")
    ] = None,
    kind: Annotated[
        Kind | None,
        typer.Option("--kind", "-k", help="Print this kind's YAML in force (with --tenant)."),
    ] = None,
    config_dir: ConfigDirOption = None,
    templates_dir: TemplatesDirOption = None,
) -> None:
    """Show what is in force, for everyone or for one tenant.

    For each kind (strategy, rules, channels): the file default or the tenant's own
    version, with its number, SHA-256, who stored it and when. Without --tenant: the file
    defaults, and which tenants have versions of their own. With --tenant and --kind: the
    YAML itself. Reads the store named by DATABASE_URL.
    """
    out = Console()
    folders = _folders(config_dir, templates_dir)
    stored = stored_versions(runtime.open_store(runtime.settings()))
    try:
        config = assemble(current_files(*folders), stored)
    except ConfigRefused as exc:
        out.print(problems_table(list(exc.parts)))
        out.print("[red]The configuration is not valid: services keep the last valid one.[/red]")
        raise typer.Exit(1) from None
    if tenant is None:
        _show_everyone(out, config, stored)
        return
    if kind is not None:
        found = config.in_force(tenant, kind)
        if found.content is None:
            out.print(
                f"[dim]{tenant} has no {kind} of its own: {found.path} applies as shipped.[/dim]"
            )
            return
        out.print(Syntax(found.content, "yaml", word_wrap=True))
        return
    table = Table(
        "kind", "source", "version", "sha256", "stored by", "at", title=f"In force for {tenant}"
    )
    for each in Kind:
        found = config.in_force(tenant, each)
        table.add_row(
            each.value,
            found.path if found.source == "file" and found.path else found.source,
            str(found.version or "—"),
            (found.sha256 or "—")[:12],
            found.created_by or "—",
            f"{found.created_at:%Y-%m-%d %H:%M}" if found.created_at else "—",
        )
    out.print(table)
    out.print(f"configuration version {config.version}")


def _show_everyone(out: Console, config: ConfigSet, stored: list[StoredVersion]) -> None:
    files = Table("kind", "file", "sha256", title="File defaults")
    defaults = config.files.defaults if config.files is not None else {}
    for kind, default in defaults.items():
        files.add_row(kind.value, default.path, (default.sha256 or "—")[:12])
    out.print(files)
    tenants = Table("tenant", "kind", "version", "stored by", "at", title="Tenants' own versions")
    for item in stored:
        tenants.add_row(
            item.scope,
            item.kind.value + (" (back to file)" if item.is_file_default else ""),
            str(item.version),
            item.created_by,
            f"{item.created_at:%Y-%m-%d %H:%M}" if item.created_at else "—",
        )
    out.print(tenants if stored else "[dim]No tenant has a version of its own.[/dim]")
    if config.files is not None:
        _print_waivers(out, config.files)
    out.print(f"configuration version {config.version}")
