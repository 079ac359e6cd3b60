"""Reading the configuration files: the global defaults under ``config/`` and ``templates/``.

Every part is read even when an earlier one is wrong, so one :class:`ConfigRefused` lists
every problem at once (``orchestrator config validate`` prints them all); the files are then
kept as a :class:`FileConfig` and reused until one of them changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from channels.registry import adapter_class
from orchestrator.configuration.channel_config import ChannelsConfig, parse_channels
from orchestrator.configuration.credentials import naming_problems
from orchestrator.configuration.rulepacks import RuleLibrary, load_rule_library
from orchestrator.configuration.strategies import Strategy, parse_strategy
from orchestrator.configuration.versions import Kind
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, Problem
from orchestrator.logs import get_logger
from orchestrator.messages.approved_texts import approved_text_problems
from orchestrator.messages.library import TemplateLibrary
from orchestrator.messages.waivers import WAIVERS_FILE, LintOutcome, enforce_lint, parse_waivers

DEFAULT_STRATEGY = "default"
CHECKED_LOCALES = ("en-US", "zh-CN")
# The scope problems in the files belong to (a tenant's scope is its slug, never empty).
FILES = ""

log = get_logger(__name__)

_T = TypeVar("_T")
TemplatePair = tuple[str, Channel]


class ConfigRefused(ConfigError):
    """A configuration refused as a whole, with every part that is wrong.

    Parameters:
      parts: (scope, error) pairs: ``FILES`` for a file, else the tenant slug whose stored
        version is wrong; each error names its source and the path of every problem.
    """

    def __init__(self, parts: Sequence[tuple[str, ConfigError]]) -> None:
        self.parts = tuple(parts)
        if len(self.parts) == 1:
            only = self.parts[0][1]
            super().__init__(only.source, only.problems)
        else:
            super().__init__(
                "the configuration",
                [
                    Problem(f"{error.source}: {p.path}" if p.path else error.source, p.message)
                    for _, error in self.parts
                    for p in error.problems
                ],
            )


class Refusals:
    """Collects the errors of independent parts so all of them are reported together."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, ConfigError]] = []

    def attempt(self, scope: str, load: Callable[..., _T], *args: Any) -> _T | None:
        """``load(*args)``, or ``None`` after recording why it was refused."""
        try:
            return load(*args)
        except ConfigRefused as exc:
            self.parts.extend(exc.parts)
        except ConfigError as exc:
            self.parts.append((scope, exc))
        return None

    def add(self, scope: str, error: ConfigError) -> None:
        self.parts.append((scope, error))

    def raise_any(self) -> None:
        if self.parts:
            raise ConfigRefused(self.parts)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [Problem("", f"cannot read it: {exc.strerror}")]) from None
    return parse_yaml(text, str(path))


# libyaml's loader where PyYAML has it: parsing every tenant's versions at start-up is
# then some ten times faster. Safe either way (plain data types only).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64
# No setting is a number this long; Python refuses to read decimal ones past 4,300 digits
# anyway, and a hexadecimal one would only be refused later, as a huge value.
MAX_NUMBER_DIGITS = 32
_RESOLVER: Any = yaml.resolver.Resolver()
_INT = "tag:yaml.org,2002:int"


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _screen(text: str, source: str, *, aliases: bool) -> None:
    """Refuse, before building anything, what is unsafe to build: nesting deeper than
    :data:`MAX_DEPTH` (the C composer recurses without a limit), and aliases (``*name``)
    where not accepted (a few lines of them expand into billions of values). Events are
    read lazily, so a bad document costs only up to its first offence.

    libyaml reads ahead and, from 0.2.6 on, refuses nesting past 1,000 levels itself, before
    our limit sees the 65th level. So when the fast parser refuses a document, the
    pure-Python parser (same events, no limit of its own) reads it again: our own reasons
    speak first whichever libyaml is installed, and a genuine syntax error is reported as
    before."""
    try:
        _screen_events(yaml.parse(text, Loader=_LOADER), source, aliases=aliases)
    except yaml.YAMLError as refused:
        if _LOADER is yaml.SafeLoader:
            raise
        try:
            _screen_events(yaml.parse(text, Loader=yaml.SafeLoader), source, aliases=aliases)
        except yaml.YAMLError:
            raise refused from None
        raise


