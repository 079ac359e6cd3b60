"""Everything ops configure, loaded and validated together: rule packs, strategies, channels,
templates, and each tenant's own versions of them.

The files under ``config/`` are the global defaults. Ops replace a tenant's strategy, rule
overlay or channel config through the config API; each accepted version is stored
(``config_versions``, the audit record) and applies to that tenant from then on. A
:class:`ConfigSet` is immutable; :class:`ConfigSource` swaps in a new one only when *all* of it
is valid, so a running service never sees half a change and keeps the old version when the
new one is wrong (``last_error`` says why).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orchestrator.compliance import RulePack
from orchestrator.configuration import credentials, tenant_providers
from orchestrator.configuration.channel_config import ChannelsConfig
from orchestrator.configuration.files import (
    CHECKED_LOCALES,
    DEFAULT_STRATEGY,
    FILES,
    ConfigRefused,
    FileConfig,
    Refusals,
    channels_from,
    check_approved_texts,
    check_strategy_templates,
    check_templates,
    electronic_disclosures,
    interpolate,
    load_files,
    load_strategies,
    parse_mapping,
    parse_yaml,
    read_yaml,
    variable_uses,
)
from orchestrator.configuration.rulepacks import RuleLibrary
from orchestrator.configuration.strategies import Strategy, parse_strategy
from orchestrator.configuration.tenant_templates import TenantTemplates, tenant_library
from orchestrator.configuration.versions import Kind, StoredVersion, content_sha256, stored_versions
from orchestrator.errors import ConfigError, Problem
from orchestrator.logs import get_logger
from orchestrator.messages.library import TemplateLibrary
from orchestrator.store.db import Store
from orchestrator.store.tables import ConfigVersion

__all__ = [
    "CHECKED_LOCALES",
    "DEFAULT_STRATEGY",
    "FILES",
    "GLOBAL",
    "ConfigRefused",
    "ConfigSet",
    "ConfigSource",
    "InForce",
    "Kind",
    "StoredVersion",
    "assemble",
    "check_templates",
    "current_files",
    "interpolate",
    "load_config",
    "load_strategies",
    "parse_yaml",
    "read_yaml",
    "stored_versions",
]

log = get_logger(__name__)

GLOBAL = "global"


@dataclass(frozen=True, slots=True)
class InForce:
    """One kind of config as it applies to one tenant in a running :class:`ConfigSet`.

    Parameters:
      kind: strategy, rules, channels or templates.
      source: ``tenant`` (a version of its own) or ``file`` (the file default).
      version: the tenant's version in force; ``None`` if it never had one. A version that
        returned the tenant to the file default keeps its number.
      content / sha256: the YAML that applies (``None`` for rules without a tenant overlay:
        the packs in ``path`` apply as shipped).
      path: the file default's file or folder.
      created_by / created_at: who stored ``version``, and when.
    """

    kind: Kind
    source: str
    version: int | None
    content: str | None
    sha256: str | None
    path: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ConfigSet:
    """One consistent version of everything configurable.

    Parameters:
      rules: the rule library (country packs, state overlays).
      strategies: the strategy files by name; ``default`` applies to tenants without one.
      channels: the global channel config.
      templates: the message templates.
      tenant_strategies / tenant_overlays / tenant_channels / tenant_templates: tenants'
        own versions, by slug.
      version: a digest of all of it, recorded with what this version decided.
      stored: the stored versions this set was built from, by (tenant, kind).
      files: the files it was built from.
      suspended: tenants whose stored version was refused when this process started, and
        why: nothing is planned or sent for them (see :func:`assemble`).
    """

    rules: RuleLibrary
    strategies: Mapping[str, Strategy]
    templates: TemplateLibrary
    channels: ChannelsConfig | None = None
    tenant_strategies: Mapping[str, Strategy] = field(default_factory=dict)
    tenant_overlays: Mapping[str, RulePack] = field(default_factory=dict)
    tenant_channels: Mapping[str, ChannelsConfig] = field(default_factory=dict)
    tenant_templates: Mapping[str, TenantTemplates] = field(default_factory=dict)
    version: str = ""
    stored: Mapping[tuple[str, Kind], StoredVersion] = field(default_factory=dict)
    files: FileConfig | None = None
    suspended: Mapping[str, ConfigError] = field(default_factory=dict)
    _packs: dict[tuple[str, str], RulePack] = field(default_factory=dict, repr=False)

    def strategy_for(self, tenant: str) -> Strategy:
        return self.tenant_strategies.get(tenant) or self.strategies[DEFAULT_STRATEGY]

    def templates_for(self, tenant: str) -> TemplateLibrary:
        """The templates ``tenant``'s messages render from: its own texts over the folder."""
        return self.tenant_templates.get(tenant) or self.templates

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

    def lookback_for(self, tenant: str) -> timedelta:
        """How far back any rule that applies to ``tenant`` counts contacts: history older
        than this never matters to its accounts. Per tenant: one tenant's long policy period
        makes only its own planning and dispatch read further back."""
        packs = [*self.rules.packs.values()]
        overlay = self.tenant_overlays.get(tenant)
        if overlay is not None:
            packs.append(overlay)
        return max((p.lookback for p in packs), default=timedelta(days=31))

    def in_force(self, tenant: str, kind: Kind) -> InForce:
        """What applies to ``tenant`` for ``kind``, and where it came from."""
        item = self.stored.get((tenant, kind))
        if item is not None and not item.is_file_default:
            return InForce(
                kind,
                "tenant",
                item.version,
                item.content,
                item.sha256,
                created_by=item.created_by,
                created_at=item.created_at,
            )
        default = self.files.defaults.get(kind) if self.files is not None else None
        return InForce(
            kind,
            "file",
            item.version if item is not None else None,
            default.content if default is not None else None,
            default.sha256 if default is not None else None,
            path=default.path if default is not None else None,
            created_by=item.created_by if item is not None else None,
            created_at=item.created_at if item is not None else None,
        )


