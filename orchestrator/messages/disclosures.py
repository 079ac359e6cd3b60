"""Disclosures the law requires, appended by the engine rather than written into templates.

The compliance rule pack names which disclosures a contact needs; dispatch passes the names
to :meth:`TemplateLibrary.render`, which appends their texts. Keeping them out of the
templates means a rule change is one edit in the pack, and no template can forget one
(lint refuses a template that hard-codes one: see ``Category.DISCLOSURE``).

Texts live per locale, and per channel where the wording differs::

    templates/{locale}/_disclosures/{name}.{channel}.j2   # e.g. opt_out.sms.j2
    templates/{locale}/_disclosures/{name}.j2             # every other channel

They are sandboxed templates like any other and see the same variables.
"""

from __future__ import annotations

from enum import StrEnum

from orchestrator.domain import Channel
from orchestrator.errors import TemplateError


class Disclosure(StrEnum):
    """A disclosure a rule pack can require, by name."""

    DEBT_COLLECTOR_INITIAL = "debt_collector_initial"
    """12 CFR 1006.18(e)(1): the collector is attempting to collect a debt and any
    information obtained will be used for that purpose (the initial communication)."""

    DEBT_COLLECTOR = "debt_collector"
    """12 CFR 1006.18(e)(2): the communication is from a debt collector (later ones)."""

    OPT_OUT = "opt_out"
    """12 CFR 1006.6(e): a clear, simple way to opt out of further electronic
    communications to that address or number (email, text, push; not calls)."""

    @classmethod
    def named(cls, name: str) -> Disclosure:
        """The disclosure called ``name``; :class:`TemplateError` when there is none."""
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(d.value for d in cls)
            raise TemplateError(f"unknown disclosure {name!r} (known: {known})") from None


DISCLOSURES_FOLDER = "_disclosures"


def applies_to(disclosure: Disclosure, channel: Channel, limited_content: bool = False) -> bool:
    """Whether ``disclosure`` belongs in a message on ``channel``.

    Parameters:
      disclosure: the disclosure asked for.
      channel: the message's channel; ``opt_out`` applies to electronic channels only.
      limited_content: a limited-content voicemail takes no disclosure at all: each one
        refers to the debt, which the message exists not to do (12 CFR 1006.2(j)).
    """
    if limited_content:
        return False
    return disclosure is not Disclosure.OPT_OUT or channel.is_electronic
