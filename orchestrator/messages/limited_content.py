"""The limited-content message: a voicemail a third party may hear (12 CFR 1006.2(j)).

Reg F lets a collector leave a voicemail that is not a "communication" only if it holds
exactly: a business name that does not indicate debt collection, a request to reply, the
name of a natural person to reply to, and a telephone number (plus a salutation, the date
and time, and generic ways to reply). Any debt fact turns it into a disclosure of the
debt to whoever plays the tape (12 CFR 1006.6(d)).

So a template whose name ends in ``_limited`` (``voicemail_limited``) may use only
:data:`ALLOWED_FIELDS`; lint refuses any other variable and the debt words of its locale's
list; the engine appends no disclosure to it; and each render scans its output (the
lender's name included) for those words and refuses to produce a message that has one.
"""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import nodes

from orchestrator.errors import TemplateError
from orchestrator.messages.context import CONTEXT_FIELDS
from orchestrator.messages.phrases import Category, PhraseList

SUFFIX = "_limited"

ALLOWED_FIELDS = frozenset({"lender_name", "contact_person", "support_phone"})
"""The only context fields a limited-content template may use."""


def is_limited_content(template_name: str) -> bool:
    """Whether ``template_name`` names a limited-content message."""
    return template_name.endswith(SUFFIX)


def refuse_debt_reference(text: str, lists: Iterable[PhraseList], what: str) -> None:
    """Raise :class:`TemplateError` if ``text`` refers to a debt.

    Parameters:
      text: the rendered message.
      lists: the phrase lists of the message's locale and its fallbacks.
      what: names the template in the error.
    """
    for phrase_list in lists:
        for match in phrase_list.search(text, [Category.LIMITED_CONTENT]):
            raise TemplateError(
                f"{what}: a limited-content message may not refer to the debt, "
                f"but the rendered text says {match.found!r} (12 CFR 1006.2(j))"
            )


def forbidden_fields(tree: nodes.Template) -> list[tuple[str, int]]:
    """Context fields a limited-content template uses beyond :data:`ALLOWED_FIELDS`.

    Returns (field, first line) pairs, in line order.
    """
    first_use: dict[str, int] = {}
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name in CONTEXT_FIELDS - ALLOWED_FIELDS:
            first_use.setdefault(name.name, name.lineno)
    return sorted(first_use.items(), key=lambda item: item[1])