def _screen_events(events: Any, source: str, *, aliases: bool) -> None:
    depth = 0
    for event in events:
        reason = None
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                reason = f"nested deeper than {MAX_DEPTH} levels"
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
        elif not aliases and isinstance(event, yaml.AliasEvent):
            reason = "aliases (*name) are not accepted in a stored config"
        elif isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_NUMBER_DIGITS:
            reason = _long_number(event)
        if reason is not None:
            problem = Problem(_where(event.start_mark), f"not valid YAML: {reason}")
            raise ConfigError(source, [problem])


def _tag(event: Any) -> str:
    if event.tag not in (None, "!"):
        return str(event.tag)
    return str(_RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit))


def _long_number(event: Any) -> str | None:
    if _tag(event) != _INT:
        return None
    digits = event.value.lstrip("+-").replace("_", "")
    if digits[:2].lower() in ("0x", "0o", "0b"):
        digits = digits[2:]
    return f"a number of {len(digits)} digits is out of range (at most {MAX_NUMBER_DIGITS})"


def _unreadable_value(text: str) -> Problem | None:
    """Where a document that parses holds a value that cannot be built (a date that does not
    exist, say), and why: read again scalar by scalar, only after the whole failed."""
    constructor = yaml.constructor.SafeConstructor()
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if not isinstance(event, yaml.ScalarEvent):
            continue
        tag = _tag(event)
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            constructor.construct_object(node)
        except (ValueError, OverflowError) as exc:
            kind = tag.rsplit(":", 1)[-1]
            return Problem(_where(event.start_mark), f"not a valid {kind}: {exc}")
        except yaml.YAMLError:
            continue
    return None


def parse_yaml(text: str, source: str, *, aliases: bool = True) -> Any:
    """The YAML document; a syntax error is reported at its line and column.

    Parameters:
      aliases: accept ``&anchor`` / ``*alias`` (the files); content sent through the API
        may not use them.
    """
    try:
        _screen(text, source, aliases=aliases)
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except (ValueError, OverflowError) as exc:
        found = _unreadable_value(text) or Problem("", f"not a valid value: {exc}")
        raise ConfigError(source, [found]) from None
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc)
        where = _where(getattr(exc, "problem_mark", None))
        raise ConfigError(source, [Problem(where, f"not valid YAML: {reason}")]) from None


def parse_mapping(text: str, source: str, *, aliases: bool = True) -> dict[str, Any]:
    """A YAML document that must be a mapping (``key: value`` lines); empty is ``{}``."""
    data = parse_yaml(text, source, aliases=aliases)
    if data is None:
        return {}
    if not isinstance(data, dict):
        found = type(data).__name__
        raise ConfigError(source, [Problem("", f"must be a mapping (key: value), not a {found}")])
    return data


_ENV = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}")


