"""A package whose channel type entry point names a plain string."""

WHATSAPP = "whatsapp"
