"""The field-visit work queue in the console: agents and their regions, open visits by
deadline, assignment to an agent who covers the region, and outcomes — through the same
service functions as /v1/visits; viewers read it, with street addresses masked."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orchestrator.store.tables import AccountEvent, Attempt, LedgerEntry, Task, Visit
from tests.console.conftest import shoot, sign_in
from tests.factories import account_document

ADDRESS = {
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


def queue_visit(console, external_id: str) -> int:
    """An account at D+50 with a large balance: the strategy plans its visit, and dispatch
    hands it to the work queue; the visit's id."""
    from orchestrator.dispatch import Outcome, build_dispatch
    from orchestrator.planning.scheduler import sweep

    clock = console.services.clock
    doc = account_document(external_id)
    doc["borrower"]["address"] = ADDRESS
    doc["contact_points"] = [{"channel": "visit"}, {"channel": "letter"}]
    doc["debt"].update(
        due_date=(clock.now().date() - timedelta(days=50)).isoformat(), amount_due="6000.00"
    )
    assert console.lender.put(f"/v1/accounts/{external_id}", json=doc).status_code in (200, 201)
    with console.store.snapshot() as conn:
        task = conn.execute(
            sa.select(Task)
            .where(Task.channel == "visit", Task.status == "planned")
            .order_by(Task.id.desc())
        ).first()
    assert task is not None
    if task.not_before > clock.now():
        clock.set(task.not_before)
    sweep(console.store, clock.now(), stale=timedelta(minutes=5))
    dispatcher, _ = build_dispatch(console.services, lambda task_id: None, sleep=lambda _: None)
    assert dispatcher.send(task.id) is Outcome.SENT
    with console.store.snapshot() as conn:
        return int(
            conn.execute(sa.select(Attempt.id).where(Attempt.task_id == task.id)).scalar_one()
        )


def test_an_operator_registers_agents_assigns_reassigns_and_records_a_promise(page, console):
    visit_id = queue_visit(console, "visit-1")
    name, password = console.user("operator")
    sign_in(page, console, name, password, "/console/visits")
    assert page.locator("h1").inner_text() == "Field visits"
    row = page.locator(f"#visit-{visit_id}")
    assert "unassigned" in row.inner_text()
    assert "No agent covers New York" in row.inner_text()
    # An operator reads contact data masked: the city and region, not the street.
    assert "New York, NY" in row.locator(".address").inner_text()
    assert "Fifth Avenue" not in page.content()

    page.fill("#agent-name", "Li Wei")
    page.fill("#agent-regions", "NY, NJ")
    page.click("button:has-text('Register agent')")
    assert page.locator(".notice").inner_text() == "Field agent registered."
    page.fill("#agent-name", "Jo Park")
    page.fill("#agent-regions", "new york")
    page.click("button:has-text('Register agent')")
    page.fill("#agent-name", "Ann Cole")
    page.fill("#agent-regions", "CA")
    page.click("button:has-text('Register agent')")
    agents = page.locator("#agents").inner_text()
    assert "Li Wei" in agents
    assert "NJ, NY" in agents  # sorted
    # Only the agents who cover the visit's region or city are offered.
    offered = page.locator(f"#agent-{visit_id} option").all_inner_texts()
    assert offered == ["Jo Park", "Li Wei"]

    page.select_option(f"#agent-{visit_id}", label="Li Wei")
    row.locator("button:has-text('Assign')").click()
    assert page.locator(".notice").inner_text() == "Visit assigned."
    assert "Li Wei" in row.inner_text()
    assert "assigned" in row.inner_text()
    page.select_option(f"#agent-{visit_id}", label="Jo Park")
    row.locator("button:has-text('Reassign')").click()
    assert "Jo Park" in row.inner_text()
    shoot(page, "visits")

    # A promise without its day is refused with the work queue's own message.
    page.select_option(f"#outcome-{visit_id}", "promise_to_pay")
    page.fill(f"#amount-{visit_id}", "300.00")
    row.locator("button:has-text('Record')").click()
    assert (
        "promise_to_pay needs promise_amount and promise_date"
        in page.locator("#problem").inner_text()
    )
    with console.store.snapshot() as conn:
        assert (
            conn.execute(sa.select(Visit.outcome).where(Visit.attempt_id == visit_id)).scalar_one()
            is None
        )

    day = (console.services.clock.now().date() + timedelta(days=7)).isoformat()
    page.select_option(f"#outcome-{visit_id}", "promise_to_pay")
    page.fill(f"#amount-{visit_id}", "300.00")
    page.fill(f"#date-{visit_id}", day)
    row.locator("button:has-text('Record')").click()
    assert "Outcome recorded" in page.locator(".notice").inner_text()
    assert page.locator(f"#visit-{visit_id}").count() == 0  # no longer open
    page.select_option("#status", "done")
    page.click("button:has-text('Filter')")
    assert "promise to pay" in page.locator(f"#visit-{visit_id}").inner_text()

    with console.store.snapshot() as conn:
        kinds = list(
            conn.execute(
                sa.select(LedgerEntry.kind)
                .join(Attempt, Attempt.id == LedgerEntry.attempt_id)
                .where(Attempt.id == visit_id, LedgerEntry.kind.like("visit.%"))
                .order_by(LedgerEntry.id)
            ).scalars()
        )
        promise = conn.execute(
            sa.select(AccountEvent.source, AccountEvent.amount).where(
                AccountEvent.type == "promise_to_pay"
            )
        ).one()
    assert kinds == ["visit.assigned", "visit.reassigned", "visit.promise_to_pay"]
    assert promise.source == "visit"


def test_a_viewer_reads_the_queue_masked_and_may_not_change_it(page, console):
    visit_id = queue_visit(console, "visit-2")
    name, password = console.user("viewer")
    sign_in(page, console, name, password, "/console/visits")
    row = page.locator(f"#visit-{visit_id}")
    assert "New York, NY" in row.inner_text()
    assert "Fifth Avenue" not in page.content()
    assert page.locator("form[action$='/assign']").count() == 0
    assert page.locator("form[action$='/outcome']").count() == 0
    assert page.locator("#new-agent").count() == 0
    shoot(page, "visits-viewer")
    # The server refuses what the page does not offer.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{console.url}/console/visits/{visit_id}/outcome",
        form={"csrf": csrf, "outcome": "refused"},
    )
    assert answer.status == 403
    assert "may not assign field visits" in answer.text()
    with console.store.snapshot() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(Visit).where(Visit.attempt_id == visit_id)
            ).scalar_one()
            == 0
        )


def test_compliance_reads_the_street_address_and_a_form_without_its_token_changes_nothing(
    page, console
):
    visit_id = queue_visit(console, "visit-3")
    name, password = console.user("compliance")
    sign_in(page, console, name, password, "/console/visits")
    assert "350 Fifth Avenue" in page.locator(f"#visit-{visit_id} .address").inner_text()
    answer = page.request.post(
        f"{console.url}/console/visits/{visit_id}/outcome",
        form={"csrf": "forged", "outcome": "refused"},
    )
    assert answer.status == 403
    assert "security token" in answer.text()
    bad = page.goto(f"{console.url}/console/visits?status=later")
    assert bad is not None
    assert bad.status == 422
    assert "status must be one of" in page.locator("#problem").inner_text()
