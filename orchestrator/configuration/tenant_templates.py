"""A tenant's own message templates: texts that replace the shared folder's, per tenant.

The templates folder (``templates/``) is part of the deployment and shared by every tenant.
A tenant may replace any of its message templates with a text of its own, saved from the
console or through ``PUT /v1/config/templates``; the replacements are one config version
(kind ``templates``), versioned, audited and rolled back like a strategy or a channel
config. The document::

    templates:
      en-US/sms/due_today.j2: |
        {% block text %}Hi {{ first_name }}, ...{% endblock %}
    lint_waivers:            # optional, audited, as in config/templates.yaml
      - template: en-US/sms/due_today.j2
        rule: third_party
        phrase: employer
        reason: "says we will not contact the employer (reviewed)"
        approved_by: compliance@lender.example

A replaced text is checked as the folder is: rendered in the same sandbox with the same
bounds (:mod:`orchestrator.messages.environment`), for every locale that falls back to it,
and linted; every lint finding refuses the version unless one of *its own* waivers covers
it (a waiver in ``config/templates.yaml`` was approved for the folder's words, not these).
Only message templates that exist in the folder may be replaced: the disclosures, the
lint lists and the email layout stay the deployment's.

The tenant's library is a copy of the checked folder with its texts written over (the
copy lives as long as the configuration that holds it), so dispatch renders exactly the
version that was checked, next to the rules of the same configuration.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.configuration.files import CHECKED_LOCALES, FileConfig, parse_mapping
from orchestrator.configuration.versions import StoredVersion
from orchestrator.errors import ConfigError, Problem, problems_from
from orchestrator.messages.library import TemplateLibrary
from orchestrator.messages.waivers import LintOutcome, LintWaiver, enforce_lint

MAX_TEMPLATE_BYTES = 64 * 1024
"""The longest text one template may have (as the console's editor allows)."""
MAX_TEMPLATES = 200
"""The most templates one tenant may replace (the folder has a few dozen)."""

_PATH = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*/[a-z]+/[a-z0-9][a-z0-9_]*\.j2")


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    templates: dict[str, str] = Field(default_factory=dict, max_length=MAX_TEMPLATES)
    lint_waivers: tuple[LintWaiver, ...] = ()


@dataclass(frozen=True, slots=True)
class TemplateOverrides:
    """A tenant's replaced texts and its waivers, as stored.

    Parameters:
      texts: the replaced texts by path in the folder (``en-US/sms/due_today.j2``).
      waivers: the audited exceptions to lint for these texts.
    """

    texts: Mapping[str, str]
    waivers: tuple[LintWaiver, ...] = ()


def parse_overrides(content: str, source: str) -> TemplateOverrides:
    """The document's texts and waivers; its shape only (see :func:`tenant_library`)."""
    data = parse_mapping(content, source, aliases=False)
    try:
        found = _Document.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_from(exc.errors())) from None
    return TemplateOverrides(dict(found.templates), found.lint_waivers)


def overrides_yaml(overrides: TemplateOverrides) -> str:
    """The document for ``overrides`` (empty when there is nothing: the folder applies),
    each text as a literal block so that a diff shows its lines."""
    if not overrides.texts and not overrides.waivers:
        return ""
    data: dict[str, Any] = {"templates": dict(sorted(overrides.texts.items()))}
    if overrides.waivers:
        data["lint_waivers"] = [w.model_dump(exclude_none=True) for w in overrides.waivers]
    return str(yaml.dump(data, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True))


class _LiteralDumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _text)


class TenantTemplates(TemplateLibrary):
    """The folder's templates with one tenant's texts written over them.

    Parameters:
      base: the folder's library as loaded (a private copy, see ``TemplateSnapshot``).
      overrides: the tenant's texts and waivers.
      version: the stored version they come from.

    Attributes:
      lint: the findings the tenant's waivers let through.
    """

    def __init__(
        self, base: TemplateLibrary, overrides: TemplateOverrides, version: int = 0
    ) -> None:
        self._copy = tempfile.TemporaryDirectory(prefix="orchestrator-tenant-templates-")
        target = Path(self._copy.name) / "templates"
        shutil.copytree(base.directory, target)
        for path, text in overrides.texts.items():
            (target / path).write_text(text, encoding="utf-8")
        # The lint lists are the folder's (a tenant does not replace them): read them once.
        super().__init__(target, lint_lists_from=base)
        self.overrides = overrides
        self.version = version
        self.lint = LintOutcome()


def tenant_library(item: StoredVersion, files: FileConfig) -> TenantTemplates:
    """Build and check a tenant's stored templates version against the files.

    Raises :class:`ConfigError` (source: the version) with every problem: a path that is
    not a message template of the folder, a text too long, a text that does not render
    (unknown variable, sandbox, syntax, bounds) and every lint finding no waiver of the
    version covers, each at ``templates.PATH`` (and its line).
    """
    source = item.source
    overrides = parse_overrides(item.content, source)
    known = {t.path: t for t in files.templates.templates()}
    problems: list[Problem] = []
    for path, text in overrides.texts.items():
        where = f"templates.{path}"
        if not _PATH.fullmatch(path) or path not in known:
            problems.append(
                Problem(
                    where,
                    "not a message template of the templates folder (LOCALE/CHANNEL/NAME.j2, "
                    "e.g. en-US/sms/due_today.j2): only those may be replaced",
                )
            )
        elif len(text.encode("utf-8")) > MAX_TEMPLATE_BYTES:
            problems.append(Problem(where, f"longer than {MAX_TEMPLATE_BYTES // 1024} KiB"))
        elif not text.strip():
            problems.append(Problem(where, "empty: remove it to use the folder's text"))
    for index, waiver in enumerate(overrides.waivers):
        if waiver.template not in known:
            problems.append(
                Problem(
                    f"lint_waivers[{index}].template",
                    f"{waiver.template!r} is not a message template of the templates folder",
                )
            )
    if problems:
        raise ConfigError(source, problems)
    library = TenantTemplates(files.templates, overrides, item.version)
    for path in sorted(overrides.texts):
        file = known[path]
        locales = sorted({*CHECKED_LOCALES, file.locale})
        try:
            library.check([(file.name, file.channel)], locales)
        except ConfigError as exc:
            problems += [Problem(f"templates.{path}", p.message) for p in exc.problems]
    if problems:
        raise ConfigError(source, problems)
    try:
        library.lint = enforce_lint(
            library,
            overrides.waivers,
            source=source,
            only=frozenset(overrides.texts),
            waive_in="this version's lint_waivers",
            prefix="templates.",
        )
    except ConfigError as exc:
        raise ConfigError(source, exc.problems) from None
    return library
