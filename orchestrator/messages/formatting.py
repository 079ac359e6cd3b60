"""Money and dates the way the borrower's locale writes them (babel, CLDR data).

``money`` gives ``$1,234.56`` in en-US and ``¥1,234.56`` for yuan in zh-CN; ``date`` gives
``October 1, 2026`` / ``2026年10月1日``. Templates reach these as the filters ``money`` and
``date``; the locale and currency come from the message being rendered, never from the
template, so one template serves every currency.
"""

from __future__ import annotations

from datetime import date as Date
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import pass_context
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Context

from orchestrator.messages.locales import formatting_locale

DATE_STYLES = ("short", "medium", "long", "full")

_DEFAULT_DATE_STYLE: dict[str, str] = {"zh": "medium"}
"""CLDR's medium Chinese date already spells 年月日; English reads best spelled out (long)."""

LOCALE_KEY = "_message_locale"
"""Where a render puts its formatting locale in the template context.

Templates cannot use this name: :meth:`TemplateLibrary.check` refuses any variable
that is not a :class:`MessageContext` field.
"""


def format_money(amount: Decimal, currency: str, locale: Locale) -> str:
    """``amount`` in ``currency`` as ``locale`` writes it, to the currency's own digits.

    Parameters:
      amount: a Decimal (floats would misstate cents).
      currency: ISO 4217 code.
      locale: a babel locale, from :func:`formatting_locale`.
    """
    return format_currency(amount, currency, locale=locale)


def format_day(day: Date, locale: Locale, style: str | None = None) -> str:
    """``day`` as ``locale`` writes it.

    Parameters:
      day: the date.
      locale: a babel locale.
      style: ``short``, ``medium``, ``long`` or ``full``; default: the locale's usual
        style for a due date (long in English, medium in Chinese).
    """
    chosen = style or _DEFAULT_DATE_STYLE.get(locale.language, "long")
    if chosen not in DATE_STYLES:
        raise ValueError(f"date style {chosen!r} is not one of {', '.join(DATE_STYLES)}")
    return format_date(day, format=chosen, locale=locale)


def _locale_of(context: Context) -> Locale:
    return formatting_locale(str(context.get(LOCALE_KEY, "en-US")))


@pass_context
def money_filter(context: Context, amount: Any, currency: str | None = None) -> str:
    """``{{ amount_due|money }}`` in the message's currency, or ``|money("EUR")``."""
    if amount is None:
        raise TemplateRuntimeError("money: the amount is empty (None); guard it with {% if %}")
    if not isinstance(amount, Decimal | int):
        raise TemplateRuntimeError(f"money: {amount!r} is not an amount")
    code = currency or context.get("currency")
    if not isinstance(code, str):
        raise TemplateRuntimeError("money: no currency for this message")
    return format_money(Decimal(amount), code, _locale_of(context))


@pass_context
def date_filter(context: Context, day: Any, style: str | None = None) -> str:
    """``{{ due_date|date }}`` in the message's locale, or ``|date("short")``."""
    if day is None:
        raise TemplateRuntimeError("date: the date is empty (None); guard it with {% if %}")
    if not isinstance(day, Date):
        raise TemplateRuntimeError(f"date: {day!r} is not a date")
    try:
        return format_day(day, _locale_of(context), style)
    except ValueError as exc:
        raise TemplateRuntimeError(f"date: {exc}") from None
