"""Adapter discovery through the ``orchestrator.channels`` entry-point group.

The built-in adapters are registered in this project's ``pyproject.toml``; a lender's own
package registers more the same way and they appear here without a change to the core.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from channels.base import Adapter
from orchestrator.errors import ConfigError, Problem

GROUP = "orchestrator.channels"


@cache
def adapters() -> dict[str, type[Adapter]]:
    """Every registered adapter class by name."""
    found: dict[str, type[Adapter]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            raise ConfigError(GROUP, [Problem(ep.name, f"{ep.value} is not an Adapter")])
        if cls.name != ep.name:
            raise ConfigError(GROUP, [Problem(ep.name, f"{ep.value} calls itself {cls.name!r}")])
        found[ep.name] = cls
    return found


def adapter_class(name: str) -> type[Adapter]:
    """The adapter registered as ``name``; a clear error listing the known ones otherwise."""
    known = adapters()
    try:
        return known[name]
    except KeyError:
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            "channels", [Problem(name, f"no adapter named {name!r} (registered: {names})")]
        ) from None
