"""The provider sandbox: one local server that imitates every provider we speak to.

It accepts the same requests as Twilio, Aliyun SMS, SendGrid, FCM, JPush, our dialer
protocol (over HTTP, each under its own path prefix) and SMTP (on its own port); validates
them as the provider would; records each accepted message to a JSON Lines log; fails on
demand; and posts the providers' delivery callbacks, correctly signed, back to the
orchestrator. The demo and the end-to-end tests run against it with no internet.

It is not production code: its SMTP server's dependency (``aiosmtpd``) comes with the
``[sandbox]`` extra (``pip install 'contact-orchestrator[sandbox]'``; ``make install`` and
``make demo`` include it). Its settings import without the extra; the server and app load
on first use, and without the extra say how to install it (:class:`SandboxNotInstalled`).

Start it with ``orchestrator sandbox`` (:func:`channels.sandbox.command.sandbox`) or, in
tests, with :func:`channels.sandbox.server.running_sandbox`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from channels.sandbox.settings import OutcomeRates, SandboxSettings
from orchestrator.errors import ServiceUnavailable

if TYPE_CHECKING:
    from channels.sandbox.app import create_app
    from channels.sandbox.server import RunningSandbox, running_sandbox

__all__ = [
    "OutcomeRates",
    "RunningSandbox",
    "SandboxNotInstalled",
    "SandboxSettings",
    "create_app",
    "load",
    "running_sandbox",
]

EXTRA = "contact-orchestrator[sandbox]"
_NEEDS_EXTRA = frozenset({"aiosmtpd"})
_LAZY = {
    "create_app": "channels.sandbox.app",
    "RunningSandbox": "channels.sandbox.server",
    "running_sandbox": "channels.sandbox.server",
}


class SandboxNotInstalled(ServiceUnavailable):
    """The sandbox was asked for where its extra is not installed."""


def load(module: str) -> ModuleType:
    """Import one of the sandbox's modules, or say which extra it needs."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _NEEDS_EXTRA:
            raise
        raise SandboxNotInstalled(
            f"the provider sandbox is an optional extra and {missing} is not installed: "
            f"pip install '{EXTRA}' (make install and make demo include it)"
        ) from None


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that importing the settings needs no extra.
    if name in _LAZY:
        return getattr(load(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
