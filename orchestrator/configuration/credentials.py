"""The credentials a channel config names, and which of them a tenant may use.

Credentials never appear in a config: an adapter setting ending in ``_env`` holds the *name*
of the environment variable that holds the secret (``auth_token_env: TWILIO_AUTH_TOKEN``).
These are the platform's secrets, in every worker's environment. A tenant's own channel
config (stored through the config API) could otherwise name one of them and point the
adapter at a server of its choosing, which would send it the platform's token. So a tenant
may name a platform credential only together with the platform's own endpoint for that
adapter, exactly as ``config/channels.yaml`` configures it. Its own credentials are
variables that start with its slug and two underscores (``ACME__TWILIO_AUTH_TOKEN`` for
tenant ``acme``), a prefix no other tenant's variable can start with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.registry import adapter_class
from orchestrator.configuration.channel_config import ChannelsConfig, ProviderConfig
from orchestrator.errors import Problem

_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential setting of one provider.

    Parameters:
      path: where it is in the channel config
        (``channels.sms.providers[0].settings.auth_token_env``).
      adapter: the provider's adapter.
      setting: the setting's name (``auth_token_env``).
      variable: the environment variable it names.
      settings: the provider's settings, defaults filled in.
    """

    path: str
    adapter: str
    setting: str
    variable: str
    settings: Mapping[str, Any]

    @property
    def endpoints(self) -> dict[str, Any]:
        """The settings that say where requests go (``base_url``, ``token_url``)."""
        return {k: v for k, v in self.settings.items() if "url" in k}


def credentials(channels: ChannelsConfig) -> list[Credential]:
    """Every credential a (validated) channel config names, defaults included: an adapter
    that leaves ``auth_token_env`` out still reads its default variable."""
    found = []
    for channel, config in channels.channels.items():
        for index, provider in enumerate(config.providers):
            settings = (
                adapter_class(provider.adapter)
                .Settings.model_validate(provider.settings)
                .model_dump()
            )
            for name, value in settings.items():
                if name.endswith("_env") and value:
                    found.append(
                        Credential(
                            f"channels.{channel}.providers[{index}].settings.{name}",
                            provider.adapter,
                            name,
                            str(value),
                            settings,
                        )
                    )
    return found


def naming_problems(channels: ChannelsConfig) -> list[Problem]:
    """Credential settings that do not hold a variable name (a secret pasted in instead)."""
    return [
        Problem(
            c.path,
            "must name an environment variable (upper-case letters, digits, _), "
            "never hold the credential itself",
        )
        for c in credentials(channels)
        if not _VARIABLE.fullmatch(c.variable)
    ]


_OWN_NAME = re.compile(r"^[A-Z0-9]+(_[A-Z0-9]+)*$")


def tenant_prefix(scope: str) -> str:
    """The prefix of a tenant's own credential variables: ``acme-eu`` → ``ACME_EU__``."""
    return scope.upper().replace("-", "_") + "__"


def is_tenants_own(variable: str, scope: str) -> bool:
    """``variable`` is one of tenant ``scope``'s own: its prefix, then a name with no
    leading or doubled underscore. That rest can never continue into another tenant's
    longer prefix (``ACME__`` vs ``ACME_EU__``, ``A__`` vs ``A__B__`` for ``a--b``)."""
    prefix = tenant_prefix(scope)
    return variable.startswith(prefix) and bool(_OWN_NAME.fullmatch(variable[len(prefix) :]))


def tenant_problems(
    channels: ChannelsConfig, platform: ChannelsConfig | None, scope: str
) -> list[Problem]:
    """Credentials a tenant's channel config may not use: a platform variable with an
    endpoint the platform does not use it with.

    Parameters:
      channels: the tenant's channel config.
      platform: the files' channel config (``None``: the platform has no credentials).
      scope: the tenant's slug.
    """
    allowed = {
        (c.adapter, c.setting, c.variable, _frozen(c.endpoints))
        for c in (credentials(platform) if platform is not None else [])
    }
    prefix = tenant_prefix(scope)
    problems = []
    for c in credentials(channels):
        if is_tenants_own(c.variable, scope):
            continue
        if (c.adapter, c.setting, c.variable, _frozen(c.endpoints)) in allowed:
            continue
        where = ", ".join(sorted(c.endpoints)) or "endpoint"
        problems.append(
            Problem(
                c.path,
                f"{c.variable} is a platform credential: a tenant may use it only with the "
                f"platform's own {where} for {c.adapter} (as config/channels.yaml has it); "
                f"name a variable of your own: {prefix}NAME",
            )
        )
    return problems


def missing(channels: ChannelsConfig, env: Mapping[str, str] | None = None) -> list[Problem]:
    """Credential variables that are not set (or empty) in ``env`` (default: this process's
    environment)."""
    values = os.environ if env is None else env
    return [
        Problem(c.path, f"environment variable {c.variable} is not set")
        for c in credentials(channels)
        if _VARIABLE.fullmatch(c.variable) and not values.get(c.variable)
    ]


def _frozen(mapping: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in mapping.items()))


def variables_of(provider: ProviderConfig) -> tuple[str, ...]:
    """The credential variables a provider block reads (its adapter's defaults included)."""
    settings = adapter_class(provider.adapter).Settings.model_validate(provider.settings)
    return tuple(
        sorted(str(v) for k, v in settings.model_dump().items() if k.endswith("_env") and v)
    )


@dataclass(frozen=True, slots=True)
class InUse:
    """Whose provider account a tenant's provider block sends through.

    Parameters:
      key: what its circuit breaker and rate limit are keyed by: the adapter's name for
        the platform's account (one circuit and one bucket, whichever tenant sends), the
        adapter and tenant for a tenant's own account.
      platform: the platform's provider block when the platform's credentials are used
        (its limits and breaker settings apply), else ``None``.
    """

    key: str
    platform: ProviderConfig | None


def in_use(
    provider: ProviderConfig, platform: ChannelsConfig | None, scope: str, *, own_config: bool
) -> InUse:
    """Whose credentials ``provider`` (from tenant ``scope``'s channel config when
    ``own_config``, else the platform's) sends with, and so which limits apply.

    A tenant's block that names any platform variable uses the platform's account: the
    platform's block for that adapter that reads the variable is its counterpart.
    """
    if platform is None:
        return InUse(f"{provider.adapter}@{scope}" if own_config else provider.adapter, None)
    used = set(variables_of(provider))
    if own_config:
        used = {v for v in used if not is_tenants_own(v, scope)}
        if not used:
            return InUse(f"{provider.adapter}@{scope}", None)
    same_adapter = [
        p
        for config in platform.channels.values()
        for p in config.providers
        if p.adapter == provider.adapter
    ]
    for index, candidate in enumerate(same_adapter):
        if used & set(variables_of(candidate)) or (not used and not own_config):
            key = provider.adapter if index == 0 else f"{provider.adapter}#{index}"
            return InUse(key, candidate)
    # A platform variable the platform reads with another adapter (refused at load); keep
    # it apart from every other tenant all the same.
    return InUse(f"{provider.adapter}@{scope}", None)