def _tenant_strategy(item: StoredVersion, files: FileConfig) -> Strategy:
    data = parse_mapping(item.content, item.source, aliases=False)
    strategy = parse_strategy(data, item.source)
    check_strategy_templates(strategy, files.templates, item.source, files.checked)
    return strategy


def _tenant_overlay(item: StoredVersion, files: FileConfig) -> RulePack:
    data = parse_mapping(item.content, item.source, aliases=False)
    return files.rules.parse_overlay(data, item.source)


def _tenant_channels(item: StoredVersion, files: FileConfig) -> ChannelsConfig:
    """A tenant's channel config: it may read only the environment variables
    ``channels.yaml`` reads, and use platform credentials only as the platform does."""
    source = item.source
    data = parse_mapping(item.content, source, aliases=False)
    readable = ", ".join(sorted(files.variables)) or "none"
    problems = [
        Problem(
            path,
            f"${{{name}}}: a tenant's channel config may only read the variables "
            f"config/channels.yaml reads ({readable})",
        )
        for path, name in variable_uses(data)
        if name not in files.variables
    ]
    if problems:
        raise ConfigError(source, problems)
    channels = channels_from(data, source)
    problems = credentials.tenant_problems(channels, files.channels, item.scope)
    if not problems:
        problems = tenant_providers.problems(channels, files.channels, item.scope)
    if problems:
        raise ConfigError(source, problems)
    check_approved_texts(channels, files.templates, electronic_disclosures(files.rules), source)
    return channels


_BUILDERS: dict[Kind, Callable[[StoredVersion, FileConfig], Any]] = {
    Kind.STRATEGY: _tenant_strategy,
    Kind.RULES: _tenant_overlay,
    Kind.CHANNELS: _tenant_channels,
    Kind.TEMPLATES: tenant_library,
}
_PARSED_LOCK = threading.Lock()


