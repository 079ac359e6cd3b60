"""One vocabulary of errors, so callers branch on meaning rather than on status numbers.

Channel adapters translate provider codes into :class:`TransientError` and
:class:`PermanentError` at the edge; dispatch decides retry, failover or stop from the class
alone. Configuration and input problems carry the path to what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class OrchestratorError(Exception):
    """Base class for every error this package raises on purpose."""


class ServiceUnavailable(OrchestratorError):
    """A service we depend on (database, Redis) does not answer.

    The message is one sentence that says what to start.
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input or a config: where (a dotted path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def field_path(loc: Sequence[str | int]) -> str:
    """``("contact_points", 0, "address")`` → ``contact_points[0].address``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def problems_from(errors: Iterable[Any], *, skip: int = 0) -> list[Problem]:
    """Pydantic errors (``ValidationError.errors()``) as problems.

    ``skip`` drops leading location parts (e.g. FastAPI's ``body``).
    """
    found = []
    for error in errors:
        loc = tuple(error.get("loc", ()))[skip:]
        message = str(error.get("msg", "invalid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        found.append(Problem(field_path(loc), message))
    return found


class ConfigError(OrchestratorError):
    """A configuration was refused as a whole; the running version stays.

    Parameters:
      source: the file or config name that was refused.
      problems: every problem found, each with the path to the bad field.
    """

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source} is not valid:\n{lines}")


class ProviderError(OrchestratorError):
    """A provider refused or failed a request.

    Parameters:
      provider: the adapter name, e.g. ``twilio_sms``.
      code: the provider's own error code or HTTP status, as a string.
      message: the provider's explanation, safe to log (no personal data).
    """

    def __init__(self, provider: str, code: str, message: str) -> None:
        self.provider = provider
        self.code = code
        self.message = message
        super().__init__(f"{provider} {code}: {message}")


class TransientError(ProviderError):
    """Worth retrying later: timeouts, connection errors, throttling, 5xx.

    Parameters:
      retry_after: seconds the provider asked us to wait (``Retry-After``), if any.
      maybe_delivered: the request may have reached the provider and been acted on (a read
        timeout, a connection cut mid-answer). Resending it blindly could send twice, so
        dispatch reconciles it (asks the provider, or waits for its report) instead.
    """

    def __init__(
        self,
        provider: str,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(provider, code, message)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class PermanentError(ProviderError):
    """Retrying the same request cannot succeed: fail over instead.

    Parameters:
      invalid_address: the contact point itself is dead (invalid number, unregistered push
        token, hard bounce); dispatch marks it invalid.
      opted_out: the provider says the recipient opted out (e.g. Twilio 21610): dispatch
        records an opt-out for the channel.
    """

    def __init__(
        self,
        provider: str,
        code: str,
        message: str,
        *,
        invalid_address: bool = False,
        opted_out: bool = False,
    ) -> None:
        super().__init__(provider, code, message)
        self.invalid_address = invalid_address
        self.opted_out = opted_out


class SignatureError(OrchestratorError):
    """A webhook's signature is missing or wrong: the request is refused and changes nothing."""


class ComplianceBlocked(OrchestratorError):
    """A contact was refused by the compliance engine; carries the decision that explains why."""

    def __init__(self, decision: object, explanation: str) -> None:
        self.decision = decision
        super().__init__(explanation)


class TemplateError(OrchestratorError):
    """A template is unknown, does not render (undefined variable), or fails lint."""
