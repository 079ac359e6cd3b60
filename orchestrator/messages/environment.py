"""The Jinja2 environment every message renders in: sandboxed, strict, folder-bound.

- ``ImmutableSandboxedEnvironment``: a template cannot reach Python internals
  (``''.__class__``) or mutate what it is given; ops edit templates, and a template is
  code that runs in the worker.
- ``StrictUndefined``: a misspelt variable is an error, never an empty string sent to a
  borrower. Printing ``None`` is an error too (an optional fact must be guarded).
- The loader reads only the templates folder (Jinja refuses ``..`` in names) and there
  are no globals (no ``range``, ``lipsum``...): a template sees its
  :class:`~orchestrator.messages.context.MessageContext` and the filters ``money`` and
  ``date``. The ``safe`` filter is removed, so borrower data is always escaped in HTML,
  and ``random`` is removed, so a message is reproducible from the ledger.
- Arithmetic, filters and output are bounded (:mod:`orchestrator.messages.bounds`): no
  ``9 ** 9 ** 9`` or ``'x' * 10 ** 9`` takes a worker down.
- Autoescaping is on for HTML only. An email's ``html`` block is compiled a second time
  under the name ``html:<path>`` with autoescape on; includes made from it inherit the
  prefix. Files named ``*.html.j2`` (the email layout) are always escaped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2 import exceptions as jinja_errors
from jinja2.environment import Environment
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from orchestrator.errors import TemplateError
from orchestrator.messages.bounds import (
    INTERCEPTED_BINOPS,
    REFUSED_FILTERS,
    bounded_filter,
    check_binop,
    check_call,
    check_value,
)
from orchestrator.messages.formatting import date_filter, money_filter

HTML_PREFIX = "html:"
"""Template names starting with this compile with autoescape on (an email's HTML part)."""

_REMOVED_FILTERS = ("safe", "random", *REFUSED_FILTERS)
# str.format and format_map allocate whatever width the format string asks for.
_REFUSED_STR_METHODS = frozenset({"format", "format_map"})


class _FolderLoader(FileSystemLoader):
    """Reads ``templates/``; the ``html:`` prefix selects escaping, not another file."""

    def get_source(self, environment: Environment, template: str) -> Any:
        return super().get_source(environment, template.removeprefix(HTML_PREFIX))


class MessageEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with HTML escaping carried into includes made from an HTML part, and
    arithmetic bounded (see :mod:`orchestrator.messages.bounds`)."""

    intercepted_binops = INTERCEPTED_BINOPS

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return check_value(super().call_binop(context, operator, left, right), repr(operator))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _REFUSED_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Any:
        # Jinja hands out a sandboxed str.format here, before is_safe_attribute is asked.
        if getattr(value, "__name__", None) in _REFUSED_STR_METHODS and isinstance(
            getattr(value, "__self__", None), str
        ):
            raise SecurityError(
                "str.format is not available in templates: use the money and date filters"
            )
        return super().wrap_str_format(value)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_call(__obj, args, kwargs)
        return check_value(super().call(__context, __obj, *args, **kwargs), "a call")

    def join_path(self, template: str, parent: str) -> str:
        if parent.startswith(HTML_PREFIX) and not template.startswith(HTML_PREFIX):
            return HTML_PREFIX + template
        return template


def _escapes(name: str | None) -> bool:
    return name is not None and (name.startswith(HTML_PREFIX) or name.endswith(".html.j2"))


def _refuse_none(value: Any) -> Any:
    if value is None:
        raise TemplateRuntimeError(
            "printed an empty value (None): guard optional fields with {% if field %}"
        )
    return value


def message_environment(directory: Path) -> MessageEnvironment:
    """A fresh environment bound to one templates folder.

    Parameters:
      directory: the templates folder (``templates/``); nothing outside it can be loaded.
    """
    env = MessageEnvironment(
        loader=_FolderLoader(directory, encoding="utf-8", followlinks=False),
        undefined=StrictUndefined,
        autoescape=_escapes,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_refuse_none,
        auto_reload=True,
    )
    env.globals.clear()
    for name in _REMOVED_FILTERS:
        env.filters.pop(name, None)
    env.filters["money"] = money_filter
    env.filters["date"] = date_filter
    for name, function in list(env.filters.items()):
        env.filters[name] = bounded_filter(name, function)
    return env


@contextmanager
def explained(what: str) -> Iterator[None]:
    """Turn whatever Jinja raises into a :class:`TemplateError` that names the template.

    Parameters:
      what: names the template, channel and locale, e.g.
        ``template 'due_today' (sms, zh-CN, file zh-CN/sms/due_today.j2)``.
    """
    try:
        yield
    except jinja_errors.TemplateSyntaxError as exc:
        raise TemplateError(f"{what}: syntax error at line {exc.lineno}: {exc.message}") from exc
    except jinja_errors.SecurityError as exc:
        raise TemplateError(f"{what}: refused by the sandbox: {exc}") from exc
    except jinja_errors.UndefinedError as exc:
        raise TemplateError(f"{what}: undefined variable: {exc.message}") from exc
    except jinja_errors.TemplateNotFound as exc:
        raise TemplateError(f"{what}: includes a template that does not exist: {exc}") from exc
    except (
        jinja_errors.TemplateError,
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        AttributeError,
    ) as exc:
        raise TemplateError(f"{what}: {exc}") from exc
    except RecursionError as exc:
        raise TemplateError(f"{what}: nested too deeply (does a template include itself?)") from exc
