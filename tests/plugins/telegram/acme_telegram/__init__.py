"""A lender's own channel type: Telegram chats, reached by chat id."""

import re

from orchestrator.channel_types import ChannelKind, ChannelType

_CHAT_ID = re.compile(r"^-?\d{5,15}$")


def chat_id(value: str) -> str:
    text = value.strip()
    if not _CHAT_ID.fullmatch(text):
        raise ValueError(f"{value!r} is not a Telegram chat id (5 to 15 digits, e.g. 123456789)")
    return text


TELEGRAM = ChannelType(
    name="telegram",
    kind=ChannelKind.MESSAGE,
    template_kind="text",
    normalise=chat_id,
    address_help="Telegram chat id",
)
