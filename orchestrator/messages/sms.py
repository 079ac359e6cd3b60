"""How long an SMS is, in the units carriers bill: encoding, characters, segments.

A text that fits the GSM 03.38 default alphabet (3GPP TS 23.038) travels as 7-bit septets:
160 per single message, 153 per segment once it is split (the user data header takes 7).
Characters of the alphabet's extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) are an
escape plus a septet: they count 2. Any other character (one Chinese character is enough)
switches the whole message to UCS-2: 70 UTF-16 code units single, 67 per segment, and a
character outside the Basic Multilingual Plane (most emoji) takes 2 units.

Phones never split an escape sequence or a surrogate pair across two segments, so the
segment count packs whole characters, not raw units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet, less the escape code itself."""

GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
"""The extension table: each is sent as escape + septet, two septets."""

Encoding = Literal["GSM-7", "UCS-2"]

_LIMITS: dict[str, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}
"""Per encoding: units in a single message, units per segment of a split one."""


@dataclass(frozen=True, slots=True)
class SmsInfo:
    """What a text costs to send.

    Parameters:
      encoding: ``GSM-7`` or ``UCS-2``.
      characters: length in the encoding's units (septets, or UTF-16 code units).
      segments: messages the carrier delivers (and bills); at least 1.
    """

    encoding: Encoding
    characters: int
    segments: int


def measure_sms(text: str) -> SmsInfo:
    """Encoding, length and segment count of ``text`` as an SMS.

    Parameters:
      text: the exact body that will be sent, disclosures included.
    """
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        units = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        return _sized("GSM-7", units)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _sized("UCS-2", units)


def _sized(encoding: Encoding, units: list[int]) -> SmsInfo:
    single, per_segment = _LIMITS[encoding]
    total = sum(units)
    if total <= single:
        return SmsInfo(encoding, total, 1)
    return SmsInfo(encoding, total, _pack(units, per_segment))


def _pack(units: Iterable[int], per_segment: int) -> int:
    """Segments needed when no character is split across two."""
    segments, used = 1, 0
    for size in units:
        if used + size > per_segment:
            segments += 1
            used = 0
        used += size
    return segments
