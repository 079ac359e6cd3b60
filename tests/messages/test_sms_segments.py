"""SMS length and segments: GSM-7 160/153 septets, UCS-2 70/67 UTF-16 units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.domain import Channel
from orchestrator.messages import SmsInfo, TemplateLibrary, measure_sms, sample_context
from orchestrator.messages.sms import GSM_BASIC, GSM_EXTENSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsInfo("GSM-7", 0, 1)),
        ("a" * 160, SmsInfo("GSM-7", 160, 1)),
        ("a" * 161, SmsInfo("GSM-7", 161, 2)),
        ("a" * 306, SmsInfo("GSM-7", 306, 2)),
        ("a" * 307, SmsInfo("GSM-7", 307, 3)),
        ("€", SmsInfo("GSM-7", 2, 1)),
        ("a" * 158 + "€", SmsInfo("GSM-7", 160, 1)),
        ("a" * 159 + "€", SmsInfo("GSM-7", 161, 2)),
        ("[]{}\\^~|\f", SmsInfo("GSM-7", 18, 1)),
        ("¥£$@èÉÑü§¿¡ΔΩ", SmsInfo("GSM-7", 13, 1)),
        ("中" * 70, SmsInfo("UCS-2", 70, 1)),
        ("中" * 71, SmsInfo("UCS-2", 71, 2)),
        ("a" * 159 + "中", SmsInfo("UCS-2", 160, 3)),
        ("😀", SmsInfo("UCS-2", 2, 1)),
        ("a" * 68 + "😀", SmsInfo("UCS-2", 70, 1)),
        ("a" * 69 + "😀", SmsInfo("UCS-2", 71, 2)),
        ("ç", SmsInfo("UCS-2", 1, 1)),  # only the capital Ç is in the GSM alphabet
    ],
)
def test_encoding_characters_and_segments(text: str, expected: SmsInfo) -> None:
    assert measure_sms(text) == expected


def test_an_extension_character_is_not_split_across_segments() -> None:
    # 152 septets, then "€" (2) would straddle the 153 boundary: it moves to segment 2,
    # then 153 more septets fill segment 2 to 154 > 153 -> a third segment.
    text = "a" * 152 + "€" + "a" * 152
    info = measure_sms(text)
    assert (info.characters, info.segments) == (306, 3)


def test_an_emoji_is_not_split_across_segments() -> None:
    text = "中" * 66 + "😀" + "中" * 66
    info = measure_sms(text)
    assert (info.encoding, info.characters, info.segments) == ("UCS-2", 134, 3)


_GSM = sorted(GSM_BASIC)


@given(st.text(alphabet=_GSM, min_size=161, max_size=1000))
def test_long_gsm_texts_use_153_septet_segments(text: str) -> None:
    info = measure_sms(text)
    assert info.encoding == "GSM-7"
    assert info.segments == -(-len(text) // 153)


@given(st.text(alphabet=_GSM + sorted(GSM_EXTENSION) + ["中", "😀"], max_size=600))
def test_segments_always_hold_the_whole_text(text: str) -> None:
    info = measure_sms(text)
    single, per_segment = (160, 153) if info.encoding == "GSM-7" else (70, 67)
    if info.characters <= single:
        assert info.segments == 1
    else:
        # A closed segment is full, or one short when the next character needed two units.
        assert info.characters <= info.segments * per_segment
        assert info.characters > (info.segments - 1) * (per_segment - 1)


def test_rendered_sms_carries_its_measurements(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "due_today", Channel.SMS, "zh-CN", sample_context(currency="CNY"), disclosures=["opt_out"]
    )
    assert message.sms == measure_sms(message.body)
    assert message.sms is not None
    assert message.sms.encoding == "UCS-2"


def test_other_channels_have_no_sms_measurements(shipped: TemplateLibrary) -> None:
    message = shipped.render("courtesy_reminder", Channel.PUSH, "en-US", sample_context())
    assert message.sms is None
