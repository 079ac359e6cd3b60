"""Where is the borrower, by the clock? Candidate time zones from what we know.

Sources, in order of precedence for the *primary* zone (the one whose calendar dates
the account's local days): an explicit zone, the postal address (country, US state / CN
province / AU state, and the postal code where it decides between zones), then the phone
numbers (``phonenumbers``' number-to-zones). Every candidate is kept: the engine's windows
are the intersection over all of them.

Our reading of Regulation F: the official interpretation of 1006.6(b)(1)(i) says that when
a collector has conflicting or ambiguous information about the consumer's location (an area
code in one zone, an address in another) it complies by communicating at a time convenient
in *all* the locations where the consumer might be. So an address and a phone that
disagree give both zones. A phone number alone is not knowledge of where the person is
(mobile numbers travel with their owners), so with no explicit zone and no state/region in
the address, the location is unknown and *every* zone of the country is a candidate: a US
number with no address must be convenient from Hawaii to Eastern.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import phonenumbers
from phonenumbers import timezone as phone_timezones

from orchestrator.compliance.localtime import zone
from orchestrator.compliance.numbers import parsed, region_of

_E, _C, _M, _AZ, _P = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)
_AK, _ADAK, _HI = "America/Anchorage", "America/Adak", "Pacific/Honolulu"

# The fifty states and DC, Hawaii to Eastern: "unknown location" in the US.
US_ALL: tuple[str, ...] = (_E, _C, _M, _AZ, _P, _AK, _ADAK, _HI)

_US_STATES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        [
            "CT",
            "DE",
            "DC",
            "GA",
            "ME",
            "MD",
            "MA",
            "NH",
            "NJ",
            "NY",
            "NC",
            "OH",
            "PA",
            "RI",
            "SC",
            "VT",
            "VA",
            "WV",
        ],
        (_E,),
    ),
    **dict.fromkeys(["AL", "AR", "IL", "IA", "LA", "MN", "MS", "MO", "OK", "WI"], (_C,)),
    **dict.fromkeys(["CO", "MT", "NM", "UT", "WY"], (_M,)),
    **dict.fromkeys(["CA", "WA"], (_P,)),
    "AZ": (_AZ, _M),  # the Navajo Nation keeps daylight time
    "HI": (_HI,),
    "AK": (_AK, _ADAK),
    "FL": (_E, _C),
    "ID": (_M, _P),
    "IN": (_E, _C),
    "KS": (_C, _M),
    "KY": (_E, _C),
    "MI": (_E, _C),
    "NE": (_C, _M),
    "NV": (_P, _M),
    "ND": (_C, _M),
    "OR": (_P, _M),
    "SD": (_C, _M),
    "TN": (_E, _C),
    "TX": (_C, _M),
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "AS": ("Pacific/Pago_Pago",),
}

# ZIP code prefixes (first three digits) that settle a split state. A prefix not listed
# keeps every zone of the state.
_US_ZIP3: dict[str, dict[str, tuple[str, ...]]] = {
    "AZ": {**{p: (_AZ,) for p in ("850", "851", "852", "853", "855", "856", "857", "859")}},
    "AK": {p: (_AK,) for p in ("995", "996", "997", "998", "999")},
    "FL": {
        **{
            p: (_E,)
            for p in (
                "320",
                "321",
                "322",
                "323",
                "326",
                "327",
                "328",
                "329",
                "330",
                "331",
                "332",
                "333",
                "334",
                "335",
                "336",
                "337",
                "338",
                "339",
                "341",
                "342",
                "344",
                "346",
                "347",
                "349",
            )
        },
        "324": (_C,),
        "325": (_C,),
    },
    "ID": {**{p: (_M,) for p in ("832", "833", "834", "835", "836", "837")}, "838": (_P,)},
    "IN": {
        **{
            p: (_E,)
            for p in (
                "460",
                "461",
                "462",
                "465",
                "466",
                "467",
                "468",
                "469",
                "470",
                "471",
                "472",
                "473",
                "474",
                "478",
                "479",
            )
        },
        "463": (_C,),
        "464": (_C,),
        "476": (_C,),
        "477": (_C,),
    },
    "KS": {
        p: (_C,)
        for p in (
            "660",
            "661",
            "662",
            "664",
            "665",
            "666",
            "667",
            "668",
            "669",
            "670",
            "671",
            "672",
            "673",
            "674",
            "675",
            "676",
            "678",
            "679",
        )
    },
    "KY": {
        **{
            p: (_E,)
            for p in (
                "400",
                "401",
                "402",
                "403",
                "404",
                "405",
                "406",
                "407",
                "408",
                "409",
                "410",
                "411",
                "412",
                "413",
                "414",
                "415",
                "416",
                "417",
                "418",
                "425",
                "426",
            )
        },
        **{p: (_C,) for p in ("420", "421", "422", "423", "424")},
    },
    "MI": {
        p: (_E,)
        for p in (
            "480",
            "481",
            "482",
            "483",
            "484",
            "485",
            "486",
            "487",
            "488",
            "489",
            "490",
            "491",
            "492",
            "493",
            "494",
            "495",
            "496",
            "497",
        )
    },
    "NE": {
        **{p: (_C,) for p in ("680", "681", "683", "684", "685", "686", "687", "688", "689")},
        "693": (_M,),
    },
    "NV": {p: (_P,) for p in ("889", "890", "891", "893", "894", "895", "897")},
    "ND": {**{p: (_C,) for p in ("580", "581", "582", "583", "584", "587")}, "586": (_M,)},
    "OR": {p: (_P,) for p in ("970", "971", "972", "973", "974", "975", "976", "977", "978")},
    "SD": {**{p: (_C,) for p in ("570", "571", "572", "573", "574")}, "577": (_M,)},
    "TN": {
        **{p: (_C,) for p in ("370", "371", "372", "380", "381", "382", "383", "384", "385")},
        **{p: (_E,) for p in ("373", "374", "376", "377", "378", "379")},
    },
    "TX": {"798": (_M,), "799": (_M,), "885": (_M,)},
}

_AU_STATES: dict[str, tuple[str, ...]] = {
    "NSW": ("Australia/Sydney", "Australia/Broken_Hill"),
    "ACT": ("Australia/Sydney",),
    "VIC": ("Australia/Melbourne",),
    "QLD": ("Australia/Brisbane",),
    "SA": ("Australia/Adelaide",),
    "WA": ("Australia/Perth",),
    "TAS": ("Australia/Hobart",),
    "NT": ("Australia/Darwin",),
}
AU_ALL: tuple[str, ...] = (
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Adelaide",
    "Australia/Darwin",
    "Australia/Perth",
    "Australia/Hobart",
    "Australia/Broken_Hill",
    "Australia/Lord_Howe",
)

# Beijing time is China's legal time; Xinjiang also keeps an unofficial UTC+6 clock, so a
# Xinjiang borrower gets both (the stricter reading).
_CN_SPECIAL: dict[str, tuple[str, ...]] = {
    "XJ": ("Asia/Shanghai", "Asia/Urumqi"),
    "HK": ("Asia/Hong_Kong",),
    "MO": ("Asia/Macau",),
}
CN_ALL: tuple[str, ...] = ("Asia/Shanghai", "Asia/Urumqi")

_COUNTRY_ALL: dict[str, tuple[str, ...]] = {
    "US": US_ALL,
    "AU": AU_ALL,
    "CN": CN_ALL,
    "GB": ("Europe/London",),
}


def derive_jurisdiction(country: str, region: str | None) -> str:
    """The account's jurisdiction code: ``("US", "NY")`` → ``"US-NY"``, ``("GB", None)`` →
    ``"GB"``.

    Parameters:
      country: ISO 3166-1 alpha-2 code (any case).
      region: the subdivision code of ISO 3166-2 without the country (``NY``, ``NSW``,
        ``GD``); ``None`` or empty when unknown.
    """
    code = country.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {country!r}")
    if region:
        sub = region.strip().upper()
        sub = sub.removeprefix(code + "-")
        return f"{code}-{sub}"
    return code


@lru_cache(maxsize=1)
def _zone_tab() -> dict[str, tuple[str, ...]]:
    """Country → zones, from the IANA ``zone.tab`` that ``tzdata`` ships (the same data
    ``zoneinfo`` reads for every zone)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        table.setdefault(fields[0], []).append(fields[2])
    return {country: tuple(zones) for country, zones in table.items()}


