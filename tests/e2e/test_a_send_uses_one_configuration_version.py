"""A send is checked, routed and rendered with one version of the configuration: a reload
that lands while a task is being claimed takes effect from the next claim, never half-way
(a rule pack and providers of one version with the templates of another)."""

from __future__ import annotations

import shutil

from orchestrator.configuration.source import ConfigSet, ConfigSource
from orchestrator.dispatch import Outcome, build_dispatch
from orchestrator.services import Services


class ReloadedAfterTheFirstRead(ConfigSource):
    """A real configuration source whose reload lands just after its first read: from the
    second read on it serves ``newer`` (a real version, assembled from other templates)."""

    newer: ConfigSet | None = None
    reads = 0

    def get(self) -> ConfigSet:
        self.reads += 1
        if self.reads > 1 and self.newer is not None:
            return self.newer
        return super().get()


def test_a_reload_during_a_claim_is_used_from_the_next_claim_on(stack, tmp_path):
    settings = stack.services.settings
    newer_templates = tmp_path / "templates"
    shutil.copytree(settings.templates_dir, newer_templates)
    for path in newer_templates.glob("*/sms/overdue_notice.j2"):
        path.write_text(path.read_text(encoding="utf-8").replace(" Hi ", " Newer wording, "))
    source = ReloadedAfterTheFirstRead(
        settings.config_dir, settings.templates_dir, stack.store, now=stack.clock.now
    )
    source.newer = ConfigSource(
        settings.config_dir, newer_templates, stack.store, now=stack.clock.now
    ).get()
    worker = Services.build(settings, clock=stack.clock, store=stack.store, config=source)
    dispatcher, _ = build_dispatch(worker, lambda task_id: None, sleep=lambda _: None)
    [task_id] = stack.queue_tasks(stack.add_account("loan-1"), 1)

    source.reads = 0
    assert dispatcher.send(task_id) is Outcome.SENT

    [message] = stack.sandbox_messages()
    assert "Hi " in message["body"]
    assert "Newer wording" not in message["body"]
