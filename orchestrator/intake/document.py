"""The account document: one shape for the API body, the import file and the simulation
portfolio, validated at the edge.

What comes out is normalised: phone numbers in E.164, emails normalised, locales in BCP-47
form, codes upper-cased, money as :class:`~decimal.Decimal` (never a float). Anything wrong is
refused with the path to the field and what to do about it.
"""

from __future__ import annotations

import contextlib
import json
import re
import zoneinfo
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache, lru_cache
from typing import Annotated, Any, Self

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestrator.channel_types.addresses import postal_code_problem
from orchestrator.compliance.numbers import parsed, region_of
from orchestrator.domain import Channel, EventType, currency_places

MAX_CONTACT_POINTS = 20
MAX_EVENTS = 1000

ExternalId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- reference data -------------------------------------------------------------------------


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def _countries() -> frozenset[str]:
    territories = Locale("en").territories
    return frozenset(
        code
        for code in territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha() and code != "ZZ"
    )


# ISO 3166-2 subdivisions for the countries whose rule packs depend on the subdivision.
_SUBDIVISIONS: dict[str, frozenset[str]] = {
    "US": frozenset(
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT "
        "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
        "AS GU MP PR UM VI".split()
    ),
    "CN": frozenset(
        "AH BJ CQ FJ GD GS GX GZ HA HB HE HI HK HL HN JL JS JX LN MO NM NX QH SC SD SH SN SX TJ "
        "TW XJ XZ YN ZJ".split()
    ),
    "AU": frozenset("ACT NSW NT QLD SA TAS VIC WA".split()),
    "GB": frozenset("ENG NIR SCT WLS".split()),
    "CA": frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split()),
}

_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WEEKDAYS = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})


# --- field parsers (shared by the models below) --------------------------------------------


def parse_money(value: Any) -> Decimal:
    """A decimal string (or an integer) as a Decimal; floats are refused, they are inexact."""
    if isinstance(value, (bool, float)):
        raise ValueError('give money as a decimal string, e.g. "1250.00" (floats are inexact)')
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str):
        raise ValueError('give money as a decimal string, e.g. "1250.00"')
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f'"{value}" is not a decimal amount, e.g. "1250.00"') from None
    if not amount.is_finite():
        raise ValueError(f'"{value}" is not a finite amount')
    return amount


Money = Annotated[Decimal, BeforeValidator(parse_money)]


def normalise_phone(value: str, region: str | None = None) -> str:
    """Parse a phone number (E.164, or national with the address country as region) to E.164.

    The parse and the validity check are shared, cached, with the zone resolution that
    follows (``orchestrator.compliance.numbers``): together they are most of what taking in
    an account costs.
    """
    try:
        if value.startswith("+"):
            e164 = phonenumbers.format_number(parsed(value), phonenumbers.PhoneNumberFormat.E164)
        else:
            number = phonenumbers.parse(value, region)
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            f"{value!r} is not a phone number ({exc._msg}); give it in E.164, e.g. +12125550123"
        ) from None
    if region_of(e164) is None:
        raise ValueError(f"{value!r} is not a valid phone number for its country")
    return e164


def _instant_or_date(value: Any, field: str) -> datetime | date:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{field} {value!r} is not a date (YYYY-MM-DD)") from None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{field} {value!r} is not an ISO 8601 date or instant, "
                "e.g. 2026-10-09 or 2026-10-09T14:30:00Z"
            ) from None
    else:
        raise ValueError(f"{field} must be a date or an instant string")
    if parsed.tzinfo is None:
        raise ValueError(f"{field} {value!r} has no UTC offset; add one, e.g. Z or +08:00")
    return parsed


# --- the models ------------------------------------------------------------------------------


class Address(_Strict):
    """Where the borrower lives: decides the jurisdiction and the time zone candidates."""

    country: str = Field(description="ISO 3166-1 alpha-2, e.g. US", examples=["US"])
    region: str | None = Field(
        default=None, description="ISO 3166-2 subdivision without the country, e.g. NY"
    )
    postal_code: str | None = Field(default=None, examples=["10001"])
    city: str | None = Field(default=None, max_length=200)
    line1: str | None = Field(default=None, max_length=400)
    line2: str | None = Field(default=None, max_length=400)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.upper()
        if code not in _countries():
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code, e.g. US")
        return code

    @model_validator(mode="after")
    def _region_and_postal_code(self) -> Self:
        region = self.region.upper() if self.region else None
        known = _SUBDIVISIONS.get(self.country)
        if region is not None:
            if known is not None and region not in known:
                raise ValueError(
                    f"region {self.region!r} is not a subdivision of {self.country} "
                    f"(ISO 3166-2, e.g. {sorted(known)[0]})"
                )
            if known is None and not re.fullmatch(r"[A-Z0-9]{1,3}", region):
                raise ValueError(f"region {self.region!r} is not an ISO 3166-2 subdivision code")
        postal = self.postal_code.upper() if self.postal_code else None
        if postal is not None and postal_code_problem(self.country, postal):
            raise ValueError(f"postal_code {self.postal_code!r} is not valid for {self.country}")
        object.__setattr__(self, "region", region)
        object.__setattr__(self, "postal_code", postal)
        return self


