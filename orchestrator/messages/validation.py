"""Everything that would make a template fail at send time, found at load time instead.

"A template with an unknown variable is refused at config load, not at 3 a.m.": this is
what :meth:`TemplateLibrary.check` runs. Static checks read the Jinja syntax tree (unknown
variables with ``jinja2.meta.find_undeclared_variables``, blocks, includes); trial renders
in the sandbox then catch what only running shows (``''.__class__``, a filter given the
wrong type, an optional field printed unguarded).
"""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import meta, nodes

from orchestrator.domain import Channel
from orchestrator.errors import Problem, TemplateError
from orchestrator.messages.context import CONTEXT_FIELDS, OPTIONAL_FIELDS, sample_context
from orchestrator.messages.disclosures import Disclosure, applies_to
from orchestrator.messages.limited_content import ALLOWED_FIELDS, forbidden_fields
from orchestrator.messages.locales import normalize_locale, template_locales
from orchestrator.messages.parts import channel_parts
from orchestrator.messages.template_files import DisclosureFile, TemplateFile, TemplateFolder


def find_problems(
    library: TemplateFolder,
    required: Sequence[tuple[str, Channel]],
    locales: Sequence[str],
    disclosures: Sequence[str],
) -> list[Problem]:
    """Every problem with the templates ``required`` in ``locales``; see
    :meth:`TemplateLibrary.check`, which raises them as one :class:`ConfigError`.

    Parameters:
      library: the folder checked.
      required: (template name, channel) pairs.
      locales: the locales the accounts use; each file is checked once however many
        locales fall back to it.
      disclosures: disclosure names; each needs a text per applicable channel and locale.
    """
    problems: list[Problem] = []
    tags: list[str] = []
    for locale in locales:
        try:
            tags.append(normalize_locale(locale))
        except TemplateError as exc:
            problems.append(Problem(f"locales[{locale!r}]", str(exc)))
    wanted: list[Disclosure] = []
    for name in disclosures:
        try:
            wanted.append(Disclosure.named(name))
        except TemplateError as exc:
            problems.append(Problem("disclosures", str(exc)))
    known_channels = {c.value for c in Channel}
    for name, channel in required:
        if channel not in known_channels:
            problems.append(Problem(f"{name}", f"unknown channel {channel!r}"))
    required = [(name, Channel(channel)) for name, channel in required if channel in known_channels]
    channels = sorted({channel for _, channel in required})
    inspected: set[str] = set()
    for tag in tags:
        for name, channel in required:
            problems.extend(_check_template(library, name, channel, tag, inspected))
        for disclosure in wanted:
            for channel in channels:
                if applies_to(disclosure, channel):
                    problems.extend(_check_disclosure(library, disclosure, channel, tag, inspected))
        emails = any(c.type.template_kind == "email" for c in channels)
        if emails and library.email_layout(tag) is None:
            problems.append(Problem("_layouts/email.html.j2", "missing: the email layout"))
    return problems


def _check_template(
    library: TemplateFolder, name: str, channel: Channel, tag: str, inspected: set[str]
) -> list[Problem]:
    try:
        file = library.find(name, channel, tag)
    except TemplateError as exc:
        return [Problem(f"{tag}/{channel}/{name}", str(exc))]
    if file is None:
        looked = ", ".join(template_locales(tag))
        return [
            Problem(
                f"{tag}/{channel}/{name}.j2",
                f"missing: no {channel} template {name!r} for {tag} (looked in {looked})",
            )
        ]
    if file.path in inspected:
        return []
    inspected.add(file.path)
    return _inspect_template(library, file, tag)


def _inspect_template(library: TemplateFolder, file: TemplateFile, tag: str) -> list[Problem]:
    try:
        tree = library.parse(file.path)
    except TemplateError as exc:
        return [Problem(file.path, str(exc))]
    problems = _structure(file, tree)
    problems += _variables(library, file.path, tree, set())
    if file.limited_content:
        problems += [
            Problem(
                f"{file.path}:{line}",
                f"a limited-content message may not use {field!r}: only "
                f"{', '.join(sorted(ALLOWED_FIELDS))} (12 CFR 1006.2(j))",
            )
            for field, line in forbidden_fields(tree)
        ]
    if problems:
        return problems
    context = sample_context()
    try:
        library.render(file.name, file.channel, tag, context)
    except TemplateError as exc:
        return [Problem(file.path, f"trial render failed: {exc}")]
    for field in OPTIONAL_FIELDS:
        if file.limited_content and field in ALLOWED_FIELDS:
            continue  # required there: render refuses a voicemail without it
        try:
            library.render(file.name, file.channel, tag, context.emptied(field))
        except TemplateError as exc:
            problems.append(
                Problem(
                    file.path,
                    f"fails when {field} is empty; guard it with {{% if {field} %}}: {exc}",
                )
            )
    return problems