def _checked(item: StoredVersion, files: FileConfig) -> Any:
    """The stored version built and checked against ``files``, or the :class:`ConfigError`
    it raises; each is worked out once per version and per state of the files."""
    key = (item.scope, item.kind.value, item.version, item.sha256 or content_sha256(item.content))
    with _PARSED_LOCK:
        found = files.parsed.get(key)
    if found is None:
        try:
            found = _BUILDERS[item.kind](item, files)
        except ConfigError as exc:
            found = exc
        with _PARSED_LOCK:
            files.parsed[key] = found
    if isinstance(found, ConfigError):
        raise found
    return found


def _forget_old(files: FileConfig, stored: Sequence[StoredVersion]) -> None:
    """Drop checked versions that are no longer stored (replaced, or proposed and
    refused), once they outnumber the ones in use."""
    with _PARSED_LOCK:
        if len(files.parsed) <= 2 * len(stored) + 64:
            return
        keep = {
            (v.scope, v.kind.value, v.version, v.sha256 or content_sha256(v.content))
            for v in stored
        }
        for key in [k for k in files.parsed if k not in keep]:
            del files.parsed[key]


def assemble(
    files: FileConfig, stored: Sequence[StoredVersion], *, suspend_broken: bool = False
) -> ConfigSet:
    """The configuration: the files with the tenants' stored versions on top.

    Every stored version is checked (against the files, and a strategy's templates
    rendered); :class:`ConfigRefused` names each wrong one with its tenant.

    Parameters:
      suspend_broken: instead of refusing the whole set for a tenant's wrong stored
        version, *suspend* that tenant (``ConfigSet.suspended``: nothing is planned or sent
        for it until it is fixed). A process starting with a version a newer check refuses
        (e.g. a period longer than rules now allow) then still serves every other tenant;
        dropping the version instead would loosen what that tenant configured.
    """
    refusals = Refusals()
    built: dict[Kind, dict[str, Any]] = {kind: {} for kind in Kind}
    for item in stored:
        if item.is_file_default:
            continue
        found = refusals.attempt(item.scope, _checked, item, files)
        if found is not None:
            built[item.kind][item.scope] = found
    _forget_old(files, stored)
    suspended: dict[str, ConfigError] = {}
    if suspend_broken and all(scope != FILES for scope, _ in refusals.parts):
        for scope, error in refusals.parts:
            suspended.setdefault(scope, error)
        refusals = Refusals()
    refusals.raise_any()
    digest = hashlib.sha256(files.digest.encode())
    for item in sorted(stored, key=lambda v: (v.scope, v.kind)):
        digest.update(f"{item.scope}/{item.kind}/{item.version}/{item.sha256}".encode())
    return ConfigSet(
        # A library of its own per set: its merged-pack cache keys on this set's overlays.
        RuleLibrary(files.rules.packs),
        files.strategies,
        files.templates,
        channels=files.channels,
        tenant_strategies=built[Kind.STRATEGY],
        tenant_overlays=built[Kind.RULES],
        tenant_channels=built[Kind.CHANNELS],
        tenant_templates=built[Kind.TEMPLATES],
        version=digest.hexdigest()[:12],
        stored={(item.scope, item.kind): item for item in stored},
        files=files,
        suspended=suspended,
    )


def load_config(
    config_dir: Path, templates_dir: Path, stored: list[StoredVersion] | None = None
) -> ConfigSet:
    """Load and cross-check the files and the tenants' stored versions, as one set."""
    return assemble(load_files(config_dir, templates_dir), stored or [])


_FILES_READ: dict[tuple[Path, Path], tuple[Any, FileConfig]] = {}
_FILES_LOCK = threading.Lock()


def files_fingerprint(config_dir: Path, templates_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """A cheap fingerprint of the files: every file's path, modification time and size."""
    return tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size)
        for folder in (config_dir, templates_dir)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )


