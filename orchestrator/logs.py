"""Structured logs that never carry a borrower's phone number or email address.

Every log line passes :func:`mask_pii` (a structlog processor) before it is written, and the
standard library's loggers (uvicorn, dramatiq, apscheduler) are routed through the same
chain, so a number that slips into a message or a field is masked wherever it came from.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
# A phone number: optional +, then 8-15 digits possibly split by spaces, dots, dashes, parens.
_PHONE = re.compile(r"(?<![\w/])\+?\d(?:[\s.\-()]*\d){7,14}(?![\w/])")


def mask_text(text: str) -> str:
    """``+12125550123`` → ``+1********23``; ``ann@example.org`` → ``a***@example.org``."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(_mask_number, text)


def _mask_number(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = [c for c in raw if c.isdigit()]
    plus = "+" if raw.startswith("+") else ""
    return f"{plus}{digits[0]}{'*' * (len(digits) - 3)}{''.join(digits[-2:])}"


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_pii(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask phone numbers and emails in every field."""
    return {key: _mask(value) for key, value in event.items()}


def configure(*, level: str = "INFO", fmt: str = "console") -> None:
    """Set up structlog and route the standard library's logging through it."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