def _check_disclosure(
    library: TemplateFolder,
    disclosure: Disclosure,
    channel: Channel,
    tag: str,
    inspected: set[str],
) -> list[Problem]:
    file = library.find_disclosure(disclosure, channel, tag)
    if file is None:
        return [
            Problem(
                f"{tag}/_disclosures/{disclosure.value}.{channel}.j2",
                f"missing: no text for disclosure {disclosure.value!r} on {channel} in {tag} "
                f"or its fallbacks",
            )
        ]
    if file.path in inspected:
        return []
    inspected.add(file.path)
    return _inspect_disclosure(library, file, channel, tag)


def _inspect_disclosure(
    library: TemplateFolder, file: DisclosureFile, channel: Channel, tag: str
) -> list[Problem]:
    try:
        tree = library.parse(file.path)
    except TemplateError as exc:
        return [Problem(file.path, str(exc))]
    problems = _variables(library, file.path, tree, set())
    if problems:
        return problems
    context = sample_context()
    for trial in (context, *(context.emptied(f) for f in OPTIONAL_FIELDS)):
        try:
            text = library.render_disclosure(file.disclosure, channel, tag, trial)
        except TemplateError as exc:
            return [Problem(file.path, f"trial render failed: {exc}")]
        if not text:
            return [Problem(file.path, "renders to nothing")]
    return []


def _structure(file: TemplateFile, tree: nodes.Template) -> list[Problem]:
    """Blocks, inheritance, stray text and escaping: the shape a message template has."""
    parts = channel_parts(file.channel)
    problems: list[Problem] = []
    for extends in tree.find_all(nodes.Extends):
        problems.append(
            Problem(
                f"{file.path}:{extends.lineno}",
                "templates are self-contained: use {% include %} for shared text, "
                "not {% extends %}",
            )
        )
    blocks = {block.name: block.lineno for block in tree.find_all(nodes.Block)}
    for part in parts:
        if part not in blocks:
            problems.append(
                Problem(
                    file.path,
                    f"has no {{% block {part} %}} (a {file.channel} template defines "
                    f"{', '.join(parts)})",
                )
            )
    for name, line in blocks.items():
        if name not in parts:
            problems.append(
                Problem(
                    f"{file.path}:{line}",
                    f"block {name!r} is never sent: a {file.channel} message has "
                    f"{', '.join(parts)}",
                )
            )
    for node in tree.body:
        if isinstance(node, nodes.Output) and not all(
            isinstance(child, nodes.TemplateData) and not child.data.strip() for child in node.nodes
        ):
            problems.append(
                Problem(f"{file.path}:{node.lineno}", "text outside any block is never sent")
            )
    for modifier in tree.find_all(nodes.EvalContextModifier):
        for option in modifier.options:
            if option.key == "autoescape":
                problems.append(
                    Problem(
                        f"{file.path}:{modifier.lineno}",
                        "sets autoescape: HTML escaping is the engine's, not the template's",
                    )
                )
    return problems


def _variables(
    library: TemplateFolder, path: str, tree: nodes.Template, seen: set[str]
) -> list[Problem]:
    """Unknown variables in ``tree`` and in every template it includes."""
    seen.add(path)
    problems: list[Problem] = _unbounded(path, tree)
    unknown = meta.find_undeclared_variables(tree) - CONTEXT_FIELDS
    known = ", ".join(sorted(CONTEXT_FIELDS))
    for name in sorted(unknown, key=lambda n: (_first_line(tree, n), n)):
        problems.append(
            Problem(
                f"{path}:{_first_line(tree, name)}",
                f"uses variable {name!r}, which MessageContext does not have (it has: {known})",
            )
        )
    for include in meta.find_referenced_templates(tree):
        if include is None:
            problems.append(Problem(path, "includes a template whose name is computed"))
        elif include not in seen:
            try:
                included = library.parse(include)
            except TemplateError as exc:
                problems.append(Problem(path, f"includes {include!r}: {exc}"))
                continue
            problems += _variables(library, include, included, seen)
    return problems


def _unbounded(path: str, tree: nodes.Template) -> list[Problem]:
    """Structures whose render time has no bound: a loop inside a loop (directly or through
    an include), a recursive loop, a macro (which can call itself). With no ``range`` and
    values of bounded length, what is left does one pass over a bounded value."""
    problems: list[Problem] = []
    nested: dict[int, str] = {}
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            problems.append(Problem(f"{path}:{loop.lineno}", "recursive loops are not allowed"))
        for part in (*loop.body, *loop.else_):
            for node in (part, *part.find_all((nodes.For, nodes.Include))):
                if isinstance(node, nodes.For | nodes.Include):
                    nested[node.lineno] = "a loop" if isinstance(node, nodes.For) else "an include"
    problems += [
        Problem(f"{path}:{line}", f"{kind} inside a loop: loops may not nest (render time)")
        for line, kind in sorted(nested.items())
    ]
    for macro in tree.find_all((nodes.Macro, nodes.CallBlock)):
        problems.append(
            Problem(f"{path}:{macro.lineno}", "macros are not allowed in message templates")
        )
    return problems


def _first_line(tree: nodes.Template, variable: str) -> int:
    lines = [n.lineno for n in tree.find_all(nodes.Name) if n.name == variable]
    return min(lines, default=0)
