"""Validating many account documents at once: valid ones go on, invalid ones come back with
their index and field errors.

The common case (everything valid) is one pass of pydantic's compiled validator over the raw
bytes; only when something is wrong are the items looked at one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from orchestrator.errors import Problem, problems_from
from orchestrator.intake.document import AccountDocument


class BatchRequest(BaseModel):
    """Body of ``POST /v1/accounts:batch``."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[AccountDocument] = Field(description="up to 10,000 account documents")


class BatchShapeError(ValueError):
    """The body as a whole is wrong (not JSON, not an object with ``accounts``, too long)."""

    def __init__(self, status: int, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int
    external_id: str | None
    problems: tuple[Problem, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "external_id": self.external_id,
            "errors": [{"field": p.path, "message": p.message} for p in self.problems],
        }


@dataclass(slots=True)
class Checked:
    """Documents that passed, by their index in the input, and those that did not."""

    accepted: list[tuple[int, AccountDocument]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


_request = TypeAdapter(BatchRequest)
_document = TypeAdapter(AccountDocument)

# A JSON string once its escapes are gone; the bytes that are not JSON structure (with and
# without the quote).
_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b"[]{},")))
_NOT_STRUCTURE_NOR_QUOTE = bytes(sorted(set(range(256)) - set(b'[]{},"')))
_OPENING = frozenset(b"[{")
_CLOSING = frozenset(b"]}")
_ARRAY, _COMMA = ord("["), ord(",")


def count_items(raw: bytes, *, limit: int) -> int:
    """How many values the lists directly in a JSON object hold (``{"accounts": [...]}``
    holds its accounts), counted without parsing any of them, stopping past ``limit``.

    Parsing first would build every item before the limit could be checked: a 50 MB body
    of two-byte items is millions of objects. Here only the structure outside strings
    (brackets, braces, commas) is kept, in bytes no larger than the body, and walked until
    the first item over the limit. Invalid JSON is counted as well as it can be; the parser
    says what is wrong with it afterwards.
    """
    if b"\\" in raw:  # escapes, left to right: an escaped backslash, then an escaped quote
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Strings holding no structure leave two adjacent quotes; left to right, each pair is
    # one such string. A quote left over means some string holds a bracket or a comma:
    # then strings are blanked out one by one (slower, as rare as it is).
    structure = raw.translate(None, _NOT_STRUCTURE_NOR_QUOTE).replace(b'""', b"")
    if b'"' in structure:
        structure = _STRING.sub(b"", raw).translate(None, _NOT_STRUCTURE)
    kinds: list[int] = []
    count = 0
    for byte in structure:
        if byte in _OPENING:
            kinds.append(byte)
            if len(kinds) == 2 and byte == _ARRAY:
                count += 1  # a list's first item (or an empty list: counting one is harmless)
        elif byte in _CLOSING:
            if kinds:
                kinds.pop()
        elif byte == _COMMA and len(kinds) == 2 and kinds[1] == _ARRAY:
            count += 1
            if count > limit:
                break
    return count


def check_batch_body(raw: bytes, *, limit: int) -> Checked:
    """Validate a ``{"accounts": [...]}`` body.

    Raises :class:`BatchShapeError` when the body itself is unusable; item problems are
    returned in :attr:`Checked.rejected`.
    """
    counted = count_items(raw, limit=limit)
    if counted > limit:
        raise _too_long(counted, limit, exact=False)
    try:
        parsed = _request.validate_json(raw)
    except ValidationError as exc:
        return _check_slowly(raw, exc, limit=limit)
    if len(parsed.accounts) > limit:
        raise _too_long(len(parsed.accounts), limit)
    checked = Checked(accepted=list(enumerate(parsed.accounts)))
    _reject_duplicates(checked)
    return checked


def check_items(
    items: Sequence[Any], *, where: Callable[[int], str] = lambda i: f"index {i} of this batch"
) -> Checked:
    """Validate already-parsed items one by one (the import file's path).

    Parameters:
      where: how to name the position of an item in messages (an index, a line number).
    """
    checked = Checked()
    for index, item in enumerate(items):
        try:
            checked.accepted.append((index, _document.validate_python(item)))
        except ValidationError as exc:
            checked.rejected.append(
                Rejected(index, _external_id(item), tuple(problems_from(exc.errors())))
            )
    _reject_duplicates(checked, where)
    return checked


def _check_slowly(raw: bytes, error: ValidationError, *, limit: int) -> Checked:
    for problem in error.errors():
        if problem["type"] == "json_invalid":
            raise BatchShapeError(400, f"The body is not valid JSON: {problem['ctx']['error']}.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BatchShapeError(400, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
        raise BatchShapeError(
            422,
            'The body must be an object {"accounts": [...]} holding account documents.',
            [Problem("accounts", "expected a list of account documents")],
        )
    unknown = sorted(set(body) - {"accounts"})
    if unknown:
        raise BatchShapeError(
            422,
            "The body has fields this endpoint does not know.",
            [Problem(name, "unknown field") for name in unknown],
        )
    items = body["accounts"]
    if len(items) > limit:
        raise _too_long(len(items), limit)
    return check_items(items)


def _reject_duplicates(
    checked: Checked, where: Callable[[int], str] = lambda i: f"index {i} of this batch"
) -> None:
    first: dict[str, int] = {}
    kept = []
    for index, doc in checked.accepted:
        if doc.external_id in first:
            checked.rejected.append(
                Rejected(
                    index,
                    doc.external_id,
                    (
                        Problem(
                            "external_id",
                            f"{doc.external_id!r} already appears at "
                            f"{where(first[doc.external_id])}",
                        ),
                    ),
                )
            )
            continue
        first[doc.external_id] = index
        kept.append((index, doc))
    checked.accepted = kept
    checked.rejected.sort(key=lambda r: r.index)


def _too_long(count: int, limit: int, *, exact: bool = True) -> BatchShapeError:
    holds = f"{count}" if exact else f"more than {limit}"
    return BatchShapeError(
        413,
        f"The batch holds {holds} accounts; the limit is {limit}. Split it into smaller batches.",
        [Problem("accounts", f"at most {limit} items")],
    )


def _external_id(item: Any) -> str | None:
    value = item.get("external_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None
