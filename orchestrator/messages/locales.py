"""Which template folder serves a borrower's locale, and which locale formats the numbers.

The two differ on purpose: a British borrower reads the ``en-US`` wording (until someone
writes ``en-GB`` files) but sees ``£1,234.56`` and ``1 October 2026``. The rule, per file:

1. the borrower's own locale folder (``en-GB/sms/due_today.j2``);
2. the language's default folder: ``en-*`` → ``en-US``, ``zh-*`` → ``zh-CN``;
3. ``en-US``.

Formatting always uses the borrower's locale when babel knows it, else the folder's.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale, UnknownLocaleError

from orchestrator.errors import TemplateError

DEFAULT_LOCALE = "en-US"

LANGUAGE_DEFAULTS: dict[str, str] = {"en": "en-US", "zh": "zh-CN"}
"""The folder a language falls back to when a regional variant has no file of its own."""

_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def normalize_locale(tag: str) -> str:
    """Spell a locale tag the way template folders are named (BCP 47 casing).

    ``zh_cn`` → ``zh-CN``, ``EN-us`` → ``en-US``, ``zh-hans-cn`` → ``zh-Hans-CN``.

    Raises :class:`TemplateError` for anything that is not a locale tag, so a locale can
    never name a path outside the templates folder.
    """
    if not _TAG.fullmatch(tag):
        raise TemplateError(f"locale {tag!r} is not a locale tag like 'en-US' or 'zh-CN'")
    language, *rest = re.split(r"[-_]", tag)
    parts = [language.lower()]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script: Hans, Latn
        elif len(part) == 2 or (len(part) == 3 and part.isdigit()):
            parts.append(part.upper())  # region: CN, US, 419
        else:
            parts.append(part.lower())
    return "-".join(parts)


def template_locales(locale: str) -> tuple[str, ...]:
    """The folders to look in for ``locale``, most specific first.

    Parameters:
      locale: any spelling :func:`normalize_locale` accepts.
    """
    tag = normalize_locale(locale)
    language = tag.split("-", 1)[0]
    chain = [tag, LANGUAGE_DEFAULTS.get(language, DEFAULT_LOCALE), DEFAULT_LOCALE]
    return tuple(dict.fromkeys(chain))


@lru_cache(maxsize=256)
def formatting_locale(locale: str) -> Locale:
    """The babel locale that formats money and dates for ``locale``.

    The borrower's own locale when babel has data for it, else the first fallback folder's.
    """
    for candidate in template_locales(locale):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(DEFAULT_LOCALE, sep="-")
