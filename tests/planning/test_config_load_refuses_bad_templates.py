"""A template with an unknown variable is refused when the configuration loads — not at 3 a.m.
when the first borrower's message renders — and the running configuration stays."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from orchestrator.clock import VirtualClock
from orchestrator.configuration.source import ConfigSource, load_config
from orchestrator.errors import ConfigError
from orchestrator.settings import load_settings

SETTINGS = load_settings()


@pytest.fixture
def folders(tmp_path):
    config = shutil.copytree(SETTINGS.config_dir, tmp_path / "config")
    templates = shutil.copytree(SETTINGS.templates_dir, tmp_path / "templates")
    return config, templates


def break_due_today(templates):
    path = templates / "en-US" / "sms" / "due_today.j2"
    path.write_text(path.read_text().replace("{{ borrower_name }}", "{{ borrower_nickname }}"))


def test_an_unknown_variable_is_refused_at_load_naming_template_and_variable(folders):
    config, templates = folders
    break_due_today(templates)
    with pytest.raises(ConfigError) as info:
        load_config(config, templates)
    text = str(info.value)
    assert "borrower_nickname" in text
    assert "due_today" in text


def test_a_running_service_keeps_its_templates_when_an_edit_breaks_one(folders):
    config, templates = folders
    clock = VirtualClock(datetime(2026, 11, 2, 15, tzinfo=UTC))
    source = ConfigSource(config, templates, None, now=clock.now)
    running = source.get().version

    break_due_today(templates)

    assert source.refresh() is False
    assert source.get().version == running
    assert "borrower_nickname" in str(source.last_error)
