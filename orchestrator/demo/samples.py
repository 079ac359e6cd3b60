"""A varied sample portfolio for the demo: several countries, zones and days past due, some
accounts disputed, some with a promise to pay, one that asked us to stop."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

# (jurisdiction, address, phone prefix and digits, currency, locale, name)
_PLACES: list[tuple[str, dict[str, str] | None, str, int, str, str]] = [
    (
        "US-NY",
        {
            "country": "US",
            "region": "NY",
            "postal_code": "10001",
            "line1": "350 Fifth Avenue",
            "city": "New York",
        },
        "+1212555",
        4,
        "USD",
        "en-US",
    ),
    (
        "US-CA",
        {
            "country": "US",
            "region": "CA",
            "postal_code": "94103",
            "line1": "1355 Market Street",
            "city": "San Francisco",
        },
        "+1415555",
        4,
        "USD",
        "en-US",
    ),
    (
        "US-TX",
        {
            "country": "US",
            "region": "TX",
            "postal_code": "75201",
            "line1": "2200 Ross Avenue",
            "city": "Dallas",
        },
        "+1214555",
        4,
        "USD",
        "en-US",
    ),
    (
        "US-MA",
        {
            "country": "US",
            "region": "MA",
            "postal_code": "02108",
            "line1": "24 Beacon Street",
            "city": "Boston",
        },
        "+1617555",
        4,
        "USD",
        "en-US",
    ),
    (
        "US-HI",
        {
            "country": "US",
            "region": "HI",
            "postal_code": "96813",
            "line1": "415 South Beretania Street",
            "city": "Honolulu",
        },
        "+1808555",
        4,
        "USD",
        "en-US",
    ),
    ("US", None, "+1312555", 4, "USD", "en-US"),
    (
        "CN-GD",
        {
            "country": "CN",
            "region": "GD",
            "postal_code": "510000",
            "line1": "天河区天河路208号",
            "city": "广州市",
        },
        "+86138001",
        5,
        "CNY",
        "zh-CN",
    ),
    (
        "CN-BJ",
        {
            "country": "CN",
            "region": "BJ",
            "postal_code": "100000",
            "line1": "朝阳区建国路88号",
            "city": "北京市",
        },
        "+86139001",
        5,
        "CNY",
        "zh-CN",
    ),
    (
        "GB",
        {
            "country": "GB",
            "region": "ENG",
            "postal_code": "SW1A 1AA",
            "line1": "10 Downing Street",
            "city": "London",
        },
        "+447400123",
        3,
        "GBP",
        "en-GB",
    ),
    (
        "AU-NSW",
        {
            "country": "AU",
            "region": "NSW",
            "postal_code": "2000",
            "line1": "1 Macquarie Street",
            "city": "Sydney",
        },
        "+61412345",
        3,
        "AUD",
        "en-AU",
    ),
]
_NAMES = {
    "en": ["Ann Lee", "Omar Haddad", "Grace Kim", "Luis Ortega", "Maya Patel", "Tom Walsh"],
    "zh": ["王芳", "李雷", "张伟", "刘洋", "陈静", "赵敏"],
}


# Every twentieth account from these offsets is at a late step today: (days past due,
# amount). The places cycle every ten accounts, so an offset fixes the place.
_LATE_STAGE = {
    0: (50, 6400),  # New York, D+50 and large: a field visit (上门)
    6: (3, 1250),  # Guangzhou, D+3: a WeChat reminder (微信)
    16: (50, 36000),  # Guangzhou, D+50 and large in yuan: a field visit
    10: (45, 1250),  # New York, D+45: the final letter (信函)
    17: (45, 2800),  # Beijing, D+45: the final letter, in Chinese
}


def _late_stage(index: int, dpd: int, amount: int) -> tuple[int, int]:
    return _LATE_STAGE.get(index % 20, (dpd, amount))


def sample_portfolio(count: int, *, today: date, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` account documents (the API's schema), due dates spread from three days ahead
    to seven weeks behind (a few at the late steps: letters and field visits), a few with
    events that hold or pause collection."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not a secret
    docs = []
    for index in range(count):
        jurisdiction, address, prefix, digits, currency, locale = _PLACES[index % len(_PLACES)]
        number = f"{prefix}{index % 10**digits:0{digits}d}"
        names = _NAMES["zh" if locale.startswith("zh") else "en"]
        points: list[dict[str, Any]] = [{"channel": "sms", "address": number, "consent": True}]
        if rng.random() < 0.75:
            points.append({"channel": "call", "address": number, "consent": rng.random() < 0.9})
        if rng.random() < 0.8:
            points.append({"channel": "email", "address": f"borrower{index}@example.org"})
        if rng.random() < 0.5:
            points.append({"channel": "push", "address": f"demo-push-token-{index:06d}"})
        if address:  # a letter goes to the borrower's own address, and so does a visit
            points += [{"channel": "letter"}, {"channel": "visit"}]
        if locale.startswith("zh"):  # followed the lender's Official Account, and agreed
            openid = f"oDemo{index:06d}WeChatOpenId0000"[:28]
            points.append({"channel": "wechat", "address": openid, "consent": True})
        dpd = rng.choice([-3, -3, 0, 0, 3, 7, 7, 10, 15, 20, 30, 45]) - rng.randint(0, 1)
        amount = rng.choice([45, 80, 350, 1250, 2800, 6400])
        # A few at the ladder's late steps, so that a short run shows them too.
        dpd, amount = _late_stage(index, dpd, amount)
        doc: dict[str, Any] = {
            "external_id": f"demo-{index:04d}",
            "jurisdiction": jurisdiction,
            "borrower": {
                "name": names[index % len(names)],
                "locale": locale,
                **({"address": address} if address else {}),
            },
            "contact_points": points,
            "debt": {
                "amount_due": f"{amount}.00" if currency != "JPY" else str(amount),
                "currency": currency,
                "due_date": (today - timedelta(days=dpd)).isoformat(),
                "product": rng.choice(["bnpl", "cash_loan", "card"]),
            },
        }
        roll = rng.random()
        if roll < 0.05:
            doc["events"] = [{"type": "dispute", "at": (today - timedelta(days=2)).isoformat()}]
        elif roll < 0.12:
            doc["events"] = [
                {
                    "type": "promise_to_pay",
                    "at": (today - timedelta(days=1)).isoformat(),
                    "until": (today + timedelta(days=2)).isoformat(),
                    "amount": f"{amount // 2}.00",
                }
            ]
        elif roll < 0.14:
            doc["events"] = [
                {"type": "cease_communication", "at": (today - timedelta(days=3)).isoformat()}
            ]
        elif roll < 0.18:
            doc["events"] = [
                {
                    "type": "contact_preference",
                    "at": (today - timedelta(days=5)).isoformat(),
                    "details": {"not_before": "18:00", "not_after": "20:00"},
                }
            ]
        docs.append(doc)
    return docs
