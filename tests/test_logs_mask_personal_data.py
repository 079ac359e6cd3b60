"""Logs never carry a phone number, an email address or a push token, and leave times,
dates, UUIDs and ids readable so operators can correlate lines (issue 11 §8, 18 §6)."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta, timezone

import structlog
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.logs import configure, mask_text

FCM_TOKEN = "dXkS3jRpQmWb0yGq1Zx7Yc:APA91bHPRgkF" + "kT3lq9Xw_yV-0aBcDeFgHiJkLmNoPqRsTuVwXyZ" * 3


def test_numbers_and_emails_are_masked_in_text():
    text = "sent to +12125550123 and ann.lee@example.org, dialer 138 0013 8000"
    masked = mask_text(text)
    assert "+12125550123" not in masked
    assert "+1********23" in masked
    assert "ann.lee@example.org" not in masked
    assert "a***@example.org" in masked
    assert "138 0013 8000" not in masked


def test_national_formats_are_masked():
    for number in ("(212) 555-0123", "212-555-0123", "212.555.0123", "2125550123", "13800138000"):
        assert number not in mask_text(f"to {number}."), number


def test_internationalised_emails_are_masked():
    masked = mask_text("reply from ännä@exämple.org and 李雷@例子.中国")
    assert "ännä@" not in masked
    assert "ä***@exämple.org" in masked
    assert "李雷@" not in masked


def test_push_tokens_are_masked():
    masked = mask_text(f"push to {FCM_TOKEN} failed")
    assert FCM_TOKEN not in masked
    assert masked == f"push to {FCM_TOKEN[:4]}…{FCM_TOKEN[-4:]} failed"
    assert mask_text("jpush to 1a0018970a5c5a8a1d7 ok") == "jpush to 1a00…a1d7 ok"


def test_ids_dates_and_amounts_are_left_alone():
    for text in (
        "task 123456 at 2026-11-02T14:00:00Z for 1250.00 USD",
        "/v1/accounts/loan-88231",
        "next run at: 2026-11-28 04:32:06 UTC",
        "message_id=031852e4-4a12-4f29-9b1c-0a1b2c3d4e5f",
        "biz_id=1764302400123456^0 out_id=att-0001 code SMS_100000001",
        "expires=1764302400 version db941e2b3dfe",
        "scheduler leadership token=5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f",
        "before=2026-11-28T12:52:30.187262Z|9223372036854775808",
    ):
        assert mask_text(text) == text


uuids = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: u.hex))
timestamps = st.datetimes(
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    )
).map(lambda d: d.isoformat())
dates_and_times = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.times().map(lambda t: t.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz =,;", max_size=12)


@given(value=st.one_of(uuids, timestamps, dates_and_times), before=words, after=words)
def test_uuids_and_timestamps_are_never_masked(value, before, after):
    text = f"{before} {value} {after}"
    assert mask_text(text) == text


@given(
    number=st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True),
    before=words,
    after=words,
)
def test_e164_numbers_are_always_masked(number, before, after):
    masked = mask_text(f"{before} {number} {after}")
    assert number not in masked
    assert number[-2:] in masked  # enough to tell two numbers apart, no more


def test_structured_fields_and_standard_logging_are_masked(capsys):
    configure(fmt="json")
    structlog.get_logger("t").info(
        "sending",
        to="+8613800138000",
        nested={"email": "x@y.cn"},
        registration_id="1a0018970a5c5a8a1d7",
    )
    logging.getLogger("uvicorn").warning("inbound from +447700900123")
    err = capsys.readouterr().err
    assert "+8613800138000" not in err
    assert "x@y.cn" not in err
    assert "+447700900123" not in err
    assert "+8**********00" in err
    assert "1a0018970a5c5a8a1d7" not in err  # a JPush id, masked by its field's name


def test_apscheduler_routine_lines_are_left_out_by_default(capsys):
    configure(fmt="json")
    logging.getLogger("apscheduler.executors.default").info('Job "plan" executed')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    err = capsys.readouterr().err
    assert "executed" not in err
    assert "was missed" in err

    configure(level="DEBUG", fmt="json")
    logging.getLogger("apscheduler.executors.default").info('Job "plan" executed')
    assert "executed" in capsys.readouterr().err
