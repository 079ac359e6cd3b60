"""Fixtures: the shipped templates, and scratch folders built on them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.messages import TemplateLibrary

SHIPPED = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture(scope="session")
def shipped() -> TemplateLibrary:
    """The templates this repository ships."""
    return TemplateLibrary(SHIPPED)


@pytest.fixture
def scratch(tmp_path: Path) -> Callable[[dict[str, str]], TemplateLibrary]:
    """A templates folder with the shipped layout, disclosures and phrase lists, plus the
    files given as {relative path: text}."""

    def build(files: dict[str, str]) -> TemplateLibrary:
        root = tmp_path / "templates"
        if not root.exists():
            shutil.copytree(SHIPPED / "_layouts", root / "_layouts")
            shutil.copytree(SHIPPED / "_lint", root / "_lint")
            for locale in ("en-US", "zh-CN"):
                shutil.copytree(SHIPPED / locale / "_disclosures", root / locale / "_disclosures")
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return TemplateLibrary(root)

    return build
