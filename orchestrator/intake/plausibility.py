"""Warnings about an account that is valid but looks wrong.

A document can be well-formed and still say something a lender did not mean: a debt in yuan
on a New York account, a ZIP code from another state, an amount in the billions. Refusing
such an account would stop legitimate edge cases (a borrower who moved, a lender with a
foreign-currency book), so intake accepts it and answers with these warnings, which the
lender's engineer sees in the API response and the import summary.

Each warning names the field it is about, so it reads next to the document.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel.core import get_global

from orchestrator.intake.document import AccountDocument

# Above this many major units a consumer debt is almost always a units mistake (cents sent
# as dollars, fen as yuan). Large commercial debts are legal, so this only warns.
LARGE_AMOUNT = Decimal(10_000_000)

# US ZIP codes by their first three digits (USPS's sectional centres), per state or
# territory. A few prefixes straddle a border, so a prefix may belong to several.
_US_ZIP3 = """
AL 350-369; AK 995-999; AZ 850-865; AR 716-729 755; CA 900-961; CO 800-816; CT 060-069;
DE 197-199; DC 200-205 569 888; FL 320-349; GA 300-319 398-399; HI 967-968; ID 832-838;
IL 600-629; IN 460-479; IA 500-528; KS 660-679; KY 400-427; LA 700-714; ME 039-049;
MD 205-219; MA 010-027 055; MI 480-499; MN 550-567; MS 386-397; MO 630-658 726; MT 590-599;
NE 680-693; NV 889-898; NH 030-038; NJ 070-089 099; NM 870-884; NY 005 063 100-149;
NC 270-289; ND 580-588; OH 430-459; OK 730-749; OR 970-979; PA 150-196; RI 028-029;
SC 290-299; SD 570-577; TN 370-385; TX 733 739 750-799 885; UT 840-847; VT 050-059;
VA 201 205 220-246; WA 980-994; WV 247-268; WI 530-549; WY 820-831 834;
PR 006-007 009; VI 008; AS 967; GU 969; MP 969
"""


@cache
def _zip3_states() -> dict[str, frozenset[str]]:
    states: dict[str, set[str]] = {}
    for part in _US_ZIP3.replace("\n", " ").split(";"):
        state, *spans = part.split()
        for span in spans:
            first, _, last = span.partition("-")
            for prefix in range(int(first), int(last or first) + 1):
                states.setdefault(f"{prefix:03d}", set()).add(state)
    return {prefix: frozenset(names) for prefix, names in states.items()}


@cache
def _territory_currencies(country: str) -> frozenset[str]:
    """The currencies legal tender in a country today (babel's CLDR data)."""
    found = get_global("territory_currencies").get(country, ())
    return frozenset(code for code, start, end, tender in found if end is None and tender)


def document_warnings(document: AccountDocument) -> list[str]:
    """What in a valid account document looks like a mistake, one sentence each."""
    warnings: list[str] = []
    debt = document.debt
    address = document.borrower.address
    country = document.jurisdiction[:2] if document.jurisdiction else None
    if country is None and address is not None:
        country = address.country
    if country is not None:
        legal = _territory_currencies(country)
        if legal and debt.currency not in legal:
            warnings.append(
                f"debt.currency: {debt.currency} is not the currency of {country} "
                f"({', '.join(sorted(legal))}); check the amount is in the currency meant"
            )
    if debt.amount_due >= LARGE_AMOUNT:
        warnings.append(
            f"debt.amount_due: {debt.amount_due:f} {debt.currency} is unusually large for a "
            "consumer debt; check it is in major units (dollars, not cents)"
        )
    if address is not None and address.country == "US" and address.postal_code:
        states = _zip3_states().get(address.postal_code[:3])
        region = address.region
        if region is None and document.jurisdiction and document.jurisdiction[:3] == "US-":
            region = document.jurisdiction[3:]
        if region is not None and states is not None and region not in states:
            warnings.append(
                f"borrower.address.postal_code: ZIP {address.postal_code} is in "
                f"{'/'.join(sorted(states))}, not {region}"
            )
    if (
        document.jurisdiction is not None
        and "-" in document.jurisdiction
        and address is not None
        and address.region is not None
        and document.jurisdiction != f"{address.country}-{address.region}"
    ):
        warnings.append(
            f"jurisdiction: {document.jurisdiction} differs from the address "
            f"({address.country}-{address.region}); the jurisdiction's rules apply"
        )
    return warnings
