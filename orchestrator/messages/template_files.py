"""The files of the templates folder as the library finds them, and what checking them needs.

The library (:mod:`orchestrator.messages.library`) finds and renders these files; the checks
(:mod:`orchestrator.messages.validation`) read them through :class:`TemplateFolder`, so the
checks need not import the library that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from orchestrator.domain import Channel
from orchestrator.messages.disclosures import Disclosure
from orchestrator.messages.limited_content import is_limited_content

if TYPE_CHECKING:
    from jinja2 import nodes

    from orchestrator.messages.context import MessageContext


@dataclass(frozen=True, slots=True)
class TemplateFile:
    """One message template in the folder.

    Parameters:
      locale: the folder it lives in (which may be a fallback for the locale asked for).
      channel: its channel folder.
      name: the file name without ``.j2``; the strategy's step names it.
      path: relative to the templates folder, with ``/``: ``zh-CN/sms/due_today.j2``.
    """

    locale: str
    channel: Channel
    name: str
    path: str

    @property
    def limited_content(self) -> bool:
        return is_limited_content(self.name)


@dataclass(frozen=True, slots=True)
class DisclosureFile:
    """One disclosure text: for every channel (``channel`` None) or for one."""

    locale: str
    disclosure: Disclosure
    channel: Channel | None
    path: str


class TemplateFolder(Protocol):
    """What the checks read from a templates folder (the library is one)."""

    def find(self, name: str, channel: Channel, locale: str) -> TemplateFile | None: ...

    def find_disclosure(
        self, disclosure: Disclosure, channel: Channel, locale: str
    ) -> DisclosureFile | None: ...

    def email_layout(self, locale: str) -> str | None: ...

    def parse(self, path: str) -> nodes.Template: ...

    def render(
        self, name: str, channel: Channel, locale: str, context: MessageContext
    ) -> object: ...

    def render_disclosure(
        self, disclosure: Disclosure, channel: Channel, locale: str, context: MessageContext
    ) -> str: ...
