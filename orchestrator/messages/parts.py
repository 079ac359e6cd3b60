"""The parts each kind of template has, and how each part's text is shaped.

A channel type names its template kind (``orchestrator.channel_types``): SMS is ``text``,
call is ``script``, and a plugged-in Telegram type may say ``text`` too. A template file
defines one Jinja block per part; nothing outside the blocks is sent:

=======  ========  ===============================  ======================================
kind     channels  blocks                           shaping
=======  ========  ===============================  ======================================
text     sms       ``body``                         one line (a wrapped source line costs
                                                    no segment)
push     push      ``title``, ``body``              one line each
email    email     ``subject``, ``text``, ``html``  subject one line; text keeps its lines;
                                                    html as written, wrapped in the layout
script   call      ``body`` (what the voice reads)  paragraphs (a blank line is a pause)
letter   letter    ``subject``, ``body``            subject one line; body keeps its
                                                    paragraphs (printed as a PDF)
=======  ========  ===============================  ======================================

Joining two pieces of text (source lines, a body and its disclosures) inserts a space
between Latin words and nothing beside Chinese characters, so a zh-CN body and its
disclosure read as one run of sentences.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterable

from orchestrator.domain import Channel

TEMPLATE_PARTS: dict[str, tuple[str, ...]] = {
    "text": ("body",),
    "push": ("title", "body"),
    "email": ("subject", "text", "html"),
    "script": ("body",),
    "letter": ("subject", "body"),
}
"""The blocks a template of each kind must define, and the only ones it may."""


def channel_parts(channel: Channel) -> tuple[str, ...]:
    """The blocks a template for ``channel`` must define (by its type's template kind)."""
    return TEMPLATE_PARTS[channel.type.template_kind]


_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def join_text(pieces: Iterable[str]) -> str:
    """Join pieces of running text: a space between words, none beside CJK characters."""
    joined = ""
    for piece in pieces:
        if not piece:
            continue
        if joined and not (_is_wide(joined[-1]) or _is_wide(piece[0])):
            joined += " "
        joined += piece
    return joined


def one_line(text: str) -> str:
    """Lines joined into one, runs of spaces collapsed: SMS bodies, titles, subjects.

    A space the author wrote stays (``请访问 https://... 还款`` keeps the URL apart from the
    Chinese text, so phones link it correctly); a line break becomes a space only between
    Latin words.
    """
    return join_text(" ".join(line.split()) for line in text.splitlines())


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each as one line."""
    return [line for line in (one_line(p) for p in _BLANK_LINES.split(text)) if line]


def spoken(text: str) -> str:
    """A call script: one line per paragraph, a blank line (a pause) between them."""
    return "\n\n".join(paragraphs(text))


def plain_text(text: str) -> str:
    """An email's text part: the author's line breaks kept, indentation and runs of
    blank lines removed."""
    lines = [line.rstrip() for line in textwrap.dedent(text).splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def shape(channel: Channel, part: str, text: str) -> str:
    """The text of one rendered block, shaped for its channel.

    Parameters:
      channel: the message's channel.
      part: the block name (see :data:`TEMPLATE_PARTS`).
      text: the block as Jinja rendered it.
    """
    kind = channel.type.template_kind
    if (kind == "email" and part == "text") or (kind == "letter" and part == "body"):
        return plain_text(text)
    if kind == "email" and part == "html":
        return text.strip()
    if kind == "script":
        return spoken(text)
    return one_line(text)


def append_disclosures(channel: Channel, body: str, texts: Iterable[str]) -> str:
    """``body`` followed by the disclosure texts, the way the channel reads them.

    Parameters:
      channel: text and push kinds (SMS, push) run them on in the same line; email text
        and call scripts give each its own paragraph.
      body: the shaped body.
      texts: the rendered disclosures, in order.
    """
    texts = [t for t in texts if t]
    if not texts:
        return body
    if channel.type.template_kind in ("text", "push"):
        return join_text([body, *texts])
    return "\n\n".join([body, *texts])