def interpolate(text: str, source: str, env: Mapping[str, str] | None = None) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with environment values (URLs and hosts
    that differ per deployment; never credentials, which stay as variable names)."""
    values = os.environ if env is None else env

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = values.get(name)
        if found:
            return found
        if default is None:
            raise ConfigError(source, [Problem("", f"environment variable {name} is not set")])
        return default

    return _ENV.sub(value, text)


def variable_uses(data: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, variable) for every environment variable a parsed document's values
    interpolate (comments, which are not values, do not count)."""
    if isinstance(data, str):
        return [(path, m.group(1)) for m in _ENV.finditer(data)]
    if isinstance(data, Mapping):
        return [
            use
            for key, value in data.items()
            for use in variable_uses(value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(data, list | tuple):
        return [use for i, value in enumerate(data) for use in variable_uses(value, f"{path}[{i}]")]
    return []


def variables_in(data: Any) -> set[str]:
    """The environment variables a parsed document's values interpolate."""
    return {name for _, name in variable_uses(data)}


def interpolate_values(data: Any, source: str, env: Mapping[str, str] | None = None) -> Any:
    """``data`` with :func:`interpolate` applied to every string value: an environment
    value stays a value, whatever characters it holds."""
    if isinstance(data, str):
        return interpolate(data, source, env)
    if isinstance(data, Mapping):
        return {key: interpolate_values(value, source, env) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [interpolate_values(value, source, env) for value in data]
    return data


def load_channels(text: str, source: str, *, aliases: bool = True) -> ChannelsConfig:
    """A channel config from its YAML text, environment values interpolated."""
    return channels_from(parse_mapping(text, source, aliases=aliases), source)


def channels_from(data: Mapping[str, Any], source: str) -> ChannelsConfig:
    """A channel config from its parsed YAML, environment values interpolated."""
    channels = parse_channels(interpolate_values(data, source), source)
    problems = naming_problems(channels)
    if problems:
        raise ConfigError(source, problems)
    return channels


def _strategy_files(directory: Path) -> dict[str, tuple[Strategy, Path]]:
    refusals = Refusals()
    found: dict[str, tuple[Strategy, Path]] = {}
    for path in sorted(directory.glob("*.yaml")):
        strategy = refusals.attempt(FILES, _strategy_file, path)
        if strategy is None:
            continue
        if strategy.name in found:
            problem = Problem("name", f"{strategy.name!r} is defined twice")
            refusals.add(FILES, ConfigError(str(path), [problem]))
            continue
        found[strategy.name] = (strategy, path)
    if not refusals.parts and DEFAULT_STRATEGY not in found:
        refusals.add(
            FILES, ConfigError(str(directory), [Problem("", "no strategy named 'default'")])
        )
    refusals.raise_any()
    return found


def _strategy_file(path: Path) -> Strategy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [Problem("", f"cannot read it: {exc.strerror}")]) from None
    return parse_strategy(parse_mapping(text, str(path)), str(path))


def load_strategies(directory: Path) -> dict[str, Strategy]:
    """Every strategy file by name; one of them must be ``default``."""
    return {name: strategy for name, (strategy, _) in _strategy_files(directory).items()}


def check_templates(strategies: list[Strategy], templates: TemplateLibrary) -> None:
    """Every template a strategy may send exists in every checked locale and renders: a
    template with an unknown variable is refused here, at load, not at 3 a.m."""
    required = sorted({pair for s in strategies for pair in s.templates()})
    templates.check(required, CHECKED_LOCALES)


def template_routes(strategy: Strategy) -> list[tuple[str, str, Channel]]:
    """(path, template, channel) for every template a step or one of its fallbacks may
    render, ``path`` pointing into the strategy document."""
    routes: list[tuple[str, str, Channel]] = []
    for i, segment in enumerate(strategy.segments):
        ladders = [(f"segments[{i}].steps", segment.steps)] + [
            (f"segments[{i}].variants[{v}].steps", variant.steps or ())
            for v, variant in enumerate(segment.variants)
        ]
        for prefix, ladder in ladders:
            for j, step in enumerate(ladder):
                routes.append((f"{prefix}[{j}].template", step.template, step.channel))
                for k, fallback in enumerate(step.fallback):
                    template = fallback.template or step.template
                    routes.append((f"{prefix}[{j}].fallback[{k}]", template, fallback.channel))
    return routes


def check_strategy_templates(
    strategy: Strategy,
    templates: TemplateLibrary,
    source: str,
    known: frozenset[TemplatePair] = frozenset(),
) -> frozenset[TemplatePair]:
    """Check the templates a strategy may render (those not already ``known`` to be good)
    and return them; a problem is reported at the step that names the template.

    Raises :class:`ConfigError` (source: ``source``) with every problem.
    """
    routes = template_routes(strategy)
    pairs = sorted({(template, channel) for _, template, channel in routes} - known)
    try:
        templates.check(pairs, CHECKED_LOCALES)
        return frozenset(pairs)
    except ConfigError as whole:
        failure = whole
    # Slow path, only when something is wrong: find which templates, to name their steps.
    found: dict[TemplatePair, tuple[Problem, ...]] = {}
    for pair in pairs:
        try:
            templates.check([pair], CHECKED_LOCALES)
        except ConfigError as exc:
            found[pair] = exc.problems
    problems = [
        Problem(path, f"template {template!r} ({channel}): {problem}")
        for path, template, channel in routes
        for problem in found.get((template, channel), ())
    ]
    raise ConfigError(source, problems or failure.problems)


def check_approved_texts(
    channels: ChannelsConfig, templates: TemplateLibrary, required: Sequence[str], source: str
) -> None:
    """Check every provider's pre-approved texts (Aliyun ``approved_texts``) as templates
    are checked: lint, parameters, disclosures (see
    :mod:`orchestrator.messages.approved_texts`).

    Parameters:
      channels: the channel config (its settings already validated by each adapter).
      templates: the lint lists and disclosure texts.
      required: disclosures every electronic message needs under the rule packs.
      source: the file or stored version, for the error.

    Raises :class:`ConfigError` with every problem, at the path of each text.
    """
    problems: list[Problem] = []
    for channel, config in channels.channels.items():
        for index, provider in enumerate(config.providers):
            if not provider.settings.get("approved_texts"):
                continue
            settings = adapter_class(provider.adapter).Settings.model_validate(provider.settings)
            for code, approved in getattr(settings, "approved_texts", {}).items():
                path = f"channels.{channel}.providers[{index}].settings.approved_texts.{code}"
                problems += approved_text_problems(templates, path, approved, required=required)
    if problems:
        raise ConfigError(source, problems)


def electronic_disclosures(rules: RuleLibrary) -> list[str]:
    """Disclosures some rule pack requires on every electronic message."""
    return sorted({name for pack in rules.packs.values() for name in pack.disclosures.electronic})


def _lint_templates(config_dir: Path, templates: TemplateLibrary, source: str) -> LintOutcome:
    """Enforce lint over the templates with the waivers in ``config/templates.yaml``; log
    each waived finding (the audit trail of an exception) and each unused waiver."""
    path = config_dir / WAIVERS_FILE
    waivers = parse_waivers(read_yaml(path), str(path)) if path.exists() else ()
    outcome = enforce_lint(templates, waivers, source=source)
    for waived in outcome.waived:
        log.warning(
            "template lint finding waived",
            template=waived.finding.path,
            line=waived.finding.line,
            rule=waived.waiver.rule,
            phrase=waived.finding.phrase,
            reason=waived.waiver.reason,
            approved_by=waived.waiver.approved_by,
        )
    for waiver in outcome.unused:
        log.warning(
            "lint waiver matches nothing: remove it",
            template=waiver.template,
            rule=waiver.rule,
            phrase=waiver.phrase,
        )
    return outcome


class TemplateSnapshot(TemplateLibrary):
    """The templates as they were when the configuration was loaded, read from a private
    copy that lives as long as this library.

    Templates are read lazily (and Jinja reloads a changed file), so a library over the
    folder itself would let a broken edit reach the running version before any check; the
    copy keeps the version in force exactly as it was checked.

    Parameters:
      directory: the templates folder to copy.
    """

    def __init__(self, directory: Path) -> None:
        if not Path(directory).is_dir():
            raise ConfigError(str(directory), [Problem("", "templates folder does not exist")])
        self.original = Path(directory)
        self._copy = tempfile.TemporaryDirectory(prefix="orchestrator-templates-")
        target = Path(self._copy.name) / "templates"
        shutil.copytree(directory, target)
        super().__init__(target)


@dataclass(frozen=True, slots=True)
class FileDefault:
    """What a tenant without a version of its own gets for one kind.

    Parameters:
      path: the file or folder, relative to the config folder's parent (``config/...``).
      content: the file's text (``None`` for the rule packs: several files, no overlay).
      sha256: of ``content``.
    """

    path: str
    content: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class FileConfig:
    """The files as loaded: the global defaults every tenant starts from.

    Parameters:
      rules: the rule library (country packs, state overlays).
      strategies: every strategy file by name.
      templates: the message templates.
      channels: the channel config (``None`` without ``channels.yaml``).
      defaults: per kind, what a tenant without its own version gets.
      variables: the environment variables ``channels.yaml`` interpolates, with the values
        they had when it was read.
      checked: (template, channel) pairs the file strategies use, checked good.
      lint: the lint findings waived in ``config/templates.yaml`` (every other one refuses
        the files).
      digest: SHA-256 over every file.
      parsed: tenants' stored versions already checked against these files, by (tenant,
        kind, version, SHA-256): a reload parses only what changed.
    """

    rules: RuleLibrary
    strategies: Mapping[str, Strategy]
    templates: TemplateLibrary
    channels: ChannelsConfig | None
    defaults: Mapping[Kind, FileDefault]
    variables: Mapping[str, str | None]
    checked: frozenset[TemplatePair]
    digest: str
    lint: LintOutcome = field(default_factory=LintOutcome)
    parsed: dict[tuple[str, str, int, str], Any] = field(
        default_factory=dict, repr=False, compare=False
    )


def _default(path: Path, root: Path) -> FileDefault:
    text = path.read_text(encoding="utf-8")
    return FileDefault(
        path.relative_to(root).as_posix(), text, hashlib.sha256(text.encode()).hexdigest()
    )


def load_files(config_dir: Path, templates_dir: Path) -> FileConfig:
    """Read and cross-check the files; :class:`ConfigRefused` lists every problem in them."""
    refusals = Refusals()
    root = config_dir.parent
    rules = refusals.attempt(FILES, load_rule_library, config_dir / "compliance")
    strategies = refusals.attempt(FILES, _strategy_files, config_dir / "strategies")
    channels_file = config_dir / "channels.yaml"
    channels = None
    variables: set[str] = set()
    if channels_file.exists():
        text = channels_file.read_text(encoding="utf-8")
        data = refusals.attempt(FILES, parse_mapping, text, str(channels_file))
        if data is not None:
            channels = refusals.attempt(FILES, channels_from, data, str(channels_file))
            variables = variables_in(data)
    templates = refusals.attempt(FILES, TemplateSnapshot, templates_dir)
    lint = None
    if templates is not None:
        lint = refusals.attempt(FILES, _lint_templates, config_dir, templates, str(templates_dir))
        if channels is not None and rules is not None:
            refusals.attempt(
                FILES,
                check_approved_texts,
                channels,
                templates,
                electronic_disclosures(rules),
                str(channels_file),
            )
    checked: frozenset[TemplatePair] = frozenset()
    if strategies and templates is not None:
        for strategy, path in strategies.values():
            good = refusals.attempt(
                FILES, check_strategy_templates, strategy, templates, str(path), checked
            )
            checked |= good or frozenset()
    refusals.raise_any()
    if rules is None or strategies is None or templates is None:
        raise AssertionError("unreachable: a part that failed was refused above")
    defaults = {
        Kind.STRATEGY: _default(strategies[DEFAULT_STRATEGY][1], root),
        Kind.RULES: FileDefault((config_dir / "compliance").relative_to(root).as_posix()),
    }
    if channels is not None:
        defaults[Kind.CHANNELS] = _default(channels_file, root)
    # A tenant without texts of its own uses the folder's (several files, no document).
    defaults[Kind.TEMPLATES] = FileDefault(templates_dir.name)
    digest = hashlib.sha256()
    # Relative paths: the same files give the same version on every machine.
    for label, folder, pattern in (
        ("config", config_dir, "*.yaml"),
        ("templates", templates.directory, "*"),
    ):
        for path in sorted(folder.rglob(pattern)):
            if path.is_file():
                digest.update(f"{label}/{path.relative_to(folder).as_posix()}".encode())
                digest.update(path.read_bytes())
    return FileConfig(
        rules,
        {name: strategy for name, (strategy, _) in strategies.items()},
        templates,
        channels,
        defaults,
        {name: os.environ.get(name) for name in sorted(variables)},
        checked,
        digest.hexdigest(),
        lint or LintOutcome(),
    )