def country_zones(country: str) -> tuple[str, ...]:
    """Every zone a borrower in ``country`` might be in."""
    return _COUNTRY_ALL.get(country) or _zone_tab().get(country, ())


def _address_zones(country: str, region: str | None, postal_code: str | None) -> tuple[str, ...]:
    region = (region or "").strip().upper().removeprefix(country + "-") or None
    postal = (postal_code or "").strip()
    if country == "US" and region:
        zones = _US_STATES.get(region, ())
        if len(zones) > 1 and len(postal) >= 3:
            return _US_ZIP3.get(region, {}).get(postal[:3], zones)
        return zones
    if country == "AU" and region:
        if region == "NSW" and postal == "2880":
            return ("Australia/Broken_Hill",)
        if region == "NSW" and postal == "2898":
            return ("Australia/Lord_Howe",)
        if region == "NSW" and len(postal) == 4:
            return ("Australia/Sydney",)
        return _AU_STATES.get(region, ())
    if country == "CN":
        return _CN_SPECIAL.get(region or "", ("Asia/Shanghai",)) if region else ()
    zones = country_zones(country)
    # A single-zone country needs no region; a multi-zone one without a table stays unknown.
    return zones if len(zones) == 1 else ()


@lru_cache(maxsize=65536)
def _phone_zones(number: str) -> tuple[str | None, tuple[str, ...]]:
    number_ = parsed(number)
    region = region_of(number)
    if region is None and number_.country_code is not None:
        regions = phonenumbers.region_codes_for_country_code(number_.country_code)
        region = regions[0] if regions else None
    found = tuple(z for z in phone_timezones.time_zones_for_number(number_) if z != "Etc/Unknown")
    return region, found


