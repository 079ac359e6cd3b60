"""Template lint: threatening, deceptive or insulting language, found before anyone reads it.

Collection law forbids threats of arrest, threats to tell employers or family, fake legal
action and impersonated officials, insults and false urgency (12 CFR 1006.14, 1006.18;
the NIFA 2018 convention; FCA CONC 7; the ACCC/ASIC guideline). Lint reads each template's
words (text and string literals, not comments or variable names) against the phrase lists
of its locale and every fallback locale (``templates/_lint/*.yaml``, see
:mod:`orchestrator.messages.phrases`), and names each phrase it finds with its line.

Two more rules:

- a message template may not hard-code a disclosure (``Reply STOP``, ``回复TD退订``, "this
  is a communication from a debt collector"): the rule pack decides which apply and the
  engine appends them, so a hard-coded one would be duplicated or go stale;
- a limited-content template (``voicemail_limited``) may use only the business name, a
  person's name and the phone number, and none of the debt words of its locale.

Lint is deliberately strict: a reassuring "we will never contact your employer" is
flagged too. Reword it; there is no inline override, so every template a borrower reads
passed the same list.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from orchestrator.errors import TemplateError
from orchestrator.messages.library import TemplateLibrary
from orchestrator.messages.limited_content import forbidden_fields
from orchestrator.messages.phrases import THREAT_CATEGORIES, Category


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One refused phrase in one template.

    Parameters:
      path: the file, relative to the templates folder (``zh-CN/sms/due_today.j2``).
      line: 1-based line where the phrase starts.
      phrase: the words as they appear in the template.
      category: why they are refused.
      locale: the phrase list that listed them (``en-US`` for English in a zh-CN file).
      message: one sentence for the ops reading the report.
    """

    path: str
    line: int
    phrase: str
    category: Category
    locale: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.category}] {self.message}"


def lint(library: TemplateLibrary, paths: Collection[str] | None = None) -> list[LintFinding]:
    """Every refused phrase in every template and disclosure text of ``library``.

    Parameters:
      library: the templates folder; its ``_lint/{locale}.yaml`` lists are the rules.
      paths: lint only these files (default: every one).

    Returns the findings sorted by file and line; empty means the folder passes.
    """
    findings: list[LintFinding] = []
    for template in library.templates():
        if paths is not None and template.path not in paths:
            continue
        categories = set(THREAT_CATEGORIES) | {Category.DISCLOSURE}
        if template.limited_content:
            categories.add(Category.LIMITED_CONTENT)
        findings += _lint_file(library, template.path, template.locale, categories)
        if template.limited_content:
            findings += _limited_content_fields(library, template.path, template.locale)
    for disclosure in library.disclosure_files():
        if paths is not None and disclosure.path not in paths:
            continue
        findings += _lint_file(library, disclosure.path, disclosure.locale, set(THREAT_CATEGORIES))
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.category, f.phrase))


def _lint_file(
    library: TemplateLibrary, path: str, locale: str, categories: set[Category]
) -> list[LintFinding]:
    try:
        segments = library.literal_text(path)
    except TemplateError as exc:
        return [LintFinding(path, 0, "", Category.SYNTAX, locale, str(exc))]
    findings = []
    for phrase_list in library.phrase_lists(locale):
        for first_line, text in segments:
            for match in phrase_list.search(text, categories):
                category = match.phrase.category
                findings.append(
                    LintFinding(
                        path=path,
                        line=first_line + text.count("\n", 0, match.start),
                        phrase=match.found,
                        category=category,
                        locale=phrase_list.locale,
                        message=(
                            f"{category.description}: {match.found!r} "
                            f"(listed as {match.phrase.text!r} in _lint/{phrase_list.locale}.yaml)"
                        ),
                    )
                )
    return findings


def _limited_content_fields(library: TemplateLibrary, path: str, locale: str) -> list[LintFinding]:
    try:
        tree = library.parse(path)
    except TemplateError:
        return []  # already reported by _lint_file as a syntax finding
    return [
        LintFinding(
            path=path,
            line=line,
            phrase=field,
            category=Category.LIMITED_CONTENT,
            locale=locale,
            message=(
                f"{Category.LIMITED_CONTENT.description}: uses {field!r}; only lender_name, "
                "contact_person and support_phone may appear"
            ),
        )
        for field, line in forbidden_fields(tree)
    ]
