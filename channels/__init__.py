"""Channel adapters: one module per provider behind :class:`channels.base.Adapter`,
plus the provider sandbox (``channels.sandbox``).

The public surface: the interface and its values from :mod:`channels.base`, the registry
(:func:`adapters`, :func:`adapter_class`) and inbound keyword classification
(:func:`classify`). Provider modules are reached through the registry, by name.
"""

from channels.base import (
    Adapter,
    AdapterSettings,
    OutboundMessage,
    Receipt,
    Report,
    ReportKind,
    WebhookRequest,
)
from channels.keywords import Intent, classify
from channels.registry import adapter_class, adapters

__all__ = [
    "Adapter",
    "AdapterSettings",
    "Intent",
    "OutboundMessage",
    "Receipt",
    "Report",
    "ReportKind",
    "WebhookRequest",
    "adapter_class",
    "adapters",
    "classify",
]
