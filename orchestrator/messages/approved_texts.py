"""Pre-approved provider templates: the words a borrower reads when we send only a code.

Aliyun SMS (and providers like it) send a ``TemplateCode`` and parameters; the provider
fills the text it approved for that code. Our own template, its lint and the disclosures
the engine appends never reach the borrower there. So the channel config declares, per
code, the text the provider approved, with its ``${param}`` placeholders::

    approved_texts:
      SMS_100000001:
        locale: zh-CN
        text: "${name}您好，您本期应还${amount}${currency}，到期日${due_date}。回复TD退订"
        disclosures: [opt_out]

and configuration loading checks each one (:func:`approved_text_problems`) the way it
checks a template: lint, every placeholder filled by a parameter we send, and the
disclosures it claims present in its words. At send time the adapter passes only the
parameters the text uses, and refuses a message whose required disclosures the text does
not carry (:func:`missing_disclosures`), so dispatch fails over to a provider that
renders our own text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.domain import Channel, currency_places
from orchestrator.errors import Problem, TemplateError
from orchestrator.messages.context import MessageContext, sample_context
from orchestrator.messages.disclosures import Disclosure
from orchestrator.messages.library import TemplateLibrary
from orchestrator.messages.phrases import THREAT_CATEGORIES

TEMPLATE_PARAMS = ("name", "amount", "currency", "due_date", "reference")
"""The parameters dispatch can send with a pre-approved template (Aliyun ``TemplateParam``)."""


def template_params(context: MessageContext) -> dict[str, str]:
    """The values of :data:`TEMPLATE_PARAMS` for one message, from the context it was
    rendered from: the amount with its currency's minor units (``12500`` yen, ``1250.00``
    yuan), the due date as ISO 8601."""
    places = currency_places(context.currency)
    return {
        "name": context.borrower_name,
        "amount": f"{context.amount_due:.{places}f}",
        "currency": context.currency,
        "due_date": context.due_date.isoformat(),
        "reference": context.reference,
    }


SAMPLE_PARAMS = {
    "name": "李雷",
    "amount": "1250.00",
    "currency": "CNY",
    "due_date": "2026-10-01",
    "reference": "LN-88231",
}
"""Plausible values for each parameter, for the render check."""

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What is left of a disclosure's words once spacing and final punctuation are set aside.
_LOOSE = re.compile(r"[\s。．.!！]+")


class ApprovedText(BaseModel):
    """The text a provider approved for one template code.

    Parameters:
      text: the words, with ``${param}`` placeholders (the provider's own syntax).
      locale: its language: picks the lint lists and the disclosure wording checked.
      disclosures: the disclosures its words carry (default: the opt-out line).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=1000)
    locale: str = "zh-CN"
    disclosures: tuple[str, ...] = (Disclosure.OPT_OUT.value,)

    @field_validator("disclosures")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            try:
                Disclosure.named(name)
            except TemplateError as exc:
                raise ValueError(str(exc)) from None
        return value


def placeholders(text: str) -> list[str]:
    """The parameter names ``text`` uses, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill(text: str, params: Mapping[str, str]) -> str:
    """``text`` as the provider renders it with ``params`` (unknown names are left as is)."""
    return PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), text)


def missing_disclosures(approved: ApprovedText, required: Iterable[str]) -> list[str]:
    """The disclosures of ``required`` that the approved text does not carry."""
    return [name for name in required if name not in approved.disclosures]


def approved_text_problems(
    library: TemplateLibrary,
    path: str,
    approved: ApprovedText,
    *,
    required: Sequence[str] = (),
) -> list[Problem]:
    """Everything wrong with one approved text, each problem at ``path``.

    Parameters:
      library: the templates: the lint lists and the disclosure texts.
      path: where the text is in the config (``channels.sms.providers[1].settings
        .approved_texts.SMS_100000001``).
      approved: the text.
      required: disclosures every electronic message needs under the rule packs loaded;
        the text must carry each.

    Checks: lint (threats, insults, false urgency, third parties) against the lists of its
    locale and fallbacks; each placeholder is a parameter dispatch sends; a trial fill with
    sample values leaves no placeholder; each disclosure it claims (and each required one)
    is present in its words, as the locale's SMS disclosure text.
    """
    problems: list[Problem] = []
    text = approved.text
    for phrase_list in library.phrase_lists(approved.locale):
        for match in phrase_list.search(text, THREAT_CATEGORIES):
            category = match.phrase.category
            problems.append(
                Problem(
                    path,
                    f"lint rule {category}: {category.description}: {match.found!r} (listed as "
                    f"{match.phrase.text!r} in _lint/{phrase_list.locale}.yaml): have the "
                    "provider approve reworded text",
                )
            )
    sent = ", ".join("${" + p + "}" for p in TEMPLATE_PARAMS)
    for name in placeholders(text):
        if name not in TEMPLATE_PARAMS:
            problems.append(
                Problem(path, f"placeholder ${{{name}}} is not a parameter we send ({sent})")
            )
    filled = fill(text, SAMPLE_PARAMS)
    if not problems and "${" in filled:
        problems.append(Problem(path, f"a placeholder is malformed after filling: {filled!r}"))
    for name in missing_disclosures(approved, required):
        problems.append(
            Problem(path, f"must carry the {name!r} disclosure every rule pack requires")
        )
    for name in approved.disclosures:
        problems += _disclosure_present(library, path, approved, Disclosure.named(name), filled)
    return problems


def _disclosure_present(
    library: TemplateLibrary, path: str, approved: ApprovedText, disclosure: Disclosure, text: str
) -> list[Problem]:
    try:
        wording = library.render_disclosure(
            disclosure, Channel.SMS, approved.locale, sample_context()
        )
    except TemplateError as exc:
        return [Problem(path, f"cannot check the {disclosure.value!r} disclosure: {exc}")]
    if _LOOSE.sub("", wording) in _LOOSE.sub("", text):
        return []
    return [
        Problem(
            path,
            f"claims the {disclosure.value!r} disclosure but does not say it: its "
            f"{approved.locale} SMS text is {wording!r}",
        )
    ]
