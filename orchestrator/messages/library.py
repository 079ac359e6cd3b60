"""The templates folder, and rendering one message from it.

Layout of the folder::

    templates/
      {locale}/{channel}/{name}.j2          one message; blocks per channel (see parts.py)
      {locale}/_disclosures/{name}[.{channel}].j2   disclosure texts (see disclosures.py)
      {locale}/_layouts/email.html.j2       optional per-locale email layout
      _layouts/email.html.j2                the email layout the HTML part is wrapped in
      _lint/{locale}.yaml                   refused phrases (see phrases.py)

Dispatch calls :meth:`TemplateLibrary.render` once per contact; configuration loading calls
:meth:`TemplateLibrary.check` so that a broken template is refused when ops save it, not
when the worker first needs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Template, nodes
from markupsafe import Markup

from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, Problem, TemplateError
from orchestrator.messages.bounds import bounded_chunks
from orchestrator.messages.context import MessageContext
from orchestrator.messages.disclosures import DISCLOSURES_FOLDER, Disclosure, applies_to
from orchestrator.messages.environment import HTML_PREFIX, explained, message_environment
from orchestrator.messages.formatting import LOCALE_KEY
from orchestrator.messages.limited_content import refuse_debt_reference
from orchestrator.messages.locales import normalize_locale, template_locales
from orchestrator.messages.parts import append_disclosures, channel_parts, one_line, shape
from orchestrator.messages.phrases import PhraseList
from orchestrator.messages.sms import SmsInfo, measure_sms
from orchestrator.messages.template_files import DisclosureFile, TemplateFile
from orchestrator.messages.validation import find_problems

_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
_LOCALE_FOLDER = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_DISCLOSURE_NAMES = frozenset(d.value for d in Disclosure)
_CHANNEL_NAMES = frozenset(c.value for c in Channel)
EMAIL_LAYOUT = "_layouts/email.html.j2"
LINT_FOLDER = "_lint"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready for a channel adapter.

    Parameters:
      channel: the channel it was rendered for.
      locale: the borrower's locale, which formatted money and dates.
      template: the template name (``due_today``).
      body: SMS text, push body, email plain-text part, or call script; disclosures
        included.
      subject: email only.
      html: email only: the HTML part in its layout, disclosures included.
      title: push only.
      sms: SMS only: encoding, length and segments of ``body``.
      disclosures: the disclosures appended, in order (none for a limited-content message).
      limited_content: a voicemail that holds only a limited-content message.
      source: the file rendered (``en-US/sms/due_today.j2`` for an en-GB borrower).
    """

    channel: Channel
    locale: str
    template: str
    body: str
    subject: str | None = None
    html: str | None = None
    title: str | None = None
    sms: SmsInfo | None = None
    disclosures: tuple[Disclosure, ...] = ()
    limited_content: bool = False
    source: str = ""