class Borrower(_Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Ann Lee"])
    locale: str = Field(default="en-US", description="BCP 47, e.g. en-US, zh-CN")
    time_zone: str | None = Field(default=None, description="IANA zone, e.g. America/New_York")
    address: Address | None = None

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return _bcp47(value)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and value not in _time_zones():
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. America/New_York")
        return value


class ContactPointDocument(_Strict):
    channel: Channel
    address: str = Field(
        min_length=1,
        max_length=4096,
        description=(
            "E.164 number (sms, call), email address (email), push token (push), postal "
            "address object (letter; the borrower's address when left out); a plugged-in "
            "channel type says what its addresses are"
        ),
    )
    consent: bool = Field(
        default=False,
        description=(
            "prior express consent to automated calls/texts at this number (TCPA); on an "
            "email address, the borrower's E-SIGN consent to receive required notices there"
        ),
    )
    workplace: bool = Field(default=False, description="the address is at the workplace")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str, info: ValidationInfo) -> str:
        channel: Channel | None = info.data.get("channel")
        if channel is None:  # the channel's own error is reported
            return value
        if channel.is_phone:
            return _cached_phone(value)
        return channel.type.normalise(value)

    @model_validator(mode="after")
    def _consented(self) -> Self:
        if self.channel.type.needs_consent and not self.consent:
            raise ValueError(
                f"a {self.channel} contact point is taken only with the borrower's consent: "
                "set consent: true once they agreed to be reached there"
            )
        return self


# The store keeps 16 digits before the decimal point (NUMERIC(20, 4)).
MAX_AMOUNT_DUE = Decimal(10**15)


Day = date  # a field named ``date`` would hide the type from the annotations after it


class ItemizationBasis(StrEnum):
    """The reference date a collector may itemize from (12 CFR 1006.34(b)(3))."""

    LAST_STATEMENT = "last_statement"
    CHARGE_OFF = "charge_off"
    LAST_PAYMENT = "last_payment"
    TRANSACTION = "transaction"
    JUDGMENT = "judgment"


class Itemization(_Strict):
    """How the debt grew from the itemization date to now (12 CFR 1006.34(c)(2)(vi)-(viii)):
    what was owed on that date, the interest, fees, payments and credits since, and the
    current amount. The figures must add up, and ``current`` is the debt's ``amount_due``.
    The validation notice prints them; without them it says "as reported by the creditor"."""

    date: Day = Field(description="the itemization date (1006.34(b)(3)), YYYY-MM-DD")
    basis: ItemizationBasis | None = Field(
        default=None, description="which reference date it is (1006.34(b)(3)(i)-(v))"
    )
    amount: Money = Field(description="owed on the itemization date (1006.34(c)(2)(vi))")
    interest: Money = Field(default=Decimal(0), description="interest charged since")
    fees: Money = Field(default=Decimal(0), description="fees charged since")
    payments: Money = Field(default=Decimal(0), description="payments made since")
    credits: Money = Field(default=Decimal(0), description="credits applied since")
    current: Money = Field(description="the amount of the debt now (1006.34(c)(2)(viii))")

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"the itemization date {value!r} is not an ISO 8601 date; write it as "
                    "YYYY-MM-DD, e.g. 2026-09-01"
                ) from None
        return value

    @model_validator(mode="after")
    def _adds_up(self) -> Self:
        if not date(1970, 1, 1) <= self.date <= date(2100, 12, 31):
            raise ValueError(f"the itemization date {self.date} is not plausible")
        for name in _ITEMIZED:
            amount = getattr(self, name)
            if amount < 0:
                raise ValueError(
                    f"{name} {amount:f} is negative: give every figure as a positive amount "
                    "(payments and credits are subtracted)"
                )
            object.__setattr__(self, name, Decimal(f"{amount:f}"))
        total = self.amount + self.interest + self.fees - self.payments - self.credits
        if total != self.current:
            raise ValueError(
                f"the itemization does not add up: amount {self.amount:f} + interest "
                f"{self.interest:f} + fees {self.fees:f} - payments {self.payments:f} - "
                f"credits {self.credits:f} = {total:f}, but current is {self.current:f}"
            )
        return self


