"""Field visits (上门): the "provider" is the lender's own field team, through the work queue.

A visit task passes dispatch like any other contact — the compliance engine checks it at
send (daytime hours in the borrower's zone, holds, the visit cap), an attempt is reserved
and the ledger records it — and this adapter then hands it to the work queue instead of a
provider: the attempt *is* the open visit (``GET /v1/visits``). An ops user assigns it to a
field agent and records its outcome (``orchestrator.visits``); a visit with no outcome by
its task's deadline expires. No HTTP, no webhooks: nothing leaves the building here.
"""

from __future__ import annotations

from channels.base import Adapter, AdapterSettings, OutboundMessage, Receipt
from orchestrator.domain import Channel, DeliveryStatus


class FieldQueueSettings(AdapterSettings):
    """No settings: the work queue is this product's own store."""

    base_url: str = "queue:"


class FieldQueue(Adapter):
    """Queues a visit for the field team: the attempt becomes an open visit."""

    name = "field_queue"
    channel = Channel.VISIT
    Settings = FieldQueueSettings
    supports_lookup = True  # the queue is our own: a send a crash interrupted is queued
    delivery_note = (
        "a field visit is queued for an agent, not sent: it is done when its outcome is "
        "recorded (POST /v1/visits/{id}/outcome), or expires at its deadline"
    )

    def send(self, message: OutboundMessage) -> Receipt:
        return Receipt(self.name, message.attempt_ref, DeliveryStatus.SENT)

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        return Receipt(self.name, message.attempt_ref, DeliveryStatus.SENT)
