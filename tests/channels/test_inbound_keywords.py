"""Inbound replies are classified in one place: STOP and its kin, in English and Chinese,
stop messages; START resumes; anything else is just a reply."""

from __future__ import annotations

import pytest

from channels.keywords import Intent, classify, is_opt_out, provider_confirms


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "UNSUBSCRIBE",
        "cancel",
        "End",
        "QUIT",
        "REVOKE",
        "OPT OUT",
        "optout",
        "STOP texting me",
        "ＳＴＯＰ",  # full-width, as some handsets send it
        "退订",
        "TD",
        "td",
        "T",
        "N",
        "R",
        "请退订",
        "拒收",
        "回复退订，谢谢",
    ],
)
def test_opt_out_keywords_stop_messages(text: str) -> None:
    assert classify(text) is Intent.OPT_OUT
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["START", "unstop", "Yes"])
def test_opt_in_keywords(text: str) -> None:
    assert classify(text) is Intent.OPT_IN


@pytest.mark.parametrize("text", ["HELP", "info"])
def test_help_keywords(text: str) -> None:
    assert classify(text) is Intent.HELP


@pytest.mark.parametrize(
    "text", ["I will pay on Friday", "Thanks", "Can you stop by?", "", "   ", "TN", "好的"]
)
def test_other_replies_are_not_opt_outs(text: str) -> None:
    assert not is_opt_out(text)


def test_twilio_confirms_only_its_own_six_keywords() -> None:
    assert provider_confirms("stop")
    assert provider_confirms("Unsubscribe")
    assert not provider_confirms("REVOKE")
    assert not provider_confirms("退订")
