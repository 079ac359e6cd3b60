"""Everything ops configure, loaded and validated together: rule packs, strategies, channels,
templates, and each tenant's own versions of them.

The files under ``config/`` are the global defaults. Ops replace a tenant's strategy, rule
overlay or channel config through the config API; each accepted version is stored
(``config_versions``, audited) and applies to that tenant from then on. A :class:`ConfigSet`
is immutable; :class:`ConfigSource` swaps in a new one only when *all* of it is valid, so a
running service never sees half a change and keeps the old version when the new one is wrong.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from orchestrator.compliance import RulePack
from orchestrator.errors import ConfigError, Problem
from orchestrator.logs import get_logger
from orchestrator.messages.library import TemplateLibrary
from orchestrator.providers import ChannelsConfig, parse_channels
from orchestrator.rulepacks import RuleLibrary, load_rule_library
from orchestrator.store.db import Store
from orchestrator.store.tables import ConfigVersion
from orchestrator.strategy import Strategy, parse_strategy

log = get_logger(__name__)

GLOBAL = "global"
DEFAULT_STRATEGY = "default"
CHECKED_LOCALES = ("en-US", "zh-CN")


class Kind(StrEnum):
    """What a stored config version is."""

    STRATEGY = "strategy"
    RULES = "rules"
    CHANNELS = "channels"


@dataclass(frozen=True)
class ConfigSet:
    """One consistent version of everything configurable.

    Parameters:
      rules: the rule library (country packs, state overlays).
      strategies: the strategy files by name; ``default`` applies to tenants without one.
      channels: the global channel config.
      templates: the message templates.
      tenant_strategies / tenant_overlays / tenant_channels: tenants' own versions, by slug.
      version: a digest of all of it, recorded with what this version decided.
    """

    rules: RuleLibrary
    strategies: Mapping[str, Strategy]
    templates: TemplateLibrary
    channels: ChannelsConfig | None = None
    tenant_strategies: Mapping[str, Strategy] = field(default_factory=dict)
    tenant_overlays: Mapping[str, RulePack] = field(default_factory=dict)
    tenant_channels: Mapping[str, ChannelsConfig] = field(default_factory=dict)
    version: str = ""
    _packs: dict[tuple[str, str], RulePack] = field(default_factory=dict, repr=False)

    def strategy_for(self, tenant: str) -> Strategy:
        return self.tenant_strategies.get(tenant) or self.strategies[DEFAULT_STRATEGY]

    def channels_for(self, tenant: str) -> ChannelsConfig:
        found = self.tenant_channels.get(tenant) or self.channels
        if found is None:
            raise ConfigError("channels", [Problem("", "no channel config is loaded")])
        return found

    def pack_for(self, jurisdiction: str, tenant: str) -> RulePack:
        """The account's rule pack: country, state overlay, tenant overlay (cached)."""
        key = (jurisdiction, tenant)
        pack = self._packs.get(key)
        if pack is None:
            pack = self.rules.pack_for(jurisdiction, self.tenant_overlays.get(tenant))
            self._packs[key] = pack
        return pack

    @property
    def lookback(self) -> timedelta:
        """How far back any rule counts contacts: history older than this never matters."""
        packs = [*self.rules.packs.values(), *self.tenant_overlays.values()]
        return max((p.lookback for p in packs), default=timedelta(days=31))


@dataclass(frozen=True, slots=True)
class StoredVersion:
    scope: str
    kind: Kind
    version: int
    content: str


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [Problem("", f"not valid YAML: {exc}")]) from None
    except OSError as exc:
        raise ConfigError(str(path), [Problem("", f"cannot read it: {exc.strerror}")]) from None


_ENV = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


