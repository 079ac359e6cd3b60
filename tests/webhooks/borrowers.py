"""The borrowers the webhook tests report on: their numbers and the due dates that give
them a step on each channel today (the suite's clock: 2026-11-02 15:00 UTC, 10:00 in New
York, 23:00 in Beijing)."""

from __future__ import annotations

from typing import Any

from orchestrator.domain import Channel
from tests.factories import account_document

NUMBER = "+12125550123"  # Ann Lee's mobile (SMS and calls), as in tests/factories.py
EMAIL = "ann@example.org"
PUSH_TOKEN = "fcm-registration-token"
CN_NUMBER = "+8613800138000"
OUR_NUMBER = "+15005550006"  # the sender in config/channels.yaml

# Due dates that give an account a step on each channel today in both variants of the
# default strategy: the SMS due-day reminder, the D+10 email notice, the D+15 call, the D-3
# push courtesy reminder.
DUE_FOR = {
    Channel.SMS: "2026-11-02",
    Channel.EMAIL: "2026-10-23",
    Channel.CALL: "2026-10-18",
    Channel.PUSH: "2026-11-05",
}


def us_borrower(
    external_id: str, channel: Channel, *, due_date: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """Ann Lee in New York (Regulation F) with a step on ``channel`` due today, or owing
    since ``due_date``."""
    debt = {"amount_due": "1250.00", "currency": "USD", "product": "bnpl"}
    debt["due_date"] = due_date or DUE_FOR[channel]
    return account_document(external_id, debt=debt, **overrides)


def cn_borrower(external_id: str, channel: Channel = Channel.SMS) -> dict[str, Any]:
    """A borrower in Guangdong (the NIFA pack, zh-CN, a mainland mobile number) with a step
    on ``channel`` due today."""
    return account_document(
        external_id,
        jurisdiction="CN-GD",
        borrower={
            "name": "李雷",
            "locale": "zh-CN",
            "time_zone": None,
            "address": {"country": "CN", "region": "GD", "postal_code": "510000"},
        },
        contact_points=[
            {"channel": "sms", "address": CN_NUMBER, "consent": True},
            {"channel": "call", "address": CN_NUMBER, "consent": True},
        ],
        debt={
            "amount_due": "3000.00",
            "currency": "CNY",
            "due_date": DUE_FOR[channel],
            "product": "cash_loan",
        },
    )
