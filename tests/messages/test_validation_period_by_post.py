"""A validation notice by post: the borrower is assumed to receive it five days after it is
posted, not counting Saturdays, Sundays and legal public holidays, and may dispute for 30
days after that (12 CFR 1006.34(b)(5))."""

from __future__ import annotations

from datetime import date

import pytest

from orchestrator.messages.account_context import mail_respond_by


@pytest.mark.parametrize(
    ("posted", "respond_by"),
    [
        # Mon 2 Nov 2026: received Mon 9 Nov (Tue-Fri, Mon), 30 days later 9 Dec.
        (date(2026, 11, 2), date(2026, 12, 9)),
        # Mon 23 Nov: Thanksgiving (Thu 26) does not count: received Tue 1 Dec, ends 31 Dec.
        (date(2026, 11, 23), date(2026, 12, 31)),
        # Fri 6 Nov: the weekend and Veterans Day (Wed 11) do not count: received Mon 16 Nov.
        (date(2026, 11, 6), date(2026, 12, 16)),
        # Mon 28 Dec: New Year's Day (Fri 1 Jan 2027) does not count: received Tue 5 Jan.
        (date(2026, 12, 28), date(2027, 2, 4)),
    ],
)
def test_the_period_counts_from_the_assumed_day_of_receipt(posted, respond_by):
    assert mail_respond_by(posted, "US") == respond_by
