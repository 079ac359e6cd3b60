"""The README's map of the code names every package and module at the top of
``orchestrator/``, so a newcomer can find any concern from it (and it cannot fall behind the
tree unnoticed)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _top_level() -> list[str]:
    names = []
    for entry in sorted((ROOT / "orchestrator").iterdir()):
        if entry.is_dir() and (entry / "__init__.py").exists():
            names.append(f"{entry.name}/")
        elif entry.suffix == ".py" and entry.name not in {"__init__.py", "__main__.py"}:
            names.append(entry.name)
    return names


def test_the_readme_maps_every_package_and_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in _top_level() if name not in readme]
    assert not missing, f"README.md's map of the code does not mention: {', '.join(missing)}"


def test_the_readme_maps_nothing_that_is_gone() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`orchestrator/([a-z_]+)/`", readme))
    gone = [name for name in sorted(named) if not (ROOT / "orchestrator" / name).is_dir()]
    assert not gone, f"README.md maps packages that do not exist: {', '.join(gone)}"
