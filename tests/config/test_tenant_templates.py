"""A tenant's own templates (config kind ``templates``): its texts replace the folder's for
its messages only, checked as the folder is (sandbox, bounds, lint with audited waivers),
versioned like every config, and rendered by dispatch from the configuration the send read
its rules from."""

from __future__ import annotations

from datetime import timedelta

import yaml

from orchestrator.configuration.source import ConfigSource
from orchestrator.dispatch import Outcome, build_dispatch
from orchestrator.domain import Channel
from orchestrator.messages.context import sample_context
from tests.factories import account_document

from .conftest import SETTINGS, YAML, key_prefix

PATH = "en-US/sms/due_today.j2"
OURS = (
    "{% block body %}\n{{ lender_name }} here, {{ borrower_name }}: {{ amount_due|money }} "
    "is due today. Call {{ support_phone }}.\n{% endblock %}\n"
)


def document(text: str = OURS, **extra) -> str:
    return yaml.safe_dump({"templates": {PATH: text}, **extra}, sort_keys=False)


def test_a_tenant_text_is_stored_as_a_version_and_renders_for_that_tenant_only(
    ops, config_services, client_for
):
    answer = ops.put("/v1/config/templates", content=document(), headers=YAML)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 1
    assert answer.json()["created_by"] == key_prefix(ops)
    client_for("rival", "ops")  # another tenant, without texts of its own

    config = config_services.config.get()
    ours = config.templates_for("acme").render("due_today", Channel.SMS, "en-US", sample_context())
    theirs = config.templates_for("rival").render(
        "due_today", Channel.SMS, "en-US", sample_context()
    )
    assert "here, Ann Lee" in ours.body
    assert "here," not in theirs.body
    assert "is due today" in theirs.body
    # The folder is untouched: the tenant's text lives in its own copy.
    assert "here," not in (SETTINGS.templates_dir / PATH).read_text()

    versions = ops.get("/v1/config/templates/versions").json()
    assert [v["version"] for v in versions["versions"]] == [1]


def test_a_lint_finding_refuses_the_version_naming_it_unless_its_own_waiver_covers_it(ops):
    threat = OURS.replace("Call", "Pay or we will call your employer. Call")
    refused = ops.put("/v1/config/templates", content=document(threat), headers=YAML)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["error"]["problems"]
    assert problem["field"] == f"templates.{PATH}:2"
    assert "third_party" in problem["message"]
    assert "employer" in problem["message"]
    assert ops.get("/v1/config/templates/versions").json()["versions"] == []

    waiver = {
        "template": PATH,
        "rule": "third_party",
        "phrase": "employer",
        "reason": "reviewed wording for this lender (ticket 42)",
        "approved_by": "compliance@acme.example",
    }
    waived = ops.put(
        "/v1/config/templates", content=document(threat, lint_waivers=[waiver]), headers=YAML
    )
    assert waived.status_code == 200, waived.text


def test_a_text_that_does_not_render_or_escapes_the_sandbox_is_refused(ops):
    for text, expected in (
        ("{% block body %}{{ no_such_thing }}{% endblock %}", "no_such_thing"),
        ("{% block body %}{{ ''.__class__ }}{% endblock %}", "__class__"),
        ("{% block body %}{{ 'x' * 10 ** 9 }}{% endblock %}", ""),
        ("{% block body %}{{ lender_name }", "syntax"),
    ):
        refused = ops.put("/v1/config/templates", content=document(text), headers=YAML)
        assert refused.status_code == 422, (text, refused.text)
        problems = refused.json()["error"]["problems"]
        assert all(p["field"].startswith(f"templates.{PATH}") for p in problems), problems
        assert expected in " ".join(p["message"] for p in problems), problems
    unknown = ops.put(
        "/v1/config/templates",
        content=yaml.safe_dump({"templates": {"en-US/sms/nope.j2": OURS}}),
        headers=YAML,
    )
    assert unknown.status_code == 422
    assert "not a message template" in unknown.text
    assert ops.get("/v1/config/templates/versions").json()["versions"] == []


def test_dispatch_sends_the_tenant_text_from_the_configuration_it_read_its_rules_from(stack):
    settings = stack.services.settings
    elsewhere = ConfigSource(
        settings.config_dir, settings.templates_dir, stack.store, now=stack.clock.now
    )
    services = type(stack.services).build(
        settings, clock=stack.clock, store=stack.store, config=elsewhere
    )
    dispatcher, _ = build_dispatch(services, lambda task_id: None, sleep=lambda _: None)
    answer = stack.http.put("/v1/config/templates", content=document(), headers=YAML)
    assert answer.status_code == 200, answer.text

    doc = account_document("loan-1")
    doc["debt"]["due_date"] = "2026-11-02"
    doc["contact_points"] = [{"channel": "sms", "address": "+12125550123", "consent": True}]
    assert stack.http.put("/v1/accounts/loan-1", json=doc).status_code == 201
    stack.tick()
    [task] = stack.tasks()
    # A worker process elsewhere picks the version up within its check interval.
    stack.clock.advance(timedelta(seconds=5))
    assert elsewhere.get().templates_for("acme") is not elsewhere.get().templates
    assert dispatcher.send(task.id) is Outcome.SENT
    [message] = stack.sandbox_messages()
    assert "here, Ann Lee" in str(message)
