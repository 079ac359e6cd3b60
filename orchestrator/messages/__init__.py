"""Messages: what a contact says, rendered safely in the borrower's language.

The public surface::

    library = TemplateLibrary(settings.templates_dir)
    library.check([("due_today", Channel.SMS), ...], ["en-US", "zh-CN"])   # at config load
    message = library.render("due_today", Channel.SMS, "zh-CN", context,
                             disclosures=["opt_out"])                    # at send time
    message.body, message.sms.segments
    findings = lint(library)                                             # in CI and the CLI

Templates live in ``templates/{locale}/{channel}/{name}.j2`` and run in Jinja2's sandbox
with undefined variables as errors; money and dates are formatted with babel in the
borrower's locale; disclosures are appended by the engine; ``docs/templates.md`` is the
authors' guide.
"""

from orchestrator.messages.context import CONTEXT_FIELDS, MessageContext, sample_context
from orchestrator.messages.disclosures import Disclosure
from orchestrator.messages.library import RenderedMessage, TemplateLibrary
from orchestrator.messages.limited_content import is_limited_content
from orchestrator.messages.lint import LintFinding, lint
from orchestrator.messages.locales import formatting_locale, normalize_locale, template_locales
from orchestrator.messages.phrases import Category
from orchestrator.messages.sms import SmsInfo, measure_sms
from orchestrator.messages.template_files import DisclosureFile, TemplateFile

__all__ = [
    "CONTEXT_FIELDS",
    "Category",
    "Disclosure",
    "DisclosureFile",
    "LintFinding",
    "MessageContext",
    "RenderedMessage",
    "SmsInfo",
    "TemplateFile",
    "TemplateLibrary",
    "formatting_locale",
    "is_limited_content",
    "lint",
    "measure_sms",
    "normalize_locale",
    "sample_context",
    "template_locales",
]
