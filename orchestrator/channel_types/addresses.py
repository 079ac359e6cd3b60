"""Contact point addresses of the built-in channel types: validated and normalised.

Each function takes the address as given and returns it normalised, or raises ``ValueError``
saying what a valid one looks like; intake reports that message under the field's path.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import cache, lru_cache

import phonenumbers
from babel import Locale
from email_validator import EmailNotValidError, validate_email


def phone_number(value: str) -> str:
    """A telephone number given in E.164 (``+12125550123``), as E.164.

    Intake also accepts national numbers, read with the borrower's country; it parses those
    itself before this check (see ``orchestrator.intake.document``).
    """
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            f"{value!r} is not a phone number ({exc._msg}); give it in E.164, e.g. +12125550123"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_address(value: str) -> str:
    """Validate and normalise an email address (the domain lower-cased, IDNA-checked)."""
    local, at, domain = value.rpartition("@")
    if at and _DOT_ATOM.fullmatch(local) and len(value) <= 254:
        # The common case, an ASCII dot-atom local part: only the domain needs the full
        # check, and domains repeat across a portfolio, so that check is cached.
        try:
            return f"{local}@{_checked_domain(domain)}"
        except ValueError:
            pass  # report the whole address, below
    return _validated_email(value)


# RFC 5322 section 3.2.3 dot-atom with ASCII atext, at most 64 octets (RFC 5321 4.5.3.1.1).
_DOT_ATOM = re.compile(
    r"(?=.{1,64}$)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)


@lru_cache(maxsize=10_000)
def _checked_domain(domain: str) -> str:
    return _validated_email(f"postmaster@{domain}").rpartition("@")[2]


def _validated_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from None


_PUSH_TOKEN = re.compile(r"^[\x21-\x7e]{16,4096}$")


def push_token(value: str) -> str:
    """A device registration token (FCM, JPush): 16 to 4096 printable ASCII characters."""
    if not _PUSH_TOKEN.fullmatch(value):
        raise ValueError("a push token is 16 to 4096 printable characters without spaces")
    return value


# Postal codes by country, where the format is fixed; elsewhere any short code is taken.
POSTAL_CODES: dict[str, re.Pattern[str]] = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CN": re.compile(r"^\d{6}$"),
    "AU": re.compile(r"^\d{4}$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"),
}
POSTAL_ANY = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{0,15}$")
# Countries whose mail is sorted by a region (state, province) that must be on the envelope.
_REGION_REQUIRED = frozenset({"US", "CA", "AU", "CN"})
LINE_LENGTH = 64  # Lob's address_line1/2 limit, and what a window shows on one line


@cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (from the CLDR territories Babel ships)."""
    territories = Locale("en").territories
    return frozenset(
        code
        for code in territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha() and code != "ZZ"
    )


def postal_code_problem(country: str, postal_code: str) -> str | None:
    """Why ``postal_code`` is not a postal code of ``country`` (upper-cased), or ``None``."""
    if not POSTAL_CODES.get(country, POSTAL_ANY).fullmatch(postal_code):
        return f"postal_code {postal_code!r} is not valid for {country}"
    return None


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A deliverable postal address: what a letter is sent to and a field visit goes to.

    Parameters:
      name: the addressee, as printed in the window (the borrower's name by default).
      line1, line2: street, number, flat.
      city: the post town or city.
      region: the state, province or territory code (ISO 3166-2 without the country) where
        the post sorts by it (US, CA, AU, CN).
      postal_code: upper-cased; checked against the country's format.
      country: ISO 3166-1 alpha-2.
    """

    name: str
    line1: str
    city: str
    country: str
    postal_code: str = ""
    region: str = ""
    line2: str = ""

    def text(self) -> str:
        """The canonical stored form: compact JSON with sorted keys (empty fields left out)."""
        fields = {k: v for k, v in asdict(self).items() if v}
        return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def lines(self, home: str = "") -> list[str]:
        """The address block, line by line, in the order the country's post reads it.

        Parameters:
          home: the sender's country; the country line is printed only for mail abroad.
        """
        abroad = [self.country] if self.country != home else []
        if self.country == "CN":  # from the largest unit down, the addressee last
            block = [self.postal_code, self.city, self.line1, self.line2, self.name, *abroad]
        elif self.country == "GB":  # post town and postcode on lines of their own
            block = [self.name, self.line1, self.line2, self.city, self.postal_code, *abroad]
        else:
            place = " ".join(p for p in (self.city, self.region, self.postal_code) if p)
            block = [self.name, self.line1, self.line2, place, *abroad]
        return [line for line in block if line]

    @classmethod
    def parse(cls, text: str) -> PostalAddress:
        """The stored form back (validated again)."""
        return cls(**_postal_fields(text))


def _postal_fields(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(
            "a postal address is an object with name, line1, line2, city, region, "
            "postal_code and country"
        ) from None
    if not isinstance(data, dict):
        raise ValueError('a postal address is an object, e.g. {"line1": ..., "city": ...}')
    allowed = {"name", "line1", "line2", "city", "region", "postal_code", "country"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"unknown postal address field {unknown[0]!r} (known: {sorted(allowed)})")
    fields: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"postal address field {key} must be a string")
        fields[key] = " ".join(value.split())
    for key in ("name", "line1", "city", "country"):
        if not fields.get(key):
            raise ValueError(f"a deliverable postal address needs {key}")
    for key in ("name", "line1", "line2", "city"):
        if len(fields.get(key, "")) > LINE_LENGTH:
            raise ValueError(f"postal address {key} is longer than {LINE_LENGTH} characters")
    country = fields["country"] = fields["country"].upper()
    if country not in countries():
        raise ValueError(f"{country!r} is not an ISO 3166-1 alpha-2 country code, e.g. US")
    if "region" in fields:
        fields["region"] = fields["region"].upper()
    elif country in _REGION_REQUIRED:
        raise ValueError(f"a postal address in {country} needs its region (e.g. state)")
    postal = fields.get("postal_code", "").upper()
    if postal:
        problem = postal_code_problem(country, postal)
        if problem:
            raise ValueError(problem)
        fields["postal_code"] = postal
    elif country in POSTAL_CODES:
        raise ValueError(f"a postal address in {country} needs its postal_code")
    return fields


def postal_address(value: str) -> str:
    """A postal address given as its JSON object text, in the canonical stored form."""
    return PostalAddress.parse(value).text()


_OPENID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def wechat_openid(value: str) -> str:
    """A WeChat openid: the borrower's id for one Official Account (28 characters of
    letters, digits, ``-`` and ``_`` as issued; 16 to 64 accepted)."""
    text = value.strip()
    if not _OPENID.fullmatch(text):
        raise ValueError(
            "a WeChat openid is 16 to 64 letters, digits, '-' or '_' "
            "(e.g. oUpF8uMuAJO_M2pxb1Q9zNjWeS6o), as the lender's Official Account issued it"
        )
    return text
