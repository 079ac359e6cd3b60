"""What a tenant's provider block may say, beside the platform's.

A tenant that sends through the *platform's* provider account (its block names a platform
credential variable) sends as the platform: the whole block is pinned to the platform's
own, except the settings its adapter declares safe per tenant (``tenant_fields``, e.g. a
timeout). Whom a message is from (``sender_fields``: a number, an address, a sign name,
approved template codes) may be the platform's own value or one the platform's config lists
for that tenant under ``tenant_senders``; nothing else, so no tenant can send as another's
number or brand. Compliance toggles (``stricter``: the limited-content voicemail control,
STARTTLS, webhook tolerance windows) are treated like legal rules whatever account is used:
a tenant may tighten them against the platform's, never loosen them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from channels.egress import Egress, EgressRefused
from channels.registry import adapter_class
from orchestrator.configuration import credentials
from orchestrator.configuration.channel_config import ChannelsConfig, ProviderConfig
from orchestrator.errors import Problem


def problems(
    channels: ChannelsConfig,
    platform: ChannelsConfig | None,
    scope: str,
    *,
    egress: Egress | None = None,
) -> list[Problem]:
    """Every way tenant ``scope``'s channel config strays from what the platform lets it
    set (empty when it stays within).

    Parameters:
      channels: the tenant's channel config (its credentials already checked).
      platform: the files' channel config (``None``: nothing to compare with).
      scope: the tenant's slug.
      egress: where the workers may connect (default: from the environment).
    """
    egress = egress or Egress.from_environment()
    found: list[Problem] = []
    for path, provider in _blocks(channels):
        if provider.tenant_senders:
            found.append(
                Problem(
                    f"{path}.tenant_senders",
                    "only the platform's config/channels.yaml declares which senders a "
                    "tenant may use",
                )
            )
        used = credentials.in_use(provider, platform, scope, own_config=True)
        settings = _settings(provider)
        if used.platform is not None:
            found += _pinned(path, provider, settings, used.platform, scope)
        baseline = used.platform or _first(platform, provider.adapter)
        found += _loosened(path, provider.adapter, settings, baseline)
        if not is_platform_endpoint(provider, platform):
            found += _unreachable(path, provider.adapter, settings, egress)
    return found


def _unreachable(
    path: str, adapter: str, settings: Mapping[str, Any], egress: Egress
) -> list[Problem]:
    """Endpoints a tenant named that the workers may not call: not https (not smtps or
    STARTTLS for SMTP), or a host inside our network. A name that does not resolve now is
    accepted: the guard checks it again at every connection."""
    found = []
    for name, url in endpoints(settings).items():
        if not url:
            continue
        where = f"{path}.settings.{name}"
        parts = urlsplit(str(url))
        try:
            host, port = parts.hostname or "", parts.port
        except ValueError:
            host, port = "", None
        if not host:
            found.append(Problem(where, f"{url!r} is not a URL with a host and a valid port"))
            continue
        development = egress.allow_loopback and _is_loopback_name(host)
        secure = parts.scheme == "https" or (
            adapter == "smtp_email"
            and (
                parts.scheme == "smtps"
                or (parts.scheme == "smtp" and bool(settings.get("starttls")))
            )
        )
        if not secure and not development:
            wanted = (
                "smtps://, or smtp:// with starttls: true"
                if adapter == "smtp_email"
                else "https://"
            )
            found.append(Problem(where, f"a tenant's provider endpoint must use {wanted}"))
            continue
        try:
            egress.addresses(host, port or 443)
        except EgressRefused as exc:
            if not exc.unresolved:
                found.append(
                    Problem(
                        where,
                        f"{host} is not a public address: a provider endpoint must be "
                        "reachable on the internet, never inside the platform's network",
                    )
                )
    return found


def _is_loopback_name(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _blocks(channels: ChannelsConfig) -> Iterator[tuple[str, ProviderConfig]]:
    for channel, config in channels.channels.items():
        for index, provider in enumerate(config.providers):
            yield f"channels.{channel}.providers[{index}]", provider


def _settings(provider: ProviderConfig) -> dict[str, Any]:
    """The block's settings with its adapter's defaults filled in."""
    return dict(
        adapter_class(provider.adapter).Settings.model_validate(provider.settings).model_dump()
    )


def _first(platform: ChannelsConfig | None, adapter: str) -> ProviderConfig | None:
    if platform is None:
        return None
    return next((p for _, p in _blocks(platform) if p.adapter == adapter), None)


def _pinned(
    path: str,
    provider: ProviderConfig,
    settings: Mapping[str, Any],
    platform: ProviderConfig,
    scope: str,
) -> list[Problem]:
    cls = adapter_class(provider.adapter).Settings
    theirs = _settings(platform)
    allowed = platform.tenant_senders.get(scope, {})
    found = []
    for name, value in settings.items():
        if name in cls.tenant_fields or name in cls.stricter or value == theirs.get(name):
            continue
        where = f"{path}.settings.{name}"
        if name in cls.sender_fields:
            if _sender_allowed(value, theirs.get(name), allowed.get(name, ())):
                continue
            found.append(
                Problem(
                    where,
                    f"{value!r} is not a sender the platform allows {scope} on its "
                    f"{provider.adapter} account: use the platform's ({theirs.get(name)!r}), "
                    "one listed for you under tenant_senders in config/channels.yaml, or "
                    "a provider account of your own",
                )
            )
            continue
        found.append(
            Problem(
                where,
                f"with the platform's {provider.adapter} credentials this setting is the "
                f"platform's ({theirs.get(name)!r}); a tenant may set only "
                f"{', '.join(sorted(cls.tenant_fields | cls.sender_fields))} there",
            )
        )
    return found


def _sender_allowed(value: Any, platforms: Any, allowed: tuple[str, ...]) -> bool:
    """A sender value, or each code of a template-code mapping, is the platform's own or
    on the tenant's allow-list."""
    if isinstance(value, Mapping):
        own = platforms if isinstance(platforms, Mapping) else {}
        return all(code == own.get(template) or code in allowed for template, code in value.items())
    return value is None or value == platforms or value in allowed


def _loosened(
    path: str, adapter: str, settings: Mapping[str, Any], baseline: ProviderConfig | None
) -> list[Problem]:
    cls = adapter_class(adapter).Settings
    reference = (
        _settings(baseline)
        if baseline is not None
        else cls.model_validate({"base_url": ""}).model_dump()
    )
    found = []
    for name, direction in cls.stricter.items():
        mine, theirs = settings.get(name), reference.get(name)
        if direction == "true" and theirs and not mine:
            found.append(
                Problem(
                    f"{path}.settings.{name}",
                    f"{name} is on in the platform's {adapter} config: a tenant may tighten "
                    "a compliance setting, never loosen it",
                )
            )
        if direction == "lower" and theirs is not None and mine is not None and mine > theirs:
            found.append(
                Problem(
                    f"{path}.settings.{name}",
                    f"{mine} is above the platform's {theirs} for {adapter}: a tenant may "
                    "tighten a compliance setting, never loosen it",
                )
            )
    return found


def endpoints(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that say where requests go (``base_url``, ``token_url``)."""
    return {k: v for k, v in settings.items() if k.endswith("url")}


def is_platform_endpoint(provider: ProviderConfig, platform: ChannelsConfig | None) -> bool:
    """``provider`` sends where one of the platform's own blocks for its adapter sends."""
    if platform is None:
        return False
    mine = endpoints(_settings(provider))
    return any(
        endpoints(_settings(p)) == mine
        for _, p in _blocks(platform)
        if p.adapter == provider.adapter
    )
