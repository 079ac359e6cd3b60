"""Saving a template from the console: a lint finding refuses it, shown beside the draft
with its line, and nothing is stored; the fix is stored as the tenant's own text (recorded
as the person), renders in the preview and in what dispatch reads; a rollback in one click;
a viewer may read but not save."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.domain import Channel
from orchestrator.messages.context import sample_context
from orchestrator.store.tables import ConfigVersion
from tests.console.conftest import shoot, sign_in

PATH = "en-US/sms/due_today.j2"
THREAT = (
    "{% block body %}\n{{ lender_name }}: pay today or we will call your employer.\n"
    "{% endblock %}\n"
)
FIXED = (
    "{% block body %}\n{{ lender_name }} here, {{ borrower_name }}: {{ amount_due|money }} "
    "is due today. Call {{ support_phone }}.\n{% endblock %}\n"
)
SECOND = FIXED.replace("here,", "again,")


def versions(console) -> list[tuple[int, str]]:
    with console.store.snapshot() as conn:
        return [
            (r.version, r.created_by)
            for r in conn.execute(
                sa.select(ConfigVersion.version, ConfigVersion.created_by)
                .where(ConfigVersion.kind == "templates")
                .order_by(ConfigVersion.version)
            )
        ]


def rendered_for_dispatch(console) -> str:
    """The SMS as dispatch would render it now, from the configuration it reads."""
    config = console.services.config.get()
    return (
        config.templates_for("acme")
        .render("due_today", Channel.SMS, "en-US", sample_context())
        .body
    )


def test_a_template_with_a_lint_error_is_refused_then_the_fix_is_saved_and_used(page, console):
    name, password = console.user("operator")
    sign_in(page, console, name, password, f"/console/templates?path={PATH}")
    assert "shared text" in page.locator("#whose").inner_text()
    shared = page.input_value("#draft")

    page.fill("#draft", THREAT)
    page.click("#save")
    problems = page.locator("#problems").inner_text()
    assert "Not saved" in problems
    assert f"{PATH}:2" in problems
    assert "third_party" in problems
    assert "employer" in problems
    assert "line 2" in page.locator("#draft-error").inner_text()
    assert page.get_attribute("#draft", "aria-invalid") == "true"
    assert page.input_value("#draft") == THREAT  # the draft is kept
    assert "employer" in page.locator("#lint").inner_text()  # and linted in the preview
    shoot(page, "templates-refused")
    assert versions(console) == []
    assert "employer" not in rendered_for_dispatch(console)

    page.fill("#draft", FIXED)
    page.click("#save")
    assert "Version 1 of your templates is stored" in page.locator(".notice").first.inner_text()
    assert "your text" in page.locator("#whose").inner_text()
    assert page.input_value("#draft") == FIXED
    assert "here, Ann Lee" in page.locator("#rendered").inner_text()
    assert versions(console) == [(1, f"user:{name}")]
    assert "here, Ann Lee" in rendered_for_dispatch(console)

    # A real account's preview renders the saved text too.
    page.fill("#account", "loan-1")
    page.click("button[value=preview]")
    assert "here," in page.locator("#rendered").inner_text()
    assert "(yours)" in page.locator("#path option:checked").inner_text()
    shoot(page, "templates-edit")

    # A second version, then a rollback to the first in one click.
    page.goto(f"{console.url}/console/templates?path={PATH}")
    page.fill("#draft", SECOND)
    page.click("#save")
    assert "again, Ann Lee" in rendered_for_dispatch(console)
    page.click("button[aria-label='Roll back to version 1']")
    assert "Version 3 of your templates is stored" in page.locator(".notice").first.inner_text()
    assert page.input_value("#draft") == FIXED
    assert "here, Ann Lee" in rendered_for_dispatch(console)
    assert [v for v, _ in versions(console)] == [1, 2, 3]

    # Back to the shared text: a version of its own, the folder's text in force again.
    page.click("#revert")
    assert page.input_value("#draft") == shared
    assert "shared text" in page.locator("#whose").inner_text()
    assert "here," not in rendered_for_dispatch(console)
    assert [v for v, _ in versions(console)] == [1, 2, 3, 4]


def test_a_viewer_reads_the_templates_but_may_not_save_one(page, console):
    name, password = console.user("viewer")
    sign_in(page, console, name, password, f"/console/templates?path={PATH}")
    assert page.locator("#save").count() == 0
    assert page.get_attribute("#draft", "readonly") is not None
    before = versions(console)
    csrf = page.get_attribute("input[name=csrf]", "value")
    for form in (
        {"path": PATH, "draft": FIXED, "action": "save"},
        {"path": PATH, "draft": FIXED, "action": "revert"},
    ):
        answer = page.request.post(f"{console.url}/console/templates", form={"csrf": csrf, **form})
        assert answer.status == 403
        assert "may not edit templates" in answer.text()
    answer = page.request.post(
        f"{console.url}/console/templates/rollback", form={"csrf": csrf, "version": "1"}
    )
    assert answer.status == 403
    assert versions(console) == before


def test_compliance_waives_a_finding_with_its_reason_then_an_operator_may_save_it(
    page, chromium, console
):
    path = "en-US/sms/overdue_notice.j2"
    reviewed = (
        "{% block body %}\n{{ lender_name }}: we will never call your employer about this. "
        "Call {{ support_phone }}.\n{% endblock %}\n"
    )
    officer, password = console.user("compliance")
    sign_in(page, console, officer, password, f"/console/templates?path={path}")
    assert page.locator("#save").count() == 0  # compliance waives; it does not write texts
    page.select_option("#waive-rule", "third_party")
    page.fill("#waive-phrase", "employer")
    page.fill("#waive-reason", "a reassurance, reviewed by compliance (ticket 7)")
    page.click("#waive-form button[type=submit]")
    waivers = page.locator("#waivers").inner_text()
    assert "third party" in waivers
    assert f"approved by user:{officer}" in waivers
    assert versions(console)[-1][1] == f"user:{officer}"

    operator, secret = console.user("operator")
    other = chromium.new_context().new_page()
    try:
        sign_in(other, console, operator, secret, f"/console/templates?path={path}")
        other.fill("#draft", reviewed)
        other.click("#save")
        assert "your text" in other.locator("#whose").inner_text()
        csrf = other.get_attribute("input[name=csrf]", "value")
        answer = other.request.post(
            f"{console.url}/console/templates",
            form={
                "csrf": csrf,
                "path": path,
                "action": "waive",
                "rule": "insult",
                "reason": "x" * 20,
            },
        )
        assert answer.status == 403  # an operator may not waive
    finally:
        other.context.close()

    # The waiver now lets the saved text through: removing it is refused, naming the finding.
    page.goto(f"{console.url}/console/templates?path={path}")
    page.click("button[aria-label='Remove the third_party waiver']")
    assert "employer" in page.locator("#problems").inner_text()
    assert "third party" in page.locator("#waivers").inner_text()
