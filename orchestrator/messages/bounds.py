"""How much work a template may ask of a worker: bounded arithmetic, values and output.

A template is code that runs in every worker, and Jinja's sandbox keeps it away from Python
internals but not from the CPU or memory: ``{{ 9 ** 9 ** 9 }}``, ``{{ 'x' * 10 ** 9 }}``,
``{{ name|center(10 ** 9) }}`` or ``{{ s|replace('a', s) }}`` each take a worker down.
These limits stop every one of them *before* the big value is built:

- ``*`` and ``**`` are intercepted (:meth:`MessageEnvironment.call_binop`): a string or
  list repeated past :data:`MAX_VALUE_CHARS`, an integer past :data:`MAX_INT_BITS` bits, or
  an exponent past :data:`MAX_EXPONENT` is refused; ``%`` string formatting is refused
  (widths such as ``%0999999999d``; the ``money`` and ``date`` filters format values);
- every filter's integer arguments (widths, counts) are at most :data:`MAX_FILTER_ARGUMENT`
  and its result at most :data:`MAX_VALUE_CHARS` long; ``replace`` checks the length it
  would produce first; ``format`` and ``str.format`` are unavailable;
- the text rendered for one part of a message stops at :data:`MAX_RENDERED_CHARS`;
- render time is bounded by structure, checked at config load: no ``range`` (no globals),
  no nested or recursive loops, no macros, so a template does at most one pass over a value
  of bounded size.

Each refusal is a :class:`jinja2.exceptions.SecurityError`, so it reads "refused by the
sandbox" in the :class:`~orchestrator.errors.TemplateError` that names the template.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

from jinja2.exceptions import SecurityError

MAX_VALUE_CHARS = 100_000
"""Longest string or list a template may build (an email body is a few thousand)."""

MAX_RENDERED_CHARS = 200_000
"""Longest text one part (body, subject, html...) of one message may render to."""

MAX_INT_BITS = 1024
"""Largest integer a template may compute (amounts and days need a few dozen bits)."""

MAX_EXPONENT = 1024
"""Largest exponent ``**`` accepts."""

MAX_FILTER_ARGUMENT = 10_000
"""Largest integer argument a filter accepts (``center(width)``, ``indent(width)``...)."""

INTERCEPTED_BINOPS = frozenset({"*", "**", "%"})
"""Operators a template's arithmetic goes through :func:`check_binop` for (which also stops
Jinja folding them as constants at compile time)."""

REFUSED_FILTERS = ("format",)
"""Filters removed: ``'%0999999999d'|format(1)`` allocates before anything can check it."""


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left operator right`` when its result would be too big to build.

    Raises :class:`SecurityError` naming the limit.
    """
    if operator == "%" and isinstance(left, str):
        raise SecurityError(
            "string formatting with % is not available in templates: use the money and date filters"
        )
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and _is_int(times):
                if len(sequence) * max(times, 0) > MAX_VALUE_CHARS:
                    raise SecurityError(
                        f"'*' would build a value of {len(sequence) * times} items "
                        f"(at most {MAX_VALUE_CHARS})"
                    )
                return
        if _is_int(left) and _is_int(right) and _bits(left) + _bits(right) > MAX_INT_BITS:
            raise SecurityError(f"'*' would compute an integer over {MAX_INT_BITS} bits")
    if operator == "**" and _is_int(right):
        if abs(right) > MAX_EXPONENT:
            raise SecurityError(f"'**' with exponent {right} (at most {MAX_EXPONENT})")
        if _is_int(left) and right > 0 and _bits(left) * right > MAX_INT_BITS:
            raise SecurityError(f"'**' would compute an integer over {MAX_INT_BITS} bits")


