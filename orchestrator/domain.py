"""The domain's vocabulary: channels, account events, task and attempt states.

Every layer (API, store, compliance engine, planner, dispatch, channel adapters) speaks
in these names, so a value read in the ledger means the same thing everywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

from babel.numbers import get_currency_precision
from pydantic_core import CoreSchema, core_schema

from orchestrator.channel_types import ChannelKind, ChannelType, channel_types

__all__ = [
    "CallOutcome",
    "Channel",
    "ChannelKind",
    "ContactKind",
    "DeliveryStatus",
    "EventType",
    "Purpose",
    "TaskStatus",
    "currency_places",
]


class _Registered(type):
    """Iterating ``Channel`` lists every registered channel type, as iterating an enum did."""

    def __iter__(cls) -> Iterator[Channel]:
        return iter(_channels().values())

    def __len__(cls) -> int:
        return len(_channels())

    def __contains__(cls, value: object) -> bool:
        return isinstance(value, str) and value in _channels()


class Channel(str, metaclass=_Registered):
    """A way of reaching a borrower: the name of a registered channel type.

    A ``str`` (``Channel.SMS == "sms"``), one interned object per name, so ``is`` compares
    as it did when this was an enum. ``Channel("telegram")`` works once a package registers
    that type (see :mod:`orchestrator.channel_types`); an unknown name is a ``ValueError``.
    """

    __slots__ = ()

    SMS: ClassVar[Channel]
    EMAIL: ClassVar[Channel]
    PUSH: ClassVar[Channel]
    CALL: ClassVar[Channel]
    LETTER: ClassVar[Channel]
    WECHAT: ClassVar[Channel]
    VISIT: ClassVar[Channel]

    def __new__(cls, value: object) -> Channel:
        if isinstance(value, Channel):
            return value
        known = _channels()
        try:
            return known[value]  # type: ignore[index]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a channel (known: {', '.join(known)})") from None

    def __repr__(self) -> str:
        return f"Channel({str(self)!r})"

    def __reduce__(self) -> tuple[type[Channel], tuple[str]]:
        return (Channel, (str(self),))

    @property
    def value(self) -> str:
        """The name as a plain ``str`` (as an enum member's ``value`` was)."""
        return str(self)

    @property
    def type(self) -> ChannelType:
        """The registered type: its kind, template kind and address validation."""
        return channel_types()[self]

    @property
    def kind(self) -> ChannelKind:
        """How the compliance engine classifies the channel."""
        return self.type.kind

    @property
    def is_electronic(self) -> bool:
        """Email, text, push and other messages: the 'electronic communications' of
        12 CFR 1006.6(e)."""
        return self.type.is_electronic

    @property
    def is_phone(self) -> bool:
        """Channels whose address is a telephone number."""
        return self.type.phone_address

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: Any) -> dict[str, Any]:
        found: dict[str, Any] = handler(schema)
        found["enum"] = [c.value for c in cls]
        return found


def _intern(name: str) -> Channel:
    found = _INTERNED.get(name)
    if found is None:
        found = _INTERNED[name] = str.__new__(Channel, name)
    return found


_INTERNED: dict[str, Channel] = {}
Channel.SMS = _intern("sms")
Channel.EMAIL = _intern("email")
Channel.PUSH = _intern("push")
Channel.CALL = _intern("call")
Channel.LETTER = _intern("letter")
Channel.WECHAT = _intern("wechat")
Channel.VISIT = _intern("visit")

_by_name: tuple[Mapping[str, ChannelType], dict[str, Channel]] | None = None


def _channels() -> dict[str, Channel]:
    """The registered channels by name, rebuilt when the registry is reloaded."""
    global _by_name
    types = channel_types()
    if _by_name is None or _by_name[0] is not types:
        _by_name = (types, {name: _intern(name) for name in types})
    return _by_name[1]


class EventType(StrEnum):
    """Account events a lender (or a borrower's reply) reports.

    Holds derive from them: see ``orchestrator.compliance``.
    """

    PAYMENT = "payment"
    PROMISE_TO_PAY = "promise_to_pay"
    DISPUTE = "dispute"
    DISPUTE_RESOLVED = "dispute_resolved"
    CEASE_COMMUNICATION = "cease_communication"
    ATTORNEY_REPRESENTATION = "attorney_representation"
    BANKRUPTCY = "bankruptcy"
    DECEASED = "deceased"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    CONTACT_PREFERENCE = "contact_preference"
    CALLBACK_REQUEST = "callback_request"  # the borrower asks a person to call them
    NO_WORK_CONTACT = "no_work_contact"  # "do not contact me at work" (1006.6(b)(3))

    @property
    def needs_channel(self) -> bool:
        return self in (EventType.OPT_OUT, EventType.OPT_IN)


