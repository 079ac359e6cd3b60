"""Public holidays of a jurisdiction, from the ``holidays`` package's calendars.

Australia's guideline forbids contact on public holidays; we read that as the national
holidays plus those of the borrower's state or territory, and, when the state is unknown, the
holidays of *any* state (the stricter reading).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _calendars(country: str, subdivision: str | None) -> tuple[holidays.HolidayBase, ...]:
    try:
        national = holidays.country_holidays(country)
    except NotImplementedError:
        return ()
    known = tuple(getattr(national, "subdivisions", ()) or ())
    if subdivision and subdivision in known:
        return (holidays.country_holidays(country, subdiv=subdivision),)
    if not known:
        return (national,)
    return (national, *(holidays.country_holidays(country, subdiv=s) for s in known))


@lru_cache(maxsize=65536)
def holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    """The holiday's name if ``day`` is a public holiday in ``country``/``subdivision``.

    Parameters:
      country: ISO 3166-1 alpha-2 code (``AU``).
      subdivision: state or territory code (``NSW``); ``None`` when unknown (every state's
        holidays then count).
      day: the local date.
    """
    for calendar in _calendars(country, subdivision):
        name = calendar.get(day)
        if name:
            return str(name)
    return None