@lru_cache(maxsize=65536)
def _resolve(
    explicit: str | None,
    country: str | None,
    region: str | None,
    postal_code: str | None,
    phones: tuple[str, ...],
) -> tuple[str, ...]:
    candidates: list[str] = []
    if explicit:
        zone(explicit)  # raises ZoneInfoNotFoundError for an unknown name
        candidates.append(explicit)
    code = country.strip().upper() if country else None
    address = _address_zones(code, region, postal_code) if code else ()
    candidates += address
    phone_countries: list[str] = []
    for number in phones:
        phone_region, found = _phone_zones(number)
        if phone_region:
            phone_countries.append(phone_region)
        candidates += found
    if not explicit and not address:
        # Location unknown: every zone of the country (from the address, else the phones).
        for place in [code] if code else phone_countries:
            candidates += country_zones(place)
    resolved = tuple(dict.fromkeys(candidates))
    if not resolved:
        raise ValueError(
            "cannot resolve a time zone: give an explicit time zone, an address, or a phone number"
        )
    return resolved


def resolve_zones(
    *,
    explicit: str | None,
    country: str | None,
    region: str | None,
    postal_code: str | None,
    phones: Sequence[str],
) -> tuple[str, ...]:
    """The borrower's candidate zones, primary first (explicit > address > phone).

    Parameters:
      explicit: an IANA zone the lender gave; an unknown name raises
        ``zoneinfo.ZoneInfoNotFoundError``.
      country, region, postal_code: the postal address (ISO codes; region without the
        country prefix). ZIP codes settle split US states; AU postcodes settle Broken Hill.
      phones: the borrower's numbers, valid E.164 strings.

    Raises ``ValueError`` when nothing at all locates the borrower.
    """
    return _resolve(
        explicit or None, country or None, region or None, postal_code or None, tuple(phones)
    )
