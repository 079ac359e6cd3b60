"""Logs never carry a phone number or an email address."""

from __future__ import annotations

import logging

import structlog

from orchestrator.logs import configure, mask_text


def test_numbers_and_emails_are_masked_in_text():
    text = "sent to +12125550123 and ann.lee@example.org, dialer 138 0013 8000"
    masked = mask_text(text)
    assert "+12125550123" not in masked
    assert "+1********23" in masked
    assert "ann.lee@example.org" not in masked
    assert "a***@example.org" in masked
    assert "138 0013 8000" not in masked


def test_ids_dates_and_amounts_are_left_alone():
    for text in ("task 123456 at 2026-11-02T14:00:00Z for 1250.00 USD", "/v1/accounts/loan-88231"):
        assert mask_text(text) == text


def test_structured_fields_and_standard_logging_are_masked(capsys):
    configure(fmt="json")
    structlog.get_logger("t").info("sending", to="+8613800138000", nested={"email": "x@y.cn"})
    logging.getLogger("uvicorn").warning("inbound from +447700900123")
    err = capsys.readouterr().err
    assert "+8613800138000" not in err
    assert "x@y.cn" not in err
    assert "+447700900123" not in err
    assert "+8**********00" in err
