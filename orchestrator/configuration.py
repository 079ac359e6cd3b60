"""Everything ops configure, loaded and validated together: rule packs, strategies, templates.

A :class:`ConfigSet` is immutable; a new version replaces the old one only when all of it is
valid, so a running service never sees half a change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.compliance import RulePack
from orchestrator.errors import ConfigError, Problem
from orchestrator.messages.library import TemplateLibrary
from orchestrator.rulepacks import RuleLibrary, load_rule_library
from orchestrator.strategy import Strategy, parse_strategy

DEFAULT_STRATEGY = "default"
CHECKED_LOCALES = ("en-US", "zh-CN")


@dataclass(frozen=True)
class ConfigSet:
    """Rule packs, strategies and templates of one consistent version.

    Parameters:
      rules: the rule library (country packs, state overlays).
      strategies: by name; ``default`` must exist.
      templates: the message templates.
      overlays: tenant rule overlays by tenant slug (tightenings of their packs).
      tenant_strategies: which strategy a tenant uses, by tenant slug (``default`` otherwise).
      version: a digest of the sources, recorded with what this version decided.
    """

    rules: RuleLibrary
    strategies: Mapping[str, Strategy]
    templates: TemplateLibrary
    overlays: Mapping[str, RulePack] = field(default_factory=dict)
    tenant_strategies: Mapping[str, str] = field(default_factory=dict)
    version: str = ""
    _packs: dict[tuple[str, str], RulePack] = field(default_factory=dict, repr=False)

    def strategy_for(self, tenant: str) -> Strategy:
        return self.strategies[self.tenant_strategies.get(tenant, DEFAULT_STRATEGY)]

    def pack_for(self, jurisdiction: str, tenant: str) -> RulePack:
        """The account's rule pack: country, state overlay, tenant overlay (cached)."""
        key = (jurisdiction, tenant)
        pack = self._packs.get(key)
        if pack is None:
            pack = self.rules.pack_for(jurisdiction, self.overlays.get(tenant))
            self._packs[key] = pack
        return pack


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [Problem("", f"not valid YAML: {exc}")]) from None


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


def check_templates(strategies: Mapping[str, Strategy], templates: TemplateLibrary) -> None:
    """Every template a strategy may send exists in every checked locale and renders: a
    template with an unknown variable is refused here, at load, not at 3 a.m."""
    required = sorted({pair for s in strategies.values() for pair in s.templates()})
    templates.check(required, CHECKED_LOCALES)


def load_config(config_dir: Path, templates_dir: Path) -> ConfigSet:
    """Load and cross-check everything under ``config_dir`` and ``templates_dir``."""
    rules = load_rule_library(config_dir / "compliance")
    strategies = load_strategies(config_dir / "strategies")
    templates = TemplateLibrary(templates_dir)
    check_templates(strategies, templates)
    digest = hashlib.sha256()
    for path in sorted(config_dir.rglob("*.yaml")) + sorted(templates_dir.rglob("*")):
        if path.is_file():
            digest.update(path.as_posix().encode())
            digest.update(path.read_bytes())
    return ConfigSet(rules, strategies, templates, version=digest.hexdigest()[:12])
