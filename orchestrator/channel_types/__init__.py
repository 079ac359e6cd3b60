"""Channel types: the ways of reaching a borrower, declared as data and found by entry point.

A channel *type* (SMS, a letter, a field visit, a lender's own Telegram) says three things the
rest of the product needs, and nothing about providers (those are adapters, in ``channels/``):

- how a contact point's address on it is validated and normalised at intake;
- what kind of contact it is for the compliance engine (:class:`ChannelKind`): a call, a
  message, mail or a visit in person. Rules are written in these terms (a window keeps calls
  and messages out of quiet hours; a letter is posted, not timed to the minute);
- which kind of template file its messages are rendered from (``text``, ``email`` ...).

Every type, built-in ones included, is registered under the entry point group
:data:`ENTRY_POINT_GROUP`; a lender adds one from its own package without editing this
project::

    [project.entry-points."orchestrator.channel_types"]
    telegram = "acme_channels:TELEGRAM"

where ``acme_channels.TELEGRAM`` is a :class:`ChannelType`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "orchestrator.channel_types"
"""The entry point group channel types are registered under."""

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
"""A channel type's name: what the API, the ledger and the config call it (32 characters at
most, the store's column width)."""

TEMPLATE_KINDS: frozenset[str] = frozenset({"text", "push", "email", "script", "letter"})
"""The template file kinds the message library renders (see ``orchestrator.messages.parts``):
``text`` (one line, SMS-like), ``push`` (title and body), ``email`` (subject, text, html),
``script`` (what a voice reads), ``letter`` (subject and paragraphs, printed as a PDF)."""


class ChannelKind(StrEnum):
    """How the compliance engine classifies a channel type.

    Packs are written in these terms, so a new type inherits the right rules by saying what
    it is: a WhatsApp type is a ``message`` and falls under the electronic-communication
    rules the day it is installed.
    """

    CALL = "call"  # a telephone call: timed to the minute, the law's "call" caps
    MESSAGE = "message"  # an electronic message (text, email, push, chat)
    MAIL = "mail"  # paper mail: sent on its posting day, outside quiet-hours windows
    IN_PERSON = "in_person"  # a person at the door: a field visit

    @property
    def is_timed(self) -> bool:
        """Whether a contact of this kind reaches the borrower at a moment of our choosing,
        so that quiet-hours windows govern it. A letter is read when its reader opens it."""
        return self is not ChannelKind.MAIL


class ChannelTypeError(Exception):
    """A registered channel type is malformed or two packages claim the same name."""


def any_address(value: str) -> str:
    """The address as given (stripped): for types whose addresses have no checkable form."""
    return value.strip()


@dataclass(frozen=True)
class ChannelType:
    """One channel type, as its package declares it.

    Parameters:
      name: the channel's name in the API, the ledger and the config (``sms``, ``telegram``).
      kind: how the engine classifies it (:class:`ChannelKind`).
      template_kind: the kind of template file its messages are rendered from (one of
        :data:`TEMPLATE_KINDS`).
      normalise: validates one contact point address and returns it normalised; raises
        ``ValueError`` with a message saying what a valid address looks like.
      phone_address: its addresses are telephone numbers (E.164): intake parses national
        numbers with the borrower's country and the zone resolver reads them.
      postal_address: its addresses are postal addresses (a letter, a visit): intake takes
        them as objects, and fills one left out from the borrower's own address and name.
      needs_consent: a contact point is taken only with ``consent: true`` (an app's user id
        that reaches the borrower only because they agreed, such as a WeChat openid).
      address_help: what an address on it is, for people (the API's field description).
    """

    name: str
    kind: ChannelKind
    template_kind: str
    normalise: Callable[[str], str] = field(default=any_address, compare=False)
    phone_address: bool = False
    postal_address: bool = False
    needs_consent: bool = False
    address_help: str = ""

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise ChannelTypeError(
                f"channel type name {self.name!r} must be 2 to 32 lower-case letters, digits "
                "or underscores, starting with a letter"
            )
        if not isinstance(self.kind, ChannelKind):
            raise ChannelTypeError(
                f"channel type {self.name!r}: kind must be a ChannelKind "
                f"({', '.join(k.value for k in ChannelKind)})"
            )
        if self.template_kind not in TEMPLATE_KINDS:
            raise ChannelTypeError(
                f"channel type {self.name!r}: template_kind {self.template_kind!r} is not one "
                f"of {', '.join(sorted(TEMPLATE_KINDS))}"
            )

    @property
    def is_electronic(self) -> bool:
        """An electronic communication in the sense of 12 CFR 1006.6(e): it carries an
        opt-out notice and honours an electronic opt-out."""
        return self.kind is ChannelKind.MESSAGE


_lock = threading.Lock()
_registry: dict[str, ChannelType] | None = None


def channel_types() -> Mapping[str, ChannelType]:
    """Every registered channel type by name, in a stable order (built-ins first, in the
    order they are declared, then the others by name). Loaded once per process."""
    global _registry
    found = _registry
    if found is None:
        with _lock:
            found = _registry
            if found is None:
                found = _load()
                _registry = found
    return found


def reload_channel_types() -> Mapping[str, ChannelType]:
    """Read the entry points again (after a package was installed into a running process)."""
    global _registry
    with _lock:
        _registry = _load()
        return _registry


BUILT_IN_ORDER: tuple[str, ...] = ("sms", "email", "push", "call", "letter", "wechat")


def _load() -> dict[str, ChannelType]:
    found: dict[str, tuple[ChannelType, str]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"{point.value} (from {point.dist.name if point.dist else 'an unknown package'})"
        try:
            declared = point.load()
        except Exception as exc:
            raise ChannelTypeError(
                f"channel type entry point {point.name!r} = {origin} cannot be loaded: {exc}"
            ) from exc
        if not isinstance(declared, ChannelType):
            raise ChannelTypeError(
                f"channel type entry point {point.name!r} = {origin} is not a ChannelType"
            )
        if declared.name != point.name:
            raise ChannelTypeError(
                f"channel type entry point {point.name!r} = {origin} declares the name "
                f"{declared.name!r}; the entry point's name and the type's must agree"
            )
        if declared.name in found and found[declared.name][0] != declared:
            raise ChannelTypeError(
                f"channel type {declared.name!r} is registered twice: by "
                f"{found[declared.name][1]} and by {origin}"
            )
        found[declared.name] = (declared, origin)
    missing = [name for name in BUILT_IN_ORDER if name not in found]
    if missing:
        raise ChannelTypeError(
            f"the built-in channel types {', '.join(missing)} are not registered: install the "
            "project (`make install`, or `pip install -e .`) so its entry points exist"
        )
    order = [*BUILT_IN_ORDER, *sorted(n for n in found if n not in BUILT_IN_ORDER)]
    return {name: found[name][0] for name in order}
