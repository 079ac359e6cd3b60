"""The parts each channel's message has, and how each part's text is shaped.

A template file defines one Jinja block per part; nothing outside the blocks is sent:

=======  ===================================  =========================================
channel  blocks                               shaping
=======  ===================================  =========================================
sms      ``body``                             one line (a wrapped source line costs no
                                              segment)
push     ``title``, ``body``                  one line each
email    ``subject``, ``text``, ``html``      subject one line; text keeps its lines;
                                              html as written, wrapped in the layout
call     ``body`` (what the voice reads)      paragraphs (a blank line is a pause)
=======  ===================================  =========================================

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

CHANNEL_PARTS: dict[Channel, tuple[str, ...]] = {
    Channel.SMS: ("body",),
    Channel.PUSH: ("title", "body"),
    Channel.EMAIL: ("subject", "text", "html"),
    Channel.CALL: ("body",),
}
"""The blocks a template for each channel must define, and the only ones it may."""

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
      part: the block name (see :data:`CHANNEL_PARTS`).
      text: the block as Jinja rendered it.
    """
    if channel is Channel.EMAIL and part == "text":
        return plain_text(text)
    if channel is Channel.EMAIL and part == "html":
        return text.strip()
    if channel is Channel.CALL:
        return spoken(text)
    return one_line(text)


def append_disclosures(channel: Channel, body: str, texts: Iterable[str]) -> str:
    """``body`` followed by the disclosure texts, the way the channel reads them.

    Parameters:
      channel: SMS and push run them on in the same line; email text and call scripts
        give each its own paragraph.
      body: the shaped body.
      texts: the rendered disclosures, in order.
    """
    texts = [t for t in texts if t]
    if not texts:
        return body
    if channel in (Channel.SMS, Channel.PUSH):
        return join_text([body, *texts])
    return "\n\n".join([body, *texts])
