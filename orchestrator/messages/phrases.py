"""Per-locale lists of language a collection message must not use.

The lists are data, edited by compliance staff: ``templates/_lint/{locale}.yaml``, one key
per :class:`Category`, each a list of phrases::

    arrest:
      - arrest*          # "*" ends a word stem: arrest, arrested, arresting
      - go to jail       # words match across any whitespace, line breaks included
    third_party:
      - 单位             # Chinese phrases match anywhere (no word boundaries)

Latin phrases match whole words, case-insensitively, so ``police`` does not match
``policy``. A template is checked against its own locale's list and every fallback's
(a zh-CN template is also checked against the en-US list).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from orchestrator.errors import ConfigError, Problem


class Category(StrEnum):
    """Why a phrase is refused."""

    ARREST = "arrest"
    THIRD_PARTY = "third_party"
    LEGAL_THREAT = "legal_threat"
    INSULT = "insult"
    DECEPTION = "deception"
    DISCLOSURE = "disclosure"
    LIMITED_CONTENT = "limited_content"
    SYNTAX = "syntax"  # not a phrase: the file does not parse, so it cannot be read

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Category.ARREST: "threat of arrest, jail or criminal charges",
    Category.THIRD_PARTY: "threat to contact employer, family, friends or other third parties",
    Category.LEGAL_THREAT: "legal action threatened, or courts, police or officials impersonated",
    Category.INSULT: "insulting or demeaning language",
    Category.DECEPTION: "false urgency or deceptive claim",
    Category.DISCLOSURE: "hard-codes a disclosure the engine appends (opt-out, debt collector)",
    Category.LIMITED_CONTENT: "refers to the debt in a limited-content message (12 CFR 1006.2(j))",
    Category.SYNTAX: "the template does not parse",
}

THREAT_CATEGORIES = frozenset(
    {
        Category.ARREST,
        Category.THIRD_PARTY,
        Category.LEGAL_THREAT,
        Category.INSULT,
        Category.DECEPTION,
    }
)
"""Refused in every template and disclosure text."""

_LATIN = "A-Za-z0-9\u00c0-\u024f"


@dataclass(frozen=True, slots=True)
class Phrase:
    """One listed phrase and the pattern that finds it."""

    text: str
    category: Category
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """Where a phrase occurs in a text.

    Parameters:
      phrase: the listed phrase.
      start: offset of the match in the text searched.
      found: the text as it occurs (``Arrested``, or ``contact your\\nemployer``).
    """

    phrase: Phrase
    start: int
    found: str


def compile_phrase(text: str) -> re.Pattern[str]:
    """The pattern for a listed phrase: whole words, any whitespace, ``*`` stems."""
    words = text.split()
    if not words:
        raise ValueError("empty phrase")
    body = r"\s+".join(
        re.escape(w.removesuffix("*")) + (r"\w*" if w.endswith("*") else "") for w in words
    )
    first, last = text.strip()[0], text.strip()[-1]
    if re.match(f"[{_LATIN}]", first):
        body = f"(?<![{_LATIN}])" + body
    if re.match(f"[{_LATIN}]", last):
        body += f"(?![{_LATIN}])"
    return re.compile(body, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PhraseList:
    """One locale's refused phrases."""

    locale: str
    phrases: tuple[Phrase, ...]

    @classmethod
    def load(cls, path: Path, locale: str) -> PhraseList:
        """Read ``templates/_lint/{locale}.yaml``.

        Raises :class:`ConfigError` naming the file and the bad key or entry.
        """
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(str(path), [Problem("", str(exc))]) from None
        if not isinstance(data, dict):
            raise ConfigError(str(path), [Problem("", "expected a mapping of category: [phrases]")])
        problems: list[Problem] = []
        phrases: list[Phrase] = []
        for key, entries in data.items():
            try:
                category = Category(key)
                if category is Category.SYNTAX:
                    raise ValueError(key)
            except ValueError:
                known = ", ".join(c.value for c in Category if c is not Category.SYNTAX)
                problems.append(Problem(str(key), f"unknown category (known: {known})"))
                continue
            if not isinstance(entries, list):
                problems.append(Problem(str(key), "expected a list of phrases"))
                continue
            for index, entry in enumerate(entries):
                if not isinstance(entry, str) or not entry.strip():
                    problems.append(Problem(f"{key}[{index}]", "expected a non-empty phrase"))
                    continue
                phrases.append(Phrase(entry.strip(), category, compile_phrase(entry)))
        if problems:
            raise ConfigError(str(path), problems)
        return cls(locale, tuple(phrases))

    def search(self, text: str, categories: Iterable[Category]) -> Iterator[PhraseMatch]:
        """Every occurrence in ``text`` of a phrase in ``categories``."""
        wanted = frozenset(categories)
        for phrase in self.phrases:
            if phrase.category in wanted:
                for match in phrase.pattern.finditer(text):
                    yield PhraseMatch(phrase, match.start(), match.group())