def interpolate(text: str, source: str, env: Mapping[str, str] | None = None) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with environment values (URLs and hosts
    that differ per deployment; never credentials, which stay as variable names)."""
    values = os.environ if env is None else env

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = values.get(name)
        if found:
            return found
        if default is None:
            raise ConfigError(source, [Problem("", f"environment variable {name} is not set")])
        return default

    return _ENV.sub(value, text)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [Problem("", f"not valid YAML: {exc}")]) from None


def load_strategies(directory: Path) -> dict[str, Strategy]:
    strategies: dict[str, Strategy] = {}
    for path in sorted(directory.glob("*.yaml")):
        strategy = parse_strategy(read_yaml(path) or {}, str(path))
        if strategy.name in strategies:
            raise ConfigError(str(path), [Problem("name", f"{strategy.name!r} is defined twice")])
        strategies[strategy.name] = strategy
    if DEFAULT_STRATEGY not in strategies:
        raise ConfigError(str(directory), [Problem("", "no strategy named 'default'")])
    return strategies


def check_templates(strategies: list[Strategy], templates: TemplateLibrary) -> None:
    """Every template a strategy may send exists in every checked locale and renders: a
    template with an unknown variable is refused here, at load, not at 3 a.m."""
    required = sorted({pair for s in strategies for pair in s.templates()})
    templates.check(required, CHECKED_LOCALES)


def load_config(
    config_dir: Path, templates_dir: Path, stored: list[StoredVersion] | None = None
) -> ConfigSet:
    """Load and cross-check the files and the tenants' stored versions, as one set."""
    rules = load_rule_library(config_dir / "compliance")
    strategies = load_strategies(config_dir / "strategies")
    channels_file = config_dir / "channels.yaml"
    channels = (
        parse_channels(
            parse_yaml(
                interpolate(channels_file.read_text(encoding="utf-8"), str(channels_file)),
                str(channels_file),
            )
            or {},
            str(channels_file),
        )
        if channels_file.exists()
        else None
    )
    templates = TemplateLibrary(templates_dir)
    tenant_strategies: dict[str, Strategy] = {}
    tenant_overlays: dict[str, RulePack] = {}
    tenant_channels: dict[str, ChannelsConfig] = {}
    for item in stored or []:
        source = f"{item.kind} v{item.version} of {item.scope}"
        data = parse_yaml(item.content, source) or {}
        if item.kind is Kind.STRATEGY:
            tenant_strategies[item.scope] = parse_strategy(data, source)
        elif item.kind is Kind.RULES:
            tenant_overlays[item.scope] = rules.parse_overlay(data, source)
        else:
            data = parse_yaml(interpolate(item.content, source), source) or {}
            tenant_channels[item.scope] = parse_channels(data, source)
    check_templates([*strategies.values(), *tenant_strategies.values()], templates)
    digest = hashlib.sha256()
    for path in sorted(config_dir.rglob("*.yaml")) + sorted(templates_dir.rglob("*")):
        if path.is_file():
            digest.update(path.as_posix().encode())
            digest.update(path.read_bytes())
    for item in stored or []:
        digest.update(f"{item.scope}/{item.kind}/{item.version}".encode())
    return ConfigSet(
        rules,
        strategies,
        templates,
        channels=channels,
        tenant_strategies=tenant_strategies,
        tenant_overlays=tenant_overlays,
        tenant_channels=tenant_channels,
        version=digest.hexdigest()[:12],
    )


def stored_versions(store: Store) -> list[StoredVersion]:
    """The newest stored version of each (scope, kind)."""
    with store.snapshot() as conn:
        rows = conn.execute(
            sa.select(
                ConfigVersion.scope,
                ConfigVersion.kind,
                ConfigVersion.version,
                ConfigVersion.content,
            ).order_by(ConfigVersion.scope, ConfigVersion.kind, ConfigVersion.version.desc())
        ).all()
    newest: dict[tuple[str, str], StoredVersion] = {}
    for row in rows:
        newest.setdefault(
            (row.scope, row.kind),
            StoredVersion(row.scope, Kind(row.kind), row.version, row.content),
        )
    return list(newest.values())


class ConfigSource:
    """The current configuration, reloaded when its sources change.

    Parameters:
      config_dir / templates_dir: the files.
      store: where ops-edited versions are kept (``None``: files only).
      check_every: how often to look for a change (a cheap fingerprint of files and store).
      now: the clock's ``now``.
    """

    def __init__(
        self,
        config_dir: Path,
        templates_dir: Path,
        store: Store | None,
        *,
        now: Callable[[], datetime],
        check_every: timedelta = timedelta(seconds=5),
    ) -> None:
        self.config_dir = config_dir
        self.templates_dir = templates_dir
        self.store = store
        self.now = now
        self.check_every = check_every
        self.last_error: ConfigError | None = None
        self._lock = threading.Lock()
        self._fingerprint = self._sources()
        self._current = load_config(config_dir, templates_dir, self._stored())
        self._checked = now()

    def __call__(self) -> ConfigSet:
        return self.get()

    def get(self) -> ConfigSet:
        if self.now() - self._checked >= self.check_every:
            self.refresh()
        return self._current

    def refresh(self) -> bool:
        """Load a changed configuration; keep the running one if the new one is invalid.
        Returns whether a new version is now in use."""
        with self._lock:
            self._checked = self.now()
            fingerprint = self._sources()
            if fingerprint == self._fingerprint:
                return False
            self._fingerprint = fingerprint
            try:
                fresh = load_config(self.config_dir, self.templates_dir, self._stored())
            except ConfigError as exc:
                self.last_error = exc
                log.error("new configuration refused; the running one stays", error=str(exc))
                return False
            self.last_error = None
            previous, self._current = self._current, fresh
            log.info("configuration reloaded", version=fresh.version, previous=previous.version)
            return True

    def candidate(self, scope: str, kind: Kind, content: str) -> ConfigSet:
        """The configuration as it would be with ``content`` stored for ``scope``: raises
        :class:`ConfigError` (with the path of every problem) when it would be invalid."""
        stored = [v for v in self._stored() if (v.scope, v.kind) != (scope, kind)]
        stored.append(StoredVersion(scope, kind, 0, content))
        return load_config(self.config_dir, self.templates_dir, stored)

    def _stored(self) -> list[StoredVersion]:
        return stored_versions(self.store) if self.store is not None else []

    def _sources(self) -> tuple[Any, ...]:
        files = tuple(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size)
            for folder in (self.config_dir, self.templates_dir)
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        )
        newest = None
        if self.store is not None:
            with self.store.snapshot() as conn:
                newest = conn.execute(sa.select(sa.func.max(ConfigVersion.id))).scalar()
        return files, newest