class ContactKind(StrEnum):
    """What one past contact was, in the terms the rules count.

    Rules differ in what they count (Reg F counts call *attempts*, Massachusetts counts
    calls and texts, Australia counts contacts of any kind); the ledger keeps this
    precise so each cap can declare what it counts.
    """

    RESERVED = "reserved"  # reserved at send time, outcome not known yet: counts as an attempt
    ATTEMPT = "attempt"  # placed/sent (a call that rang, a message the provider accepted)
    NOT_CONNECTED = "not_connected"  # a call that did not connect (12 CFR 1006.14(b)(3))
    CONVERSATION = "conversation"  # a call answered by the person: a telephone conversation
    LIMITED_CONTENT = "limited_content"  # a voicemail holding only a limited-content message
    FAILED = "failed"  # never reached the borrower (provider refused it): not a contact


class TaskStatus(StrEnum):
    """Life of a planned contact: planned → queued → sending → sent/delivered/failed.

    ``blocked``, ``cancelled``, ``expired`` and ``unknown`` are terminal too.
    """

    PLANNED = "planned"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # a crash left the send ambiguous and the provider cannot be asked

    @property
    def is_terminal(self) -> bool:
        return self not in (TaskStatus.PLANNED, TaskStatus.QUEUED, TaskStatus.SENDING)


class DeliveryStatus(StrEnum):
    """A provider-reported status, ordered: a report only ever moves an attempt forward."""

    SENDING = "sending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    BOUNCED = "bounced"

    @property
    def rank(self) -> int:
        return _DELIVERY_RANK[self]

    @property
    def is_final(self) -> bool:
        return self.rank >= _DELIVERY_RANK[DeliveryStatus.DELIVERED]


_DELIVERY_RANK = {
    DeliveryStatus.SENDING: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.UNDELIVERED: 3,
    DeliveryStatus.FAILED: 3,
    DeliveryStatus.BOUNCED: 3,
}


class CallOutcome(StrEnum):
    """How a call ended, from Twilio Voice's status callback or the dialer's report."""

    NOT_CONNECTED = "not_connected"  # busy, failed, invalid: never reached the dialed number
    NO_ANSWER = "no_answer"  # rang out: an attempt
    VOICEMAIL = "voicemail"  # machine answered: only a limited-content message is left
    RIGHT_PARTY_CONTACT = "right_party_contact"  # the borrower answered: a conversation
    WRONG_NUMBER = "wrong_number"
    PROMISE_TO_PAY = "promise_to_pay"  # a conversation that ended in a promise
    DISPUTE = "dispute"  # a conversation in which the borrower disputed the debt
    CEASE_REQUEST = "cease_request"  # a conversation in which the borrower asked us to stop

    @property
    def contact_kind(self) -> ContactKind:
        if self is CallOutcome.NOT_CONNECTED:
            return ContactKind.NOT_CONNECTED
        if self is CallOutcome.VOICEMAIL:
            return ContactKind.LIMITED_CONTENT
        if self in (CallOutcome.NO_ANSWER, CallOutcome.WRONG_NUMBER):
            return ContactKind.ATTEMPT
        return ContactKind.CONVERSATION


class Purpose(StrEnum):
    """Why a message is sent. Holds stop collection; a few notices the law requires are
    allowed through specific holds, and the rule pack lists exactly which (never the caps)."""

    COLLECTION = "collection"
    VALIDATION_NOTICE = "validation_notice"  # 12 CFR 1006.34
    DISPUTE_VERIFICATION = "dispute_verification"  # 12 CFR 1006.38(d)(2)
    CEASE_CONFIRMATION = "cease_confirmation"  # 12 CFR 1006.6(c)(2)
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"  # reply confirming a STOP


def contact_point_key(channel: str, address: str) -> str:
    """A contact point's stable name that is not its address (events and pages name a
    point by it, so no number or email address is copied into them)."""
    return hashlib.sha256(f"{channel}|{address}".encode()).hexdigest()[:16]


@cache
def currency_places(code: str) -> int:
    """ISO 4217 minor units of a currency (``JPY`` 0, ``USD`` 2): how amounts are checked at
    intake and shown in messages. Babel reads its locale data on every call (~60 µs)."""
    return int(get_currency_precision(code))
