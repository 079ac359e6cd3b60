"""Candidate time zones: explicit > address > phone, every candidate kept (the engine
intersects them); unknown location means every zone of the country."""

from __future__ import annotations

import zoneinfo

import pytest

from orchestrator.compliance.zones import US_ALL, derive_jurisdiction, resolve_zones


def resolve(**kw):
    base = {"explicit": None, "country": None, "region": None, "postal_code": None, "phones": ()}
    return resolve_zones(**{**base, **kw})


def test_a_us_number_with_no_address_must_be_convenient_from_hawaii_to_eastern():
    zones = resolve(country="US", phones=["+12125550123"])
    assert zones[0] == "America/New_York"
    assert set(US_ALL) <= set(zones)
    assert "Pacific/Honolulu" in zones


def test_the_address_is_primary_and_a_disagreeing_area_code_is_kept():
    zones = resolve(country="US", region="NY", postal_code="10001", phones=["+14155550123"])
    assert zones == ("America/New_York", "America/Los_Angeles")


def test_the_explicit_zone_comes_first():
    zones = resolve(explicit="America/Chicago", country="US", region="NY", phones=[])
    assert zones == ("America/Chicago", "America/New_York")


@pytest.mark.parametrize(
    ("region", "postal", "expected"),
    [
        ("FL", "32501", ("America/Chicago",)),  # Pensacola: Central
        ("FL", "33101", ("America/New_York",)),  # Miami: Eastern
        ("FL", None, ("America/New_York", "America/Chicago")),
        ("TX", "79901", ("America/Denver",)),  # El Paso: Mountain
        ("IN", "46320", ("America/Chicago",)),  # Hammond: Central
        ("AZ", "85001", ("America/Phoenix",)),
        ("HI", None, ("Pacific/Honolulu",)),
    ],
)
def test_postal_codes_settle_split_states(region, postal, expected):
    assert resolve(country="US", region=region, postal_code=postal) == expected


def test_an_australian_mobile_with_no_state_spans_the_continent():
    zones = resolve(phones=["+61412345678"])
    assert {"Australia/Perth", "Australia/Sydney", "Australia/Lord_Howe"} <= set(zones)


def test_australian_states_and_broken_hill():
    assert resolve(country="AU", region="VIC") == ("Australia/Melbourne",)
    assert resolve(country="AU", region="NSW", postal_code="2880") == ("Australia/Broken_Hill",)


def test_china_is_beijing_time_and_xinjiang_also_keeps_urumqi_time():
    assert resolve(country="CN", region="GD", phones=["+8613812345678"]) == ("Asia/Shanghai",)
    assert resolve(country="CN", region="XJ") == ("Asia/Shanghai", "Asia/Urumqi")


def test_a_country_without_our_table_uses_the_iana_zone_table():
    assert resolve(country="FR") == ("Europe/Paris",)
    assert len(resolve(country="RU")) > 5


def test_an_unknown_explicit_zone_is_refused():
    with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
        resolve(explicit="Mars/Olympus_Mons", country="US")


def test_nothing_to_go_on_is_refused():
    with pytest.raises(ValueError, match="cannot resolve a time zone"):
        resolve()


def test_jurisdictions():
    assert derive_jurisdiction("US", "NY") == "US-NY"
    assert derive_jurisdiction("us", "us-ma") == "US-MA"
    assert derive_jurisdiction("GB", None) == "GB"
    with pytest.raises(ValueError, match="alpha-2"):
        derive_jurisdiction("USA", "NY")