def current_files(config_dir: Path, templates_dir: Path, fingerprint: Any = None) -> FileConfig:
    """The files as loaded, shared by every source in the process that reads the same
    folders in the same state (the API, the planner and a command may each hold one): a
    :class:`FileConfig` is immutable, and loading it renders every template.

    Parameters:
      config_dir / templates_dir: the folders.
      fingerprint: their :func:`files_fingerprint`, when the caller has just taken it.

    Raises :class:`ConfigRefused` listing every problem in the files.
    """
    if fingerprint is None:
        fingerprint = files_fingerprint(config_dir, templates_dir)
    key = (config_dir.resolve(), templates_dir.resolve())
    with _FILES_LOCK:
        found = _FILES_READ.get(key)
        if found is not None and found[0] == fingerprint:
            files = found[1]
            # channels.yaml reads the environment (e.g. each test's own sandbox URL).
            if all(os.environ.get(k) == v for k, v in files.variables.items()):
                return files
        files = load_files(config_dir, templates_dir)
        _FILES_READ[key] = (fingerprint, files)
        return files


class ConfigSource:
    """The current configuration, reloaded when its sources change.

    Parameters:
      config_dir / templates_dir: the files.
      store: where ops-edited versions are kept (``None``: files only).
      check_every: how often to look for a change (a cheap fingerprint of files and store).
      now: the clock's ``now``.

    Attributes:
      last_error: why the newest change was refused (:class:`ConfigRefused`), ``None`` once
        a change loads; ``refused_at`` says when.
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
        self.last_error: ConfigRefused | None = None
        self.refused_at: datetime | None = None
        self._lock = threading.Lock()
        self._fingerprint = self._sources()
        self._files_fingerprint = self._fingerprint[0]
        self._files = current_files(config_dir, templates_dir, self._files_fingerprint)
        # A tenant's broken stored version suspends that tenant, not the whole process.
        self._current = assemble(self._files, self._stored(), suspend_broken=True)
        for scope, error in self._current.suspended.items():
            log.error(
                "tenant suspended: its stored configuration is refused",
                tenant=scope,
                error=str(error),
            )
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
                fresh = assemble(self._files_at(fingerprint[0]), self._stored())
            except ConfigError as exc:
                self.last_error = (
                    exc if isinstance(exc, ConfigRefused) else ConfigRefused([(FILES, exc)])
                )
                self.refused_at = self.now()
                log.error("new configuration refused; the running one stays", error=str(exc))
                return False
            self.last_error = None
            self.refused_at = None
            previous, self._current = self._current, fresh
            log.info("configuration reloaded", version=fresh.version, previous=previous.version)
            return True

    def candidate(
        self,
        scope: str,
        kind: Kind,
        content: str,
        stored: Sequence[StoredVersion] | None = None,
    ) -> ConfigSet:
        """The configuration as it would be with ``content`` stored for ``scope``: raises
        :class:`ConfigRefused` (with the path of every problem) when it would be invalid.

        Parameters:
          scope / kind / content: the proposed version.
          stored: the stored versions to check it with (default: the store's newest); pass
            those read in the transaction that will store it.
        """
        others = [
            v
            for v in (self._stored() if stored is None else stored)
            if (v.scope, v.kind) != (scope, kind)
        ]
        proposed = StoredVersion(scope, kind, 0, content, content_sha256(content))
        with self._lock:
            files = self._files_at(self._file_fingerprint())
        return assemble(files, [*others, proposed])

    def _files_at(self, fingerprint: Any) -> FileConfig:
        """The files, read again only when they changed. Call with the lock held."""
        if fingerprint != self._files_fingerprint:
            self._files = current_files(self.config_dir, self.templates_dir, fingerprint)
            self._files_fingerprint = fingerprint
        return self._files

    def _stored(self) -> list[StoredVersion]:
        return stored_versions(self.store) if self.store is not None else []

    def _file_fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        return files_fingerprint(self.config_dir, self.templates_dir)

    def _sources(self) -> tuple[Any, ...]:
        stored = None
        if self.store is not None:
            # Rows are only ever added. The count too, not just the newest id: on PostgreSQL
            # a row can commit after one with a higher id, leaving the maximum unchanged.
            with self.store.snapshot() as conn:
                stored = tuple(
                    conn.execute(sa.select(sa.func.count(), sa.func.max(ConfigVersion.id))).one()
                )
        return self._file_fingerprint(), stored
