"""A lender adds a channel type (here Telegram) from its own package, without editing this
project: the type is found through the ``orchestrator.channel_types`` entry point group and
from then on intake validates its addresses, the engine classifies it, and the template
library renders its messages by the template kind it names.

The package is ``tests/plugins/telegram``, laid out as an installed distribution (module plus
``.dist-info``); putting its folder on ``sys.path`` installs it for this process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.channel_types import (
    ChannelKind,
    ChannelTypeError,
    channel_types,
    reload_channel_types,
)
from orchestrator.compliance import decide
from orchestrator.configuration.rulepacks import load_rule_library
from orchestrator.domain import Channel
from orchestrator.intake.document import ContactPointDocument
from orchestrator.messages import TemplateLibrary
from orchestrator.messages.context import sample_context
from tests.compliance.conftest import account, utc

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
ROOT = Path(__file__).resolve().parents[2]


def _installed(folder: str) -> Iterator[None]:
    path = str(PLUGINS / folder)
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)
        sys.modules.pop(f"acme_{folder}", None)
        reload_channel_types()


@pytest.fixture
def telegram() -> Iterator[Channel]:
    installed = _installed("telegram")
    next(installed)
    reload_channel_types()
    yield Channel("telegram")
    next(installed, None)


def test_the_built_in_channels_come_from_the_same_entry_point_group() -> None:
    types = channel_types()
    assert list(types)[:4] == ["sms", "email", "push", "call"]
    assert types["call"].kind is ChannelKind.CALL
    assert [c.value for c in Channel][:4] == ["sms", "email", "push", "call"]
    assert Channel("sms") is Channel.SMS


def test_an_unknown_channel_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(ValueError, match=r"'telegram' is not a channel \(known: sms, email"):
        Channel("telegram")


def test_an_installed_package_adds_a_channel(telegram: Channel) -> None:
    assert telegram in list(Channel)
    assert telegram.kind is ChannelKind.MESSAGE
    assert telegram.is_electronic
    assert not telegram.is_phone
    assert Channel("telegram") is telegram


def test_intake_validates_addresses_the_way_the_package_says(telegram: Channel) -> None:
    point = ContactPointDocument.model_validate({"channel": "telegram", "address": " 4242424 "})
    assert (point.channel, point.address) == (telegram, "4242424")
    with pytest.raises(ValidationError, match="is not a Telegram chat id"):
        ContactPointDocument.model_validate({"channel": "telegram", "address": "@ann"})


def test_the_engine_classifies_it_as_a_message(telegram: Channel) -> None:
    pack = load_rule_library(ROOT / "config" / "compliance").pack_for("US-NY")
    late = decide(account(), [], telegram, utc(2026, 6, 2, 2, 30), pack)  # 22:30 EDT
    assert late.rule_ids == ("us.reg_f.inconvenient_time",)
    # An electronic communication: it carries the opt-out notice of 12 CFR 1006.6(e).
    assert "opt_out" in pack.required_disclosures(telegram, initial=False)
    assert "opt_out" not in pack.required_disclosures(Channel.CALL, initial=False)


def test_its_templates_are_of_the_kind_it_names(telegram: Channel, tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "en-US" / "telegram"
    folder.mkdir(parents=True)
    (folder / "due_today.j2").write_text(
        "{% block body %}\nHi {{ borrower_name }},\n{{ amount_due|money }} is due today.\n"
        "{% endblock %}\n",
        encoding="utf-8",
    )
    library = TemplateLibrary(tmp_path / "templates")
    message = library.render("due_today", telegram, "en-US", sample_context())
    assert message.body.startswith("Hi ")
    assert "\n" not in message.body
    assert message.sms is not None  # measured like a text


def test_uninstalling_the_package_removes_the_channel() -> None:
    installed = _installed("telegram")
    next(installed)
    reload_channel_types()
    assert "telegram" in Channel
    next(installed, None)
    assert "telegram" not in Channel
    with pytest.raises(ValueError, match="is not a channel"):
        Channel("telegram")


def test_a_package_whose_entry_point_is_not_a_channel_type_is_named() -> None:
    installed = _installed("broken")
    next(installed)
    try:
        with pytest.raises(ChannelTypeError, match=r"'whatsapp' = acme_broken:WHATSAPP \(from "):
            reload_channel_types()
    finally:
        next(installed, None)
    assert list(channel_types())[:4] == ["sms", "email", "push", "call"]
