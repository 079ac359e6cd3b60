"""The channel types this project ships, registered through the same entry point group a
lender's package uses (see ``pyproject.toml``)."""

from __future__ import annotations

from orchestrator.channel_types import ChannelKind, ChannelType
from orchestrator.channel_types.addresses import (
    email_address,
    phone_number,
    postal_address,
    push_token,
    wechat_openid,
)

SMS = ChannelType(
    name="sms",
    kind=ChannelKind.MESSAGE,
    template_kind="text",
    normalise=phone_number,
    phone_address=True,
    address_help="E.164 mobile number, e.g. +12125550123",
)
EMAIL = ChannelType(
    name="email",
    kind=ChannelKind.MESSAGE,
    template_kind="email",
    normalise=email_address,
    address_help="email address",
)
PUSH = ChannelType(
    name="push",
    kind=ChannelKind.MESSAGE,
    template_kind="push",
    normalise=push_token,
    address_help="the app's device registration token (FCM or JPush)",
)
CALL = ChannelType(
    name="call",
    kind=ChannelKind.CALL,
    template_kind="script",
    normalise=phone_number,
    phone_address=True,
    address_help="E.164 number, e.g. +12125550123",
)
LETTER = ChannelType(
    name="letter",
    kind=ChannelKind.MAIL,
    template_kind="letter",
    normalise=postal_address,
    postal_address=True,
    address_help=(
        "postal address: an object with name, line1, line2, city, region, postal_code and "
        "country (the borrower's name and address by default)"
    ),
)
WECHAT = ChannelType(
    name="wechat",
    kind=ChannelKind.MESSAGE,
    template_kind="text",
    normalise=wechat_openid,
    needs_consent=True,
    address_help=(
        "the borrower's openid for the lender's WeChat Official Account, given with the "
        "borrower's consent (consent: true)"
    ),
)
VISIT = ChannelType(
    name="visit",
    kind=ChannelKind.IN_PERSON,
    template_kind="script",
    normalise=postal_address,
    postal_address=True,
    address_help=(
        "the address a field agent visits: an object with name, line1, line2, city, region, "
        "postal_code and country (the borrower's name and address by default)"
    ),
)
