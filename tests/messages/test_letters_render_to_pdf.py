"""Letters render to PDF in both locales: the lender's letterhead, the address block inside
the envelope's window, embedded fonts, and the template's disclosures."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError
from orchestrator.messages import TemplateLibrary
from orchestrator.messages.context import sample_context
from orchestrator.messages.letters import (
    DIN_5008_B,
    INCH,
    US_NO10,
    Letter,
    LetterFonts,
    Letterhead,
    letter_pdf,
    window_for,
)

ANN = PostalAddress("Ann Lee", "350 Fifth Avenue", "New York", "US", "10118", "NY", "Apt 5")
FANG = PostalAddress("王芳", "朝阳区建国路88号", "北京市", "CN", "100022", "BJ")
HEAD = Letterhead("Example Lender", ("1 Main Street", "Wilmington DE 19801"), "lender.example")


def media_box(pdf: bytes) -> tuple[float, float]:
    match = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert match is not None
    return float(match.group(1)), float(match.group(2))


def test_a_us_letter_is_us_letter_with_its_fonts_embedded(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "final_notice", Channel.LETTER, "en-US", sample_context(), disclosures=["debt_collector"]
    )
    assert message.body.endswith("This communication is from a debt collector.")
    assert "\n\n" in message.body  # paragraphs kept for the page
    pdf = letter_pdf(
        Letter(ANN, message.subject or "", message.body, "en-US", date(2026, 11, 30)), HEAD
    )
    assert pdf.startswith(b"%PDF-")
    assert media_box(pdf) == (612.0, 792.0)
    assert b"/FontFile2" in pdf  # TrueType embedded: print-and-mail refuses unembedded fonts
    assert b"DejaVuSans" in pdf


def test_a_chinese_letter_is_a4_in_a_chinese_face(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "final_notice", Channel.LETTER, "zh-CN", sample_context(currency="CNY"),
        disclosures=["debt_collector"],
    )  # fmt: skip
    assert message.body.endswith("本信息来自债务催收方。")
    pdf = letter_pdf(
        Letter(FANG, message.subject or "", message.body, "zh-CN", date(2026, 11, 30)), HEAD
    )
    assert media_box(pdf) == pytest.approx((595.28, 841.89), abs=0.01)
    assert b"WenQuanYi" in pdf


def test_the_same_letter_is_the_same_bytes() -> None:
    letter = Letter(ANN, "Subject", "Body.", "en-US", date(2026, 11, 30))
    assert letter_pdf(letter, HEAD) == letter_pdf(letter, HEAD)


def test_the_us_address_block_shows_in_a_no10_window_however_the_sheet_settles() -> None:
    # A #10 envelope is 4 1/8 in tall; its window is 1 1/8 in tall, 1/2 in above the bottom
    # edge. A tri-folded Letter sheet's top panel is 11/3 in, so it can sit anywhere from the
    # envelope's top to 4 1/8 - 11/3 in lower.
    window_top, window_bottom = 4.125 - 0.5 - 1.125, 4.125 - 0.5
    slack = 4.125 - 11 / 3
    top, bottom = US_NO10.top / INCH, (US_NO10.top + US_NO10.height) / INCH
    assert top >= window_top  # sheet high in the envelope
    assert bottom + slack <= window_bottom + 1e-9  # sheet low in the envelope
    assert US_NO10.left / INCH >= 0.875  # the window starts 7/8 in from the left
    assert window_for("US") is US_NO10
    assert window_for("CA") is US_NO10


def test_elsewhere_the_block_is_din_5008_form_b() -> None:
    # DIN 5008 form B: the address field starts 45 mm from the top and 20 mm from the left;
    # the addressee's own lines are its lower 27.3 mm (after the 17.7 mm endorsement zone).
    assert (DIN_5008_B.top, DIN_5008_B.height) == (45 + 17.7, 27.3)
    assert DIN_5008_B.left >= 20
    for country in ("CN", "GB", "AU"):
        assert window_for(country) is DIN_5008_B


def test_no_chinese_font_is_a_clear_error(tmp_path: Path) -> None:
    letter = Letter(FANG, "还款通知", "请尽快还款。", "zh-CN", date(2026, 11, 30))
    with pytest.raises(ConfigError, match="fonts-wqy-microhei"):
        letter_pdf(letter, HEAD, LetterFonts(cjk=tmp_path / "missing.ttc"))
