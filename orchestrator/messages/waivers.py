"""Lint, enforced: a template with a lint finding is refused unless compliance waived it.

Lint (:mod:`orchestrator.messages.lint`) names threatening, deceptive or insulting words.
Configuration loading runs it over the whole templates folder and refuses every finding,
so a threat never reaches a borrower because nobody ran ``templates lint``. Every lint rule
is an error today (none is a mere warning).

A deliberate exception (a reassurance that names a listed word, say) is a **waiver**: an
entry in ``config/templates.yaml`` naming the template file, the rule and, optionally, the
phrase, with the reason and who approved it::

    lint_waivers:
      - template: en-US/email/final_notice.j2
        rule: third_party
        phrase: employer          # optional: only this phrase
        reason: "states that we will not contact the employer (CFPB FAQ 12)"
        approved_by: compliance@lender.example

Each waived finding is logged when the configuration loads and listed by
``orchestrator config validate`` and ``config show``; a waiver that matches nothing is
logged too, so stale ones get removed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.errors import ConfigError, Problem, problems_from
from orchestrator.messages.library import TemplateLibrary
from orchestrator.messages.lint import LintFinding, lint
from orchestrator.messages.phrases import Category

WAIVERS_FILE = "templates.yaml"
"""The file in the config folder that holds ``lint_waivers``."""

WAIVABLE = sorted(c.value for c in Category if c is not Category.SYNTAX)
"""The lint rules a waiver may name."""


class LintWaiver(BaseModel):
    """One audited exception to a lint rule, for one template file.

    Parameters:
      template: the file, relative to the templates folder (``en-US/sms/due_today.j2``).
      rule: the lint category waived (``third_party``, ``deception``...).
      phrase: only this phrase (as listed or as found, case-insensitive); default: every
        phrase of ``rule`` in the file.
      reason: why the words are acceptable here; required.
      approved_by: who approved it (a person or role); required.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str = Field(min_length=1, max_length=300)
    rule: str
    phrase: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str = Field(min_length=10, max_length=1000)
    approved_by: str = Field(min_length=1, max_length=200)

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if value not in WAIVABLE:
            raise ValueError(f"unknown lint rule {value!r} (waivable: {', '.join(WAIVABLE)})")
        return value

    @field_validator("reason", "approved_by")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must say something")
        return value.strip()

    def covers(self, finding: LintFinding) -> bool:
        if finding.path != self.template or finding.category.value != self.rule:
            return False
        if self.phrase is None:
            return True
        wanted = " ".join(self.phrase.casefold().split())
        return wanted == " ".join(finding.phrase.casefold().split())


class _WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lint_waivers: tuple[LintWaiver, ...] = ()


@dataclass(frozen=True, slots=True)
class WaivedFinding:
    """A lint finding let through, and the waiver that let it through."""

    finding: LintFinding
    waiver: LintWaiver


@dataclass(frozen=True, slots=True)
class LintOutcome:
    """What enforcing lint over a templates folder found.

    Parameters:
      waived: findings a waiver let through (logged, shown by ``config validate``).
      unused: waivers that matched no finding (stale: the words were reworded).
    """

    waived: tuple[WaivedFinding, ...] = ()
    unused: tuple[LintWaiver, ...] = ()


def parse_waivers(data: Any, source: str) -> tuple[LintWaiver, ...]:
    """The waivers of a parsed ``templates.yaml`` (``None``: the file is empty)."""
    try:
        return _WaiversFile.model_validate(data or {}).lint_waivers
    except ValidationError as exc:
        raise ConfigError(source, problems_from(exc.errors())) from None


def enforce_lint(
    library: TemplateLibrary,
    waivers: Sequence[LintWaiver],
    *,
    source: str | Path,
    only: Collection[str] | None = None,
    waive_in: str = f"config/{WAIVERS_FILE} (lint_waivers)",
    prefix: str = "",
) -> LintOutcome:
    """Refuse every lint finding in ``library`` that no waiver covers.

    Parameters:
      library: the templates.
      waivers: the audited exceptions (from ``config/templates.yaml``).
      source: how the refusal names the templates folder.
      only: lint only these files (default: every file).
      waive_in: where the refusal says a waiver would go.
      prefix: put before each problem's path (``templates.`` in a tenant's version).

    Raises :class:`ConfigError` with one problem per finding, at ``file:line``.
    """
    refused: list[Problem] = []
    waived: list[WaivedFinding] = []
    used: set[LintWaiver] = set()
    for finding in lint(library, only):
        waiver = next((w for w in waivers if w.covers(finding)), None)
        if waiver is None:
            refused.append(
                Problem(
                    f"{prefix}{finding.path}:{finding.line}",
                    f"lint rule {finding.category}: {finding.message}: reword it, or waive it "
                    f"in {waive_in} with a reason",
                )
            )
        else:
            waived.append(WaivedFinding(finding, waiver))
            used.add(waiver)
    if refused:
        raise ConfigError(str(source), refused)
    return LintOutcome(tuple(waived), tuple(w for w in waivers if w not in used))
