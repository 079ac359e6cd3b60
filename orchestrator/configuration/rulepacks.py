"""Loading rule packs from YAML files into a :class:`RuleLibrary`.

File I/O lives here, outside :mod:`orchestrator.compliance`, which stays pure. A library is
loaded as a whole: any bad pack (an unknown field, a wrong type, an overlay that loosens a
legal limit) refuses the whole directory with a :class:`~orchestrator.errors.ConfigError`
naming each problem, so the running version stays.

Selection (:meth:`RuleLibrary.pack_for`): the country's pack (``jurisdiction: US``), then the
state overlay if one exists (``jurisdiction: US-MA``), then the tenant's overlay, merged so
that the strictest rule wins. A country without a pack gets the ``default`` pack
(``jurisdiction: "*"``), the strictest common denominator, never "no rules".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from orchestrator.compliance.overlay import loosenings, merge, pack_from_mapping
from orchestrator.compliance.pack import RulePack
from orchestrator.errors import ConfigError, Problem

DEFAULT_JURISDICTION = "*"


class RuleLibrary:
    """The rule packs of one config version.

    Parameters:
      packs: every pack by id; each pack's ``extends`` must name another pack in the
        library; exactly one pack has ``jurisdiction: "*"`` (the default).
    """

    def __init__(self, packs: Mapping[str, RulePack]) -> None:
        self.packs: dict[str, RulePack] = dict(packs)
        self._by_jurisdiction = {p.jurisdiction: p for p in self.packs.values() if p.jurisdiction}
        if DEFAULT_JURISDICTION not in self._by_jurisdiction:
            raise ConfigError("rule library", [Problem("", "no default pack (jurisdiction: '*')")])
        self._merged: dict[tuple[str, int], tuple[RulePack | None, RulePack]] = {}
        self._lock = threading.Lock()

    def _chain(self, jurisdiction: str) -> list[RulePack]:
        code = jurisdiction.strip().upper()
        country = code.split("-", 1)[0]
        base = self._by_jurisdiction.get(country) or self._by_jurisdiction[DEFAULT_JURISDICTION]
        chain = [base]
        state = self._by_jurisdiction.get(code) if "-" in code else None
        if state is not None and state is not base:
            chain.append(state)
        return chain

    def pack_for(self, jurisdiction: str, overlay: RulePack | None = None) -> RulePack:
        """The merged pack for an account: country pack + state overlay + tenant overlay.

        Parameters:
          jurisdiction: the account's jurisdiction (``US-MA``, ``CN``, ``AU-NSW``).
          overlay: the tenant's overlay (from :meth:`parse_overlay`); applied when it
            extends a pack of this jurisdiction's chain, or extends nothing (every
            jurisdiction). An overlay for another jurisdiction is not applied.

        The result is cached per (jurisdiction, overlay) so its compiled form is reused.
        """
        key = (jurisdiction.strip().upper(), id(overlay))
        cached = self._merged.get(key)
        if cached is not None and cached[0] is overlay:
            return cached[1]
        chain = self._chain(jurisdiction)
        pack = chain[0]
        for state in chain[1:]:
            pack = merge(pack, state, source=state.id)
        ids = {p.id for p in chain}
        if overlay is not None and (overlay.extends is None or overlay.extends in ids):
            pack = merge(pack, overlay, source=overlay.id)
        with self._lock:
            self._merged[key] = (overlay, pack)
        return pack

    def parse_overlay(self, mapping: Mapping[str, Any], source: str) -> RulePack:
        """A tenant's overlay, validated: every bad field and every attempt to loosen a legal
        limit (naming the rule id) is reported in one ``ConfigError``.

        Parameters:
          mapping: the overlay document; ``extends`` names the pack it tightens (omit it to
            tighten every pack).
          source: the config name, for the error message.
        """
        overlay = pack_from_mapping(mapping, source)
        problems: list[Problem] = []
        if overlay.extends is not None and overlay.extends not in self.packs:
            problems.append(
                Problem("extends", f"unknown pack {overlay.extends!r}; known: {sorted(self.packs)}")
            )
        else:
            for base in self._bases(overlay):
                problems += [p for p in loosenings(base, overlay) if p not in problems]
        if problems:
            raise ConfigError(source, problems)
        return overlay

    def _bases(self, overlay: RulePack) -> list[RulePack]:
        """The merged packs an overlay would tighten."""
        if overlay.extends is not None:
            return [self._resolved(self.packs[overlay.extends])]
        return [self._resolved(p) for p in self.packs.values()]

    def _resolved(self, pack: RulePack) -> RulePack:
        chain = [pack]
        while chain[0].extends is not None:
            chain.insert(0, self.packs[chain[0].extends])
        merged = chain[0]
        for child in chain[1:]:
            merged = merge(merged, child, source=child.id)
        return merged


def load_rule_library(directory: Path) -> RuleLibrary:
    """Read every ``*.yaml`` pack in ``directory`` into a library, or refuse them all.

    Parameters:
      directory: e.g. ``config/compliance``.

    Raises ``ConfigError`` (source: the file) for unreadable YAML, invalid fields, duplicate
    ids, unknown ``extends`` and overlays that loosen a legal rule of the pack they extend.
    """
    packs: dict[str, RulePack] = {}
    sources: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(str(path), [Problem("", f"not valid YAML: {exc}")]) from None
        pack = pack_from_mapping(document, str(path))
        if pack.id in packs:
            raise ConfigError(str(path), [Problem("id", f"duplicate pack id {pack.id!r}")])
        packs[pack.id] = pack
        sources[pack.id] = str(path)
    if not packs:
        raise ConfigError(str(directory), [Problem("", "no rule packs (*.yaml) found")])
    for pack in packs.values():
        if pack.extends is not None and pack.extends not in packs:
            raise ConfigError(
                sources[pack.id], [Problem("extends", f"unknown pack {pack.extends!r}")]
            )
    library = RuleLibrary(packs)
    for pack in packs.values():
        if pack.extends is not None:
            base = library._resolved(packs[pack.extends])
            problems = loosenings(base, pack)
            if problems:
                raise ConfigError(sources[pack.id], problems)
    return library
