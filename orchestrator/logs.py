"""Structured logs that never carry a borrower's phone number, email address or push token.

Every log line passes :func:`mask_pii` (a structlog processor) before it is written, and the
standard library's loggers (uvicorn, dramatiq, apscheduler) are routed through the same
chain, so a number that slips into a message or a field is masked wherever it came from.
Times, dates, UUIDs and ids are left readable, so operators can still correlate lines, and
a line logged inside a trace's span carries its ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from orchestrator.tracing import add_trace_ids

# What is never masked, found first so that nothing inside it is taken for a number: UUIDs,
# ISO 8601 dates and timestamps, clock times.
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_STAMP = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
# An email address, internationalised ones included (ännä@exämple.org): \w is Unicode.
_EMAIL = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+"
# A push token: an FCM registration token (``<instance id>:APA91b…``), any run of 100+
# token characters (FCM and APNs tokens; no id or digest we log is that long), or a JPush
# registration id.
_PUSH = (
    r"[\w\-]{8,}:APA91[\w\-]{20,}|[\w\-:]{100,}"
    # a JPush registration id: 17-19 lowercase hex characters, letters and digits mixed
    r"|(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{17,19}(?![\w\-])"
)
# A phone number: E.164 (a "+", then 8-15 digits, spaces, dots, dashes or parentheses
# between them), or a national number in a shape phone numbers have and ids, dates and
# epoch seconds do not: North American (212) 555-0123, 212-555-0123, 2125550123; mainland
# China mobiles 13800138000, 138 0013 8000.
_PHONE = (
    r"\+\d(?:[\s.\-()]{0,2}\d){7,14}"
    r"|(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
    r"|1[3-9]\d(?:[\s\-]\d{4}){2}"
    r"|1?[2-9]\d{2}[2-9]\d{6}"
    r"|1[3-9]\d{9}"
)
_FOUND = re.compile(
    rf"(?P<keep>(?<![\w\-.:+])(?:{_UUID}|{_STAMP})(?![\w\-]))"
    rf"|(?<![\w.%+\-])(?P<email>{_EMAIL})"
    rf"|(?<![\w\-:])(?P<push>{_PUSH})"
    rf"|(?<![\w\-.:/+])(?P<phone>{_PHONE})(?![\w\-:/]|\.\d)"
)
QUIET_LOGGERS = ("apscheduler",)
"""Libraries whose INFO lines are routine noise: raised to WARNING unless the level is DEBUG."""

# Fields that hold a contact address whatever its shape (a JPush registration id looks like
# any other id): masked whole.
ADDRESS_FIELDS = frozenset(
    {
        "to",
        "address",
        "recipient",
        "sender",
        "phone",
        "email",
        "push_token",
        "device_token",
        "registration_id",
    }
)


def mask_text(text: str) -> str:
    """Mask the phone numbers, email addresses and push tokens in ``text``; leave times,
    dates, UUIDs and ids as they are.

    ``+12125550123`` → ``+1********23``; ``ann@example.org`` → ``a***@example.org``; an
    FCM token → its first and last four characters.
    """
    return _FOUND.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    if match.group("email") is not None:
        local, _, domain = match.group("email").partition("@")
        return f"{local[0]}***@{domain}"
    if match.group("push") is not None:
        return _mask_token(match.group("push"))
    if match.group("phone") is not None:
        return _mask_number(match.group("phone"))
    return match.group(0)


def _mask_number(raw: str) -> str:
    digits = [c for c in raw if c.isdigit()]
    plus = "+" if raw.startswith("+") else ""
    return f"{plus}{digits[0]}{'*' * (len(digits) - 3)}{''.join(digits[-2:])}"


def _mask_token(raw: str) -> str:
    return f"{raw[:4]}…{raw[-4:]}" if len(raw) > 12 else "***"


def mask_address(value: str) -> str:
    """A contact address in a field that names one: masked as text, or whole when it has
    no recognisable shape (a JPush registration id, a test token)."""
    masked = mask_text(value)
    return masked if masked != value else _mask_token(value)


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, str):
        return mask_address(value) if key in ADDRESS_FIELDS else mask_text(value)
    if isinstance(value, dict):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_pii(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask phone numbers, emails and push tokens in every field."""
    return {key: _mask(value, key) for key, value in event.items()}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream it was at
    configuration: a caller that swaps stderr for a while (a test runner, a CLI harness)
    and closes its stand-in leaves the log working instead of raising on a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure(*, level: str = "INFO", fmt: str = "console") -> None:
    """Set up structlog and route the standard library's logging through it."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        add_trace_ids,
        mask_pii,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every job run at INFO (every few seconds): only its warnings by
    # default, everything when the whole log is at DEBUG.
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
