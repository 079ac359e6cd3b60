"""The domain's vocabulary: channels, account events, task and attempt states.

Every layer (API, store, compliance engine, planner, dispatch, channel adapters) speaks
in these names, so a value read in the ledger means the same thing everywhere.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from functools import cache

from babel.numbers import get_currency_precision


class Channel(StrEnum):
    """A way of reaching a borrower."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    CALL = "call"

    @property
    def is_electronic(self) -> bool:
        """Email, text and push: the 'electronic communications' of 12 CFR 1006.6(e)."""
        return self is not Channel.CALL

    @property
    def is_phone(self) -> bool:
        """Channels whose address is a telephone number."""
        return self in (Channel.SMS, Channel.CALL)


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
