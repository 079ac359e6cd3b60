"""Aliyun sends a TemplateCode and parameters, so the borrower reads the text Aliyun
approved, not our template (issue 11 §7). Each code's approved text is declared in the
channel config and checked like a template wherever a channel config enters: lint, every
placeholder a parameter we send, and the disclosures it claims present in its words."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.configuration.source import ConfigRefused, load_config

from .conftest import YAML, as_yaml, shipped

CODE = "SMS_100000001"
FIELD = f"channels.sms.providers[1].settings.approved_texts.{CODE}"


def aliyun(data: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = data["channels"]["sms"]["providers"][1]["settings"]
    return settings


def channels_with(text: str | None, **extra: Any) -> str:
    data = copy.deepcopy(shipped("channels.yaml"))
    texts = aliyun(data)["approved_texts"]
    if text is None:
        del texts[CODE]
    else:
        texts[CODE] = {"text": text, **extra}
    return as_yaml(data)


GOOD = "${name}您好，您本期应还${amount}${currency}，请登录App还款。回复TD退订"

REFUSED = {
    "threat": (
        "${name}，逾期不还将被起诉，我们会通知您的单位。回复TD退订",
        ["lint rule legal_threat", "'起诉'"],
    ),
    "a placeholder we never send": (
        "${name}您好，请联系${collector}。回复TD退订",
        ["placeholder ${collector} is not a parameter we send"],
    ),
    "an opt-out it does not say": (
        "${name}您好，您本期应还${amount}${currency}，请登录App还款。",
        ["claims the 'opt_out' disclosure but does not say it", "回复TD退订"],
    ),
    "no opt-out at all": (
        "${name}您好，您本期应还${amount}${currency}，请登录App还款。",
        ["must carry the 'opt_out' disclosure every rule pack requires"],
    ),
}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("text", "words"), REFUSED.values(), ids=REFUSED.keys())
def test_the_config_api_refuses_an_approved_text_that_fails_a_check(
    ops, store, config_source, text, words
):
    extra = {"disclosures": []} if "must carry" in words[0] else {}
    running = config_source.get()

    response = ops.put("/v1/config/channels", content=channels_with(text, **extra), headers=YAML)

    assert response.status_code == 422, response.text
    problems = response.json()["error"]["problems"]
    assert any(p["field"] == FIELD and all(w in p["message"] for w in words) for p in problems), (
        problems
    )
    assert config_source.get() is running


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_registered_code_without_an_approved_text_is_refused(ops, store):
    response = ops.put("/v1/config/channels", content=channels_with(None), headers=YAML)

    assert response.status_code == 422, response.text
    problems = response.json()["error"]["problems"]
    assert any(
        p["field"] == "channels.sms.providers[1].settings.approved_texts"
        and f"declare the text Aliyun approved for {CODE}" in p["message"]
        for p in problems
    ), problems


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_clean_approved_text_is_accepted(ops, store):
    response = ops.put("/v1/config/channels", content=channels_with(GOOD), headers=YAML)

    assert response.status_code == 200, response.text


def test_the_files_are_refused_too(config_copy):
    config_dir, templates_dir = config_copy
    path = config_dir / "channels.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("请登录App还款。", "否则后果自负。", 1), encoding="utf-8")

    with pytest.raises(ConfigRefused) as refused:
        load_config(config_dir, templates_dir)

    assert refused.value.source == str(path)
    assert any(
        p.path == FIELD and "lint rule deception" in p.message and "'否则'" in p.message
        for p in refused.value.problems
    ), refused.value.problems