_ITEMIZED = ("amount", "interest", "fees", "payments", "credits", "current")


class Debt(_Strict):
    amount_due: Money = Field(description='decimal string, e.g. "1250.00"', examples=["1250.00"])
    currency: str = Field(description="ISO 4217, e.g. USD", examples=["USD"])
    due_date: date
    product: str = Field(default="loan", pattern=r"^[a-z0-9_\-]{1,64}$", examples=["bnpl"])
    risk_score: float | None = Field(default=None, allow_inf_nan=False)
    itemization: Itemization | None = Field(
        default=None,
        description=(
            "the Regulation F itemization (12 CFR 1006.34(c)(2)); printed on the validation "
            "notice; kept sealed with the rest of the document"
        ),
    )

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.upper()
        if code not in _currencies():
            raise ValueError(f"{value!r} is not an ISO 4217 currency code, e.g. USD or CNY")
        return code

    @field_validator("due_date")
    @classmethod
    def _plausible(cls, value: date) -> date:
        if not date(1970, 1, 1) <= value <= date(2100, 12, 31):
            raise ValueError(f"{value} is not a plausible due date")
        return value

    @field_validator("due_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"due_date {value!r} is not an ISO 8601 date; write it as YYYY-MM-DD, "
                    "e.g. 2026-10-01"
                ) from None
        return value

    @model_validator(mode="after")
    def _amount(self) -> Self:
        if self.amount_due < 0:
            raise ValueError("amount_due must not be negative")
        if self.amount_due >= MAX_AMOUNT_DUE:
            raise ValueError(
                f"amount_due {self.amount_due:f} is beyond what an account can owe here "
                f"(below {MAX_AMOUNT_DUE:,f})"
            )
        # Kept and echoed in plain notation: "1E+3" is read as "1000".
        object.__setattr__(self, "amount_due", Decimal(f"{self.amount_due:f}"))
        places = currency_places(self.currency)
        exponent = self.amount_due.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise ValueError(
                f"amount_due {self.amount_due} has more decimals than {self.currency} allows "
                f"({places})"
            )
        if self.itemization is not None:
            for name in _ITEMIZED:
                figure = getattr(self.itemization, name)
                exponent = figure.as_tuple().exponent
                if isinstance(exponent, int) and -exponent > places:
                    raise ValueError(
                        f"itemization.{name} {figure} has more decimals than {self.currency} "
                        f"allows ({places})"
                    )
            if self.itemization.current != self.amount_due:
                raise ValueError(
                    f"itemization.current {self.itemization.current:f} is not amount_due "
                    f"{self.amount_due:f}: the itemization ends at the amount the debt is now"
                )
        return self


class EventDocument(_Strict):
    """An account event. In the API ``at`` defaults to now; a date means the start of that
    day in the borrower's zone."""

    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$",
        description="Your own id for the event (your payment's id), unique per account: a "
        "retry with the same id records nothing new and answers the original event; the same "
        "id with other content is refused (409). A payment needs one, or an `at`.",
        examples=["pay-20261003-0042"],
    )
    type: EventType
    at: datetime | date | None = None
    until: datetime | date | None = Field(
        default=None, description="promise_to_pay: the promised date"
    )
    channel: Channel | None = None
    amount: Money | None = None
    details: dict[str, str] = Field(
        default_factory=dict,
        description='contact_preference: {"not_before": "18:00", "not_after": "20:00", '
        '"days": "mon,tue,wed,thu,fri"}',
    )

    @field_validator("at", "until", mode="before")
    @classmethod
    def _when(cls, value: Any, info: Any) -> Any:
        return None if value is None else _instant_or_date(value, info.field_name)

    @model_validator(mode="after")
    def _fits_type(self) -> Self:
        kind = self.type
        if kind.needs_channel and self.channel is None:
            raise ValueError(f"a {kind} event needs a channel (sms, email, push or call)")
        if kind is EventType.PROMISE_TO_PAY and self.until is None:
            raise ValueError("a promise_to_pay event needs `until`, the promised date")
        if self.amount is not None and self.amount < 0:
            raise ValueError("amount must not be negative")
        if self.until is not None and kind is not EventType.PROMISE_TO_PAY:
            raise ValueError(f"`until` only applies to promise_to_pay, not {kind}")
        if self.details and kind not in _DETAILS:
            raise ValueError(f"`details` only applies to {', '.join(sorted(_DETAILS))}, not {kind}")
        if kind is EventType.CONTACT_PREFERENCE:
            _check_preference(self.details)
        elif kind in _DETAILS:
            _check_details(kind, self.details)
        return self

    @property
    def unkeyed_money(self) -> bool:
        """A payment with nothing to tell a retry from a second payment: no ``event_id``
        and no ``at`` (the instant would be ours, different on each retry)."""
        return self.type is EventType.PAYMENT and self.event_id is None and self.at is None


