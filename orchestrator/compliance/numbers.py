"""Phone numbers, parsed once: intake's validation and the zone resolution share the work.

Pure (``phonenumbers`` is data and code, no I/O). Parsing dominates the cost of taking in an
account, and a number is needed twice (validated, then located), so the parse is cached by
its E.164 text.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


@lru_cache(maxsize=50_000)  # a batch's worth: shared within it, bounded across them
def parsed(e164: str) -> phonenumbers.PhoneNumber:
    """The number an E.164 string denotes (treat it as read-only: it is shared)."""
    return phonenumbers.parse(e164, None)


@lru_cache(maxsize=50_000)
def region_of(e164: str) -> str | None:
    """The region of a valid number (``None`` for an invalid one), computed once per number:
    validation asks, then zone resolution asks again."""
    number = parsed(e164)
    if not is_valid(number):
        return None
    return home_region(number)


def home_region(number: phonenumbers.PhoneNumber) -> str | None:
    """The region a number belongs to. Trying its country code's main region first is exact
    (a number valid for a region belongs to it) and avoids trying all 25 regions of +1."""
    main = phonenumbers.region_code_for_country_code(number.country_code or 0)
    if main != "ZZ" and phonenumbers.is_valid_number_for_region(number, main):
        return str(main)
    region = phonenumbers.region_code_for_number(number)
    return str(region) if region else None


def is_valid(number: phonenumbers.PhoneNumber) -> bool:
    """Valid for its country code's main region (the fast, common case) or at all."""
    main = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return bool(
        phonenumbers.is_valid_number_for_region(number, main)
        or phonenumbers.is_valid_number(number)
    )
