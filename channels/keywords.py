"""What a borrower's reply asks for: the one place inbound keywords are recognised.

Every inbound SMS (Twilio, Aliyun uplink) is classified here, so "STOP" means the same thing
whichever provider carried it.

Sources:
- CTIA Messaging Principles and Best Practices (2023), 5.1.2 and Twilio's "Advanced Opt-Out"
  support article: the standard English opt-out keywords STOP, STOPALL, UNSUBSCRIBE, CANCEL,
  END, QUIT (Twilio handles these on long codes and toll-free numbers by default), opt-in
  START, YES, UNSTOP, help HELP, INFO.
- FCC Report and Order 24-24 (revocation of consent, 47 CFR 64.1200(a)(10)), effective
  2025-04-11: revocation "by any reasonable means"; the words "stop, quit, end, revoke, opt
  out, cancel, or unsubscribe" sent in reply are a revocation *per se*. Hence REVOKE and
  OPTOUT, and a keyword leading a longer reply ("STOP texting me") also counts.
- China: MIIT 《通信短信息服务管理规定》(2015) art. 18 requires commercial SMS to offer an
  unsubscribe; carriers' and providers' practice is the reply "退订", "TD", "T" ("回T退订")
  or "N"; "R" appears as "拒收请回复R". A reply containing 退订 or 拒收 anywhere counts.

Where a reading is ambiguous (a lone "N" or "T" could be an answer to a question) we take
the stricter one: it is an opt-out. Stopping a borrower who did not mean it costs one
message; messaging one who did is a violation.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    """What an inbound message asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"


# Words that stop messages whether alone or leading a longer reply.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "TD"}
)
# Short codes that only mean "stop" when they are the whole reply.
OPT_OUT_WHOLE_REPLY = frozenset({"T", "N", "R", "退订", "拒收", "取消订阅"})
# Chinese phrases that mean "stop" wherever they appear in the reply.
OPT_OUT_PHRASES = ("退订", "拒收")
# 开通 ("switch on") is the resume word our zh-CN opt-out confirmation tells borrowers to send.
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP", "开通"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# The keywords Twilio itself answers with a confirmation on long codes and toll-free numbers.
TWILIO_HANDLED = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})

_SEPARATORS = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Full-width to ASCII (NFKC), upper case, punctuation and spacing trimmed."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    return _SEPARATORS.sub(" ", folded).strip()


def classify(text: str) -> Intent:
    """The intent of one inbound message.

    Parameters:
      text: the message body exactly as received.
    """
    cleaned = normalise(text)
    if not cleaned:
        return Intent.OTHER
    compact = cleaned.replace(" ", "")
    words = cleaned.split(" ")
    if compact in OPT_OUT_WHOLE_REPLY or compact in OPT_OUT_WORDS:
        return Intent.OPT_OUT
    if words[0] in OPT_OUT_WORDS or " ".join(words[:2]) in {"OPT OUT", "STOP ALL"}:
        return Intent.OPT_OUT
    if any(phrase in cleaned for phrase in OPT_OUT_PHRASES):
        return Intent.OPT_OUT
    if compact in OPT_IN_WORDS:
        return Intent.OPT_IN
    if compact in HELP_WORDS:
        return Intent.HELP
    return Intent.OTHER


def is_opt_out(text: str) -> bool:
    """True when the message asks us to stop messaging this number."""
    return classify(text) is Intent.OPT_OUT


def provider_confirms(text: str) -> bool:
    """True when Twilio's standard opt-out handling already sent the borrower a confirmation
    for this reply, so ours would be a second one."""
    return normalise(text).replace(" ", "") in TWILIO_HANDLED