class TemplateLibrary:
    """The message templates of one folder, rendered in the sandbox.

    Parameters:
      directory: the templates folder (``Settings.templates_dir``). Nothing outside it is
        ever read.
      lint_lists_from: a library whose ``_lint`` lists this one has too (a copy of its
        folder with some texts changed): they are read once, for both.

    Thread-safe: workers share one library; compiled templates are cached and reloaded
    when their file changes.
    """

    def __init__(self, directory: Path, *, lint_lists_from: TemplateLibrary | None = None) -> None:
        directory = Path(directory)
        if not directory.is_dir():
            raise ConfigError(str(directory), [Problem("", "templates folder does not exist")])
        self.directory = directory
        self._env = message_environment(directory)
        self._phrase_lists: dict[str, PhraseList | None] = (
            lint_lists_from._phrase_lists if lint_lists_from is not None else {}
        )

    # -- the folder ---------------------------------------------------------------------

    def locales(self) -> list[str]:
        """Locales that have a folder of their own."""
        return sorted(
            p.name
            for p in self.directory.iterdir()
            if p.is_dir() and _LOCALE_FOLDER.fullmatch(p.name)
        )

    def templates(self) -> list[TemplateFile]:
        """Every message template in the folder, in a stable order."""
        found: list[TemplateFile] = []
        for locale in self.locales():
            for channel in Channel:
                folder = self.directory / locale / channel.value
                if folder.is_dir():
                    found.extend(
                        TemplateFile(locale, channel, p.stem, f"{locale}/{channel.value}/{p.name}")
                        for p in sorted(folder.glob("*.j2"))
                        if _NAME.fullmatch(p.stem)
                    )
        return found

    def disclosure_files(self) -> list[DisclosureFile]:
        """Every disclosure text in the folder (files with unknown names are skipped)."""
        found: list[DisclosureFile] = []
        for locale in self.locales():
            folder = self.directory / locale / DISCLOSURES_FOLDER
            for p in sorted(folder.glob("*.j2")) if folder.is_dir() else []:
                name, _, channel = p.stem.partition(".")
                if name in _DISCLOSURE_NAMES and (not channel or channel in _CHANNEL_NAMES):
                    found.append(
                        DisclosureFile(
                            locale,
                            Disclosure(name),
                            Channel(channel) if channel else None,
                            f"{locale}/{DISCLOSURES_FOLDER}/{p.name}",
                        )
                    )
        return found

    def find(self, name: str, channel: Channel, locale: str) -> TemplateFile | None:
        """The file that serves ``name`` on ``channel`` for ``locale``, after fallbacks."""
        if not _NAME.fullmatch(name):
            raise TemplateError(f"template name {name!r} is not a lower_snake_case name")
        channel = _channel(channel)
        for folder in template_locales(locale):
            path = f"{folder}/{channel.value}/{name}.j2"
            if (self.directory / path).is_file():
                return TemplateFile(folder, channel, name, path)
        return None

    def locate(self, name: str, channel: Channel, locale: str) -> TemplateFile:
        """Like :meth:`find`, but a missing template is a :class:`TemplateError`."""
        found = self.find(name, channel, locale)
        if found is None:
            looked = ", ".join(f"{f}/{channel}/{name}.j2" for f in template_locales(locale))
            raise TemplateError(
                f"no template {name!r} for {channel} in locale {locale} (looked for {looked})"
            )
        return found

    def find_disclosure(
        self, disclosure: Disclosure, channel: Channel, locale: str
    ) -> DisclosureFile | None:
        """The text of ``disclosure`` for ``channel`` in ``locale``, after fallbacks."""
        for folder in template_locales(locale):
            for suffix, for_channel in ((f".{channel.value}", channel), ("", None)):
                path = f"{folder}/{DISCLOSURES_FOLDER}/{disclosure.value}{suffix}.j2"
                if (self.directory / path).is_file():
                    return DisclosureFile(folder, disclosure, for_channel, path)
        return None

    def email_layout(self, locale: str) -> str | None:
        """The layout an email's HTML part is wrapped in, per locale or shared."""
        for folder in template_locales(locale):
            path = f"{folder}/{EMAIL_LAYOUT}"
            if (self.directory / path).is_file():
                return path
        return EMAIL_LAYOUT if (self.directory / EMAIL_LAYOUT).is_file() else None

    def phrase_lists(self, locale: str) -> list[PhraseList]:
        """The refused-phrase lists for ``locale`` and each of its fallbacks."""
        lists = []
        for folder in template_locales(locale):
            if folder not in self._phrase_lists:
                path = self.directory / LINT_FOLDER / f"{folder}.yaml"
                self._phrase_lists[folder] = (
                    PhraseList.load(path, folder) if path.is_file() else None
                )
            cached = self._phrase_lists[folder]
            if cached is not None:
                lists.append(cached)
        return lists

    def source(self, path: str) -> str:
        """The text of a file in the folder, by its relative path.

        Read through the template loader, which refuses any path leaving the folder.
        Raises :class:`TemplateError` when there is no such file.
        """
        assert self._env.loader is not None
        with explained(f"file {path}"):
            text, _, _ = self._env.loader.get_source(self._env, path)
        return str(text)

    def literal_text(self, path: str) -> list[tuple[int, str]]:
        """What a file says in words: its text and string literals, with their first line.

        Comments, tags and variable names are left out; lint reads only this.
        """
        source = self.source(path)
        with explained(f"file {path}"):
            return [
                (line, value)
                for line, kind, value in self._env.lex(source, name=path, filename=path)
                if kind in ("data", "string")
            ]

    def parse(self, path: str) -> nodes.Template:
        """The Jinja syntax tree of a file (for checks and lint)."""
        source = self.source(path)
        with explained(f"file {path}"):
            return self._env.parse(source, name=path, filename=path)

    # -- rendering ----------------------------------------------------------------------

    def render(
        self,
        name: str,
        channel: Channel,
        locale: str,
        context: MessageContext,
        *,
        disclosures: Sequence[str] = (),
    ) -> RenderedMessage:
        """Render one message.

        Parameters:
          name: the template name, e.g. ``due_today``.
          channel: the channel; selects the folder and the blocks rendered.
          locale: the borrower's locale (``zh-CN``, ``en_GB``...). Picks the folder by the
            fallback rule and formats money and dates.
          context: the account's facts.
          disclosures: names of the disclosures the rule pack requires for this contact
            (``debt_collector_initial``, ``debt_collector``, ``opt_out``); appended in this
            order, each once. Those that do not apply are left out, and
            :attr:`RenderedMessage.disclosures` says which were appended: ``opt_out`` on a
            call (12 CFR 1006.6(e) covers electronic messages), and every disclosure on a
            limited-content message (it would tell a third party about the debt).

        Raises :class:`TemplateError` naming the template, locale and problem: unknown
        template or disclosure, undefined variable, sandbox violation, a limited-content
        message that would mention the debt.
        """
        channel = _channel(channel)
        tag = normalize_locale(locale)
        file = self.locate(name, channel, tag)
        wanted = tuple(dict.fromkeys(Disclosure.named(d) for d in disclosures))
        what = f"template {name!r} ({channel}, {tag}, file {file.path})"
        if file.limited_content and not context.contact_person:
            raise TemplateError(
                f"{what}: a limited-content message names a person to reply to "
                "(12 CFR 1006.2(j)(1)(iii)): set contact_person"
            )
        variables = {**context.variables(), LOCALE_KEY: tag}
        parts = self._render_parts(file, variables, what)
        main = parts["text"] if "text" in parts else parts["body"]
        if not main:
            raise TemplateError(f"{what}: renders to an empty message")
        applied = tuple(d for d in wanted if applies_to(d, channel, file.limited_content))
        texts = [self._render_disclosure(d, channel, tag, variables) for d in applied]
        body = append_disclosures(channel, main, texts)
        if file.limited_content:
            refuse_debt_reference(body, self.phrase_lists(tag), what)
        html = None
        if "html" in parts:
            html = self._render_layout(tag, parts["html"], parts["subject"], texts, what)
        return RenderedMessage(
            channel=channel,
            locale=tag,
            template=name,
            body=body,
            subject=parts.get("subject"),
            html=html,
            title=parts.get("title"),
            sms=measure_sms(body) if channel.type.template_kind == "text" else None,
            disclosures=applied,
            limited_content=file.limited_content,
            source=file.path,
        )

    def _render_parts(
        self, file: TemplateFile, variables: dict[str, object], what: str
    ) -> dict[str, str]:
        parts: dict[str, str] = {}
        with explained(what):
            for part in channel_parts(file.channel):
                # The HTML part is the same file compiled with autoescape on.
                name = HTML_PREFIX + file.path if part == "html" else file.path
                raw = _render_block(self._env.get_template(name), part, variables, what)
                parts[part] = shape(file.channel, part, raw)
        return parts

    def render_disclosure(
        self, disclosure: Disclosure, channel: Channel, locale: str, context: MessageContext
    ) -> str:
        """The text of one disclosure for ``channel`` in ``locale``, as it is appended."""
        tag = normalize_locale(locale)
        variables = {**context.variables(), LOCALE_KEY: tag}
        return self._render_disclosure(disclosure, _channel(channel), tag, variables)

    def _render_disclosure(
        self, disclosure: Disclosure, channel: Channel, locale: str, variables: dict[str, object]
    ) -> str:
        file = self.find_disclosure(disclosure, channel, locale)
        if file is None:
            looked = ", ".join(template_locales(locale))
            raise TemplateError(
                f"disclosure {disclosure.value!r} has no text for {channel} in locale "
                f"{locale} (looked in {looked}: _disclosures/{disclosure.value}.{channel}.j2 "
                f"or _disclosures/{disclosure.value}.j2)"
            )
        what = f"disclosure {disclosure.value!r} ({channel}, {locale}, file {file.path})"
        with explained(what):
            text = bounded_chunks(self._env.get_template(file.path).generate(variables), what)
        return one_line(text)

    def _render_layout(
        self, locale: str, content: str, subject: str, disclosures: list[str], what: str
    ) -> str:
        layout = self.email_layout(locale)
        if layout is None:
            raise TemplateError(f"{what}: no email layout ({EMAIL_LAYOUT}) in the templates")
        with explained(f"{what}, layout {layout}"):
            chunks = self._env.get_template(layout).generate(
                content=Markup(content),  # noqa: S704 - rendered with autoescape on
                subject=subject,
                disclosures=disclosures,
                lang=locale,
            )
            return bounded_chunks(chunks, f"{what}, layout {layout}")

    # -- checks -------------------------------------------------------------------------

    def check(
        self,
        required: Iterable[tuple[str, Channel]],
        locales: Iterable[str],
        *,
        disclosures: Iterable[str] = (),
    ) -> None:
        """Refuse, all at once, every template these locales would fail to render.

        Reports every missing template (after fallbacks), every variable a template uses
        that :class:`MessageContext` does not have, missing or unknown blocks, sandbox
        violations and failed trial renders (with a sample context, then with each
        optional field empty).

        Parameters:
          required: (template name, channel) pairs, e.g. from the strategy's steps.
          locales: the locales the accounts use.
          disclosures: disclosure names the rule packs use; each must have a text for
            every channel in ``required`` that it applies to.

        Raises :class:`ConfigError` (source: the templates folder) listing every problem.
        """
        problems = find_problems(self, list(required), list(locales), list(disclosures))
        if problems:
            raise ConfigError(str(self.directory), problems)

    def check_all(self, locales: Iterable[str] | None = None) -> None:
        """:meth:`check` every template that exists in any locale, for every locale.

        Parameters:
          locales: default: every locale folder.
        """
        required = sorted({(t.name, t.channel) for t in self.templates()})
        used = sorted({d.disclosure.value for d in self.disclosure_files()})
        self.check(required, self.locales() if locales is None else locales, disclosures=used)


def _render_block(template: Template, part: str, variables: dict[str, object], what: str) -> str:
    block = template.blocks.get(part)
    if block is None:
        raise TemplateError(f"{what}: has no {{% block {part} %}}")
    return bounded_chunks(block(template.new_context(variables)), f"{what}, block {part}")


def _channel(value: Channel | str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise TemplateError(f"unknown channel {value!r} (known: {known})") from None
