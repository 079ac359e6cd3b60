"""The ``orchestrator sandbox`` command (registered by the CLI: ``app.command()(sandbox)``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from channels.sandbox import load
from channels.sandbox.settings import OutcomeRates, SandboxSettings
from orchestrator.clock import Clock, SystemClock, clock_from_setting

CREDENTIALS = {
    "Twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    "Aliyun SMS": ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_CALLBACK_TOKEN"),
    "SendGrid": ("SENDGRID_API_KEY",),
    "FCM": ("FCM_SERVICE_ACCOUNT_JSON",),
    "JPush": ("JPUSH_APP_KEY", "JPUSH_MASTER_SECRET"),
    "Dialer": ("DIALER_SECRET",),
}


def sandbox(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (keep it on loopback).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port for every provider's API.")] = 8900,
    smtp_port: Annotated[int, typer.Option(help="SMTP port.")] = 8925,
    log: Annotated[
        Path, typer.Option(help="JSON Lines file every accepted message is appended to.")
    ] = Path("var/sandbox.jsonl"),
    callback_base: Annotated[
        str,
        typer.Option(
            help="The orchestrator's webhook root; callbacks go to <root>/<adapter name>."
        ),
    ] = "http://127.0.0.1:8000/v1/webhooks",
    seed: Annotated[int, typer.Option(help="Seed for faults and outcomes, so a run repeats.")] = 7,
    delivered_rate: Annotated[
        float, typer.Option(help="Share of SMS and pushes delivered.")
    ] = 0.95,
    bounce_rate: Annotated[float, typer.Option(help="Share of emails that hard-bounce.")] = 0.03,
    stop_rate: Annotated[
        float, typer.Option(help="Share of borrowers who reply STOP / unsubscribe.")
    ] = 0.0,
    callback_delay: Annotated[
        float, typer.Option(help="Seconds before each callback stage.")
    ] = 0.5,
) -> None:
    """Run the provider sandbox: Twilio, Aliyun SMS, SendGrid, FCM, JPush, dialer and SMTP.

    It accepts each provider's real requests and posts signed callbacks to the orchestrator.

    Adapters' base_url: http://HOST:PORT/<twilio|aliyun|sendgrid|fcm|jpush|dialer>.

    SMTP adapter: smtp://HOST:SMTP_PORT. Credentials: the adapters' environment variables.

    Faults and outcomes change at run time through /_sandbox/ (see docs/channels.md).

    Time: ORCHESTRATOR_CLOCK (START[@SPEED[@ANCHOR]]) as for every other process; the
    deployment's epoch is read from REDIS_URL / ORCHESTRATOR_QUEUE_NAMESPACE when Redis answers.
    """
    server = load("channels.sandbox.server")  # before anything else: the extra may be missing
    console = Console(stderr=True)
    clock = deployment_clock(console)
    settings = SandboxSettings(
        host=host,
        port=port,
        smtp_port=smtp_port,
        log=log,
        callback_base=callback_base,
        seed=seed,
        callback_delay_seconds=callback_delay,
        outcomes=OutcomeRates(delivered=delivered_rate, bounced=bounce_rate, stop_reply=stop_rate),
    )
    for provider, names in CREDENTIALS.items():
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            console.print(
                f"[yellow]{provider}: {', '.join(missing)} not set; it will refuse every request[/]"
            )
    if not os.environ.get("SENDGRID_WEBHOOK_PRIVATE_KEY"):
        console.print(
            "[yellow]SENDGRID_WEBHOOK_PRIVATE_KEY not set: events are signed with a key made for "
            "this run; GET /_sandbox/keys serves its public half[/]"
        )
    console.print(f"sandbox on http://{host}:{port} (SMTP {smtp_port}), log {log}")
    console.print(f"callbacks to {callback_base}/<adapter name>")
    server.serve(settings, clock=clock)


def deployment_clock(console: Console) -> Clock:
    """The clock ``ORCHESTRATOR_CLOCK`` names, on the deployment's shared epoch when Redis
    answers (see :mod:`orchestrator.epoch`); the wall clock when it is unset."""
    import redis

    from orchestrator.epoch import shared_clock
    from orchestrator.settings import load_settings

    settings = load_settings()
    if not settings.clock:
        return SystemClock()
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1)
        clock = shared_clock(settings.clock, client, settings.queue_namespace)
    except redis.exceptions.RedisError as exc:
        console.print(
            f"[yellow]Redis at {settings.redis_url} did not answer ({exc}): the clock's epoch is "
            "this start, and other processes may not agree with it; give the anchor in "
            "ORCHESTRATOR_CLOCK (START@SPEED@ANCHOR) to share one without Redis[/]"
        )
        clock = clock_from_setting(settings.clock)
    console.print(f"virtual clock {settings.clock}: now {clock.now().isoformat()}")
    return clock