UNKEYED_PAYMENT = (
    "a payment needs `event_id` (your payment's own id) or `at` (when it was paid): without "
    "either, a retry cannot be told from a second payment"
)


DISPUTE_REASONS = ("not_mine", "wrong_amount", "already_paid", "other")

# Which details each event type takes (contact_preference is checked on its own).
_DETAILS: dict[EventType, frozenset[str]] = {
    EventType.CONTACT_PREFERENCE: frozenset({"not_before", "not_after", "days"}),
    EventType.DISPUTE: frozenset({"reason", "text"}),
    EventType.PROMISE_TO_PAY: frozenset({"plan", "instalment"}),
    EventType.CALLBACK_REQUEST: frozenset({"not_before", "not_after"}),
    EventType.NO_WORK_CONTACT: frozenset({"points"}),
}


def _check_details(kind: EventType, details: dict[str, str]) -> None:
    unknown = set(details) - _DETAILS[kind]
    if unknown:
        raise ValueError(
            f"unknown {kind} details: {', '.join(sorted(unknown))}; "
            f"use {', '.join(sorted(_DETAILS[kind]))}"
        )
    if "reason" in details and details["reason"] not in DISPUTE_REASONS:
        raise ValueError(f"dispute reason must be one of {', '.join(DISPUTE_REASONS)}")
    if len(details.get("text", "")) > 1000:
        raise ValueError("dispute text is longer than 1000 characters")
    if "plan" in details and not re.fullmatch(r"[a-z0-9_\-]{1,48}", details["plan"]):
        raise ValueError("plan must be a plan id (a-z, 0-9, _ and -)")
    if "instalment" in details and not re.fullmatch(r"\d{1,3}/\d{1,3}", details["instalment"]):
        raise ValueError("instalment must read N/M, e.g. 1/3")
    for key in ("not_before", "not_after"):
        if key in details and not _HHMM.fullmatch(details[key]):
            raise ValueError(f"{key} {details[key]!r} is not a 24-hour time HH:MM")
    if "points" in details:
        points = details["points"].split(",")
        if not all(re.fullmatch(r"[0-9a-f]{16}", p) for p in points):
            raise ValueError("points must be contact point keys (16 hex digits), comma-separated")


def _check_preference(details: dict[str, str]) -> None:
    unknown = set(details) - {"not_before", "not_after", "days"}
    if unknown:
        raise ValueError(f"unknown contact_preference details: {', '.join(sorted(unknown))}")
    if not details:
        raise ValueError("contact_preference needs details: not_before, not_after and/or days")
    for key in ("not_before", "not_after"):
        if key in details and not _HHMM.fullmatch(details[key]):
            raise ValueError(f"{key} {details[key]!r} is not a 24-hour time HH:MM")
    both = "not_before" in details and "not_after" in details
    if both and details["not_before"] >= details["not_after"]:
        raise ValueError("not_before must be earlier than not_after")
    if "days" in details:
        days = {d.strip().lower() for d in details["days"].split(",")}
        if not days or not days <= _WEEKDAYS:
            raise ValueError("days must be a comma-separated list of mon,tue,wed,thu,fri,sat,sun")