def check_value(value: Any, what: str) -> Any:
    """``value``, unless it is a string or list longer than :data:`MAX_VALUE_CHARS`."""
    if isinstance(value, str | list | tuple) and len(value) > MAX_VALUE_CHARS:
        raise SecurityError(
            f"{what} built a value of {len(value)} items (at most {MAX_VALUE_CHARS})"
        )
    return value


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a Jinja filter) with its integer arguments, the length it would build
    (``indent``, ``join``, ``replace``) and its result bounded."""
    # The value filtered follows the context Jinja passes first to some filters.
    value_at = 1 if hasattr(function, "jinja_pass_arg") else 0
    estimate = _FILTER_GROWTH.get(name)

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(args[value_at + 1 :], kwargs, f"filter {name!r}")
        if estimate is not None and len(args) > value_at:
            _check_growth(estimate, (args[value_at], *args[value_at + 1 :]), kwargs, name)
        return check_value(function(*args, **kwargs), f"filter {name!r}")

    return bounded


def check_call(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call a template makes (``name.center(10 ** 9)``, ``s.replace('a', s)``)
    that would build more than :data:`MAX_VALUE_CHARS`, before it is made."""
    # Jinja passes its own scope along (``_block_vars``, ``_loop_vars``); the call drops it.
    kwargs = {k: v for k, v in kwargs.items() if k not in _JINJA_SCOPE}
    _check_arguments(args, kwargs, "a call")
    owner = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    estimate = _METHOD_GROWTH.get(name)
    if isinstance(owner, str) and estimate is not None:
        _check_growth(estimate, (owner, *args), kwargs, f"str.{name}")


def _check_arguments(args: Iterable[Any], kwargs: dict[str, Any], what: str) -> None:
    for argument in (*args, *kwargs.values()):
        if _is_int(argument) and abs(argument) > MAX_FILTER_ARGUMENT:
            raise SecurityError(f"{what} given {argument} (at most {MAX_FILTER_ARGUMENT})")


def _check_growth(
    estimate: Callable[..., int], args: tuple[Any, ...], kwargs: dict[str, Any], what: str
) -> None:
    try:
        size = estimate(*args, **kwargs)
    except (TypeError, ValueError):
        return  # a wrong call: the call itself says what is wrong
    if size > MAX_VALUE_CHARS:
        raise SecurityError(f"{what} would build {size} characters (at most {MAX_VALUE_CHARS})")


def _replaced(value: Any, old: Any, new: Any, count: Any = None) -> int:
    text, before, after = str(value), str(old), str(new)
    hits = text.count(before) if before else len(text) + 1
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(after) - len(before), 0)


def _joined(separator: Any, items: Any) -> int:
    if not isinstance(items, str | list | tuple | dict | set | frozenset):
        return 0  # not sized: the result is checked once built
    check_value(items if isinstance(items, str | list | tuple) else list(items), "join")
    return len(str(separator)) * len(items) + sum(len(str(item)) for item in items)


def _joined_filter(items: Any, d: Any = "", attribute: Any = None) -> int:
    return _joined(d, items)


def _indented(value: Any, width: Any = 4, first: Any = False, blank: Any = False) -> int:
    text = str(value)
    per_line: int = width if _is_int(width) else len(str(width))
    return len(text) + (text.count("\n") + 1) * per_line


def _expanded(value: Any, tabsize: Any = 8) -> int:
    text = str(value)
    size: int = tabsize if _is_int(tabsize) else 8
    return len(text) + text.count("\t") * size


_JINJA_SCOPE = frozenset({"_block_vars", "_loop_vars"})
_FILTER_GROWTH: dict[str, Callable[..., int]] = {
    "replace": _replaced,
    "join": _joined_filter,
    "indent": _indented,
}
_METHOD_GROWTH: dict[str, Callable[..., int]] = {
    "replace": _replaced,
    "join": _joined,
    "expandtabs": _expanded,
}


def bounded_chunks(chunks: Iterable[str], what: str) -> str:
    """Join rendered output, refusing it once it passes :data:`MAX_RENDERED_CHARS`."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise SecurityError(f"{what} renders to more than {MAX_RENDERED_CHARS} characters")
        parts.append(chunk)
    return "".join(parts)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _bits(value: int) -> int:
    return max(abs(value).bit_length(), 1)


__all__ = [
    "INTERCEPTED_BINOPS",
    "MAX_EXPONENT",
    "MAX_FILTER_ARGUMENT",
    "MAX_INT_BITS",
    "MAX_RENDERED_CHARS",
    "MAX_VALUE_CHARS",
    "REFUSED_FILTERS",
    "bounded_chunks",
    "bounded_filter",
    "check_binop",
    "check_call",
    "check_value",
]