class AccountDocument(_Strict):
    """An overdue account, as the lender describes it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "external_id": "loan-88231",
                    "jurisdiction": "US-NY",
                    "borrower": {
                        "name": "Ann Lee",
                        "locale": "en-US",
                        "time_zone": None,
                        "address": {"country": "US", "region": "NY", "postal_code": "10001"},
                    },
                    "contact_points": [
                        {"channel": "sms", "address": "+12125550123", "consent": True},
                        {"channel": "email", "address": "ann@example.org"},
                    ],
                    "debt": {
                        "amount_due": "1250.00",
                        "currency": "USD",
                        "due_date": "2026-10-01",
                        "product": "bnpl",
                    },
                }
            ]
        },
    )

    external_id: ExternalId
    jurisdiction: str | None = Field(
        default=None, description="ISO 3166 country[-subdivision]; else derived from the address"
    )
    borrower: Borrower
    contact_points: list[ContactPointDocument] = Field(
        default_factory=list, max_length=MAX_CONTACT_POINTS
    )
    debt: Debt
    events: list[EventDocument] = Field(default_factory=list, max_length=MAX_EVENTS)

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if not _JURISDICTION.fullmatch(code) or code[:2] not in _countries():
            raise ValueError(f"{value!r} is not a jurisdiction such as US-NY, CN-GD, GB or AU-NSW")
        return code

    @model_validator(mode="after")
    def _events_are_keyed(self) -> Self:
        """Each payment can be told from a retry, and an event id names one event."""
        seen: dict[str, EventDocument] = {}
        for index, event in enumerate(self.events):
            if event.unkeyed_money:
                raise ValueError(f"events[{index}]: {UNKEYED_PAYMENT}")
            if event.event_id is None:
                continue
            first = seen.setdefault(event.event_id, event)
            if first != event:
                raise ValueError(
                    f"events[{index}]: event_id {event.event_id!r} is used for two different events"
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _national_numbers(cls, data: Any) -> Any:
        """Numbers written in national form are read in the address's country."""
        if not isinstance(data, dict) or not isinstance(data.get("contact_points"), list):
            return data
        region = _raw_country(data)
        if region is None:
            return data
        points = []
        for point in data["contact_points"]:
            if (
                isinstance(point, dict)
                and _channel_type(point.get("channel"), "phone_address")
                and isinstance(point.get("address"), str)
                and not point["address"].strip().startswith("+")
            ):
                # When it does not parse, the field validator reports it, with its path.
                with contextlib.suppress(ValueError):
                    point = {**point, "address": _cached_phone(point["address"], region)}
            points.append(point)
        return {**data, "contact_points": points}

    @model_validator(mode="before")
    @classmethod
    def _postal_addresses(cls, data: Any) -> Any:
        """A postal contact point (a letter's) is given as an object, or left out to use the
        borrower's own address; either way it is addressed to the borrower by name."""
        if not isinstance(data, dict) or not isinstance(data.get("contact_points"), list):
            return data
        borrower = _mapping(data.get("borrower"))
        home = _mapping(borrower.get("address"))
        points = []
        for point in data["contact_points"]:
            if isinstance(point, dict) and _channel_type(point.get("channel"), "postal_address"):
                given = point.get("address", home)
                if isinstance(given, dict):
                    keys = ("line1", "line2", "city", "region", "postal_code", "country")
                    fields = {k: given[k] for k in ("name", *keys) if given.get(k) is not None}
                    fields.setdefault("name", borrower.get("name"))
                    point = {**point, "address": json.dumps(fields, ensure_ascii=False)}
            points.append(point)
        return {**data, "contact_points": points}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen: set[tuple[Channel, str]] = set()
        for index, point in enumerate(self.contact_points):
            key = (point.channel, point.address)
            if key in seen:
                raise ValueError(
                    f"contact_points[{index}]: {point.channel} {point.address} is listed twice"
                )
            seen.add(key)
        if self.jurisdiction is None and self.borrower.address is None:
            raise ValueError(
                "give a jurisdiction (e.g. US-NY) or a borrower.address with a country"
            )
        return self


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _channel_type(name: object, flag: str) -> bool:
    """Whether ``name`` is a registered channel whose type has ``flag`` set."""
    try:
        return bool(getattr(Channel(name).type, flag))
    except ValueError:
        return False  # the channel field reports it, with its path


def _raw_country(data: dict[str, Any]) -> str | None:
    borrower = data.get("borrower")
    address = borrower.get("address") if isinstance(borrower, dict) else None
    country = address.get("country") if isinstance(address, dict) else None
    if isinstance(country, str) and len(country) == 2:
        return country.upper()
    jurisdiction = data.get("jurisdiction")
    if isinstance(jurisdiction, str) and len(jurisdiction) >= 2:
        return jurisdiction[:2].upper()
    return None


@lru_cache(maxsize=1_000)
def _bcp47(value: str) -> str:
    try:
        parsed = Locale.parse(value.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"{value!r} is not a known BCP 47 locale, e.g. en-US or zh-CN") from None
    return "-".join(part for part in (parsed.language, parsed.script, parsed.territory) if part)


@lru_cache(maxsize=100_000)
def _cached_phone(value: str, region: str | None = None) -> str:
    # Re-sent portfolios repeat their numbers; parsing is the costliest check at intake.
    return normalise_phone(value, region)
