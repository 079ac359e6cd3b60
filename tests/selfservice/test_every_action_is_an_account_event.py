"""Each self-service action is an account event with source ``self_service``: in the
account's events, in its ledger and timeline, and re-planned in the same transaction (a
dispute cancels the contact planned for today at once)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orchestrator.store.tables import AccountEvent, Task
from tests.factories import account_document
from tests.selfservice.conftest import make_borrower


@pytest.fixture
def borrower(store, clock, redis_url, redis_namespace, file_config):
    # Due 2026-10-23: on 2026-11-02 (D+10) the formal notice email is planned.
    document = account_document(
        debt={"amount_due": "1250.00", "currency": "USD", "due_date": "2026-10-23"}
    )
    found = make_borrower(store, clock, redis_url, redis_namespace, file_config, document)
    assert found.verify().status_code == 303
    return found


def _events(borrower):
    with borrower.services.store.snapshot() as conn:
        return list(
            conn.execute(
                sa.select(AccountEvent)
                .where(AccountEvent.account_id == borrower.account_id)
                .order_by(AccountEvent.id)
            )
        )


def _tasks(borrower):
    with borrower.services.store.snapshot() as conn:
        return {t.step: t.status for t in conn.execute(sa.select(Task.step, Task.status))}


def _timeline(borrower):
    return borrower.lender.get("/v1/accounts/loan-88231/timeline").json()["entries"]


def _done(borrower, answer, words):
    assert answer.status_code == 303, answer.text
    assert "done=" in answer.headers["location"], answer.headers["location"]
    page = borrower.client.get(answer.headers["location"])
    assert words in page.text


def test_choosing_a_plan_records_one_promise_per_instalment_and_pauses_contacts(borrower):
    assert _tasks(borrower) == {"standard.formal_notice": "planned"}
    _done(borrower, borrower.act("plan", option="m3"), "payment plan is set up")
    events = _events(borrower)
    assert [e.type for e in events] == ["promise_to_pay"] * 3
    assert {e.source for e in events} == {"self_service"}
    assert [e.details["instalment"] for e in events] == ["1/3", "2/3", "3/3"]
    assert sum(e.amount for e in events) == 1250
    assert len({e.details["plan"] for e in events}) == 1
    # The promise holds the formal notice (re-planned in the same transaction).
    assert _tasks(borrower) == {"standard.formal_notice": "cancelled"}
    kinds = [e["kind"] for e in _timeline(borrower)]
    assert kinds.count("event.promise_to_pay") == 3
    assert "task.cancelled" in kinds
    account = borrower.lender.get("/v1/accounts/loan-88231").json()
    assert {e["source"] for e in account["events"]} == {"self_service"}


def test_settling_in_full(borrower):
    _done(borrower, borrower.act("plan", option="settle"), "payment plan is set up")
    (event,) = _events(borrower)
    assert (event.type, event.amount) == ("promise_to_pay", 1250)


def test_a_plan_the_rules_do_not_offer_is_refused(borrower):
    answer = borrower.act("plan", option="m36")
    assert "problem=" in answer.headers["location"]
    assert _events(borrower) == []


def test_promise_to_pay_on_a_date(borrower):
    _done(borrower, borrower.act("promise", date="2026-11-20", amount="300"), "your promise")
    (event,) = _events(borrower)
    assert (event.type, event.amount, event.source) == ("promise_to_pay", 300, "self_service")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"date": "2026-10-01"}, "choose a date"),
        ({"date": "2027-06-01"}, "choose a date"),
        ({"date": "2026-11-20", "amount": "5000"}, "amount up to"),
        ({"date": "soon"}, "enter a date"),
    ],
)
def test_a_wrong_promise_is_refused_and_records_nothing(borrower, fields, problem):
    answer = borrower.act("promise", **fields)
    page = borrower.client.get(answer.headers["location"])
    assert problem in page.text
    assert _events(borrower) == []


def test_dispute_holds_at_once(borrower):
    _done(
        borrower,
        borrower.act("dispute", reason="wrong_amount", text="I paid 200 in October."),
        "received your dispute",
    )
    (event,) = _events(borrower)
    assert event.type == "dispute"
    assert event.details == {"reason": "wrong_amount", "text": "I paid 200 in October."}
    assert _tasks(borrower)["standard.formal_notice"] == "cancelled"
    page = borrower.client.get(f"{borrower.url}/account")
    assert "dispute under review" in page.text


def test_contact_preference_narrows_the_window(borrower):
    _done(
        borrower,
        borrower.act(
            "preference", not_before="18:00", not_after="20:00", days="mon,tue,wed,thu,fri"
        ),
        "times you chose",
    )
    (event,) = _events(borrower)
    assert event.type == "contact_preference"
    assert event.details == {
        "days": "mon,tue,wed,thu,fri",
        "not_after": "20:00",
        "not_before": "18:00",
    }
    # The email planned for 09:30 New York time moves into the borrower's evening.
    with borrower.services.store.snapshot() as conn:
        task = conn.execute(sa.select(Task)).one()
    assert task.status == "planned"
    assert task.not_before.hour == 23  # 18:00 EST


def test_a_preference_cannot_open_hours_the_law_closes(borrower):
    # 06:00-07:30 is before Reg F's 08:00: nothing is left, so nothing is sent (never 06:00).
    borrower.act(
        "preference", not_before="06:00", not_after="07:30", days="mon,tue,wed,thu,fri,sat,sun"
    )
    with borrower.services.store.snapshot() as conn:
        task = conn.execute(sa.select(Task)).one()
    assert task.status == "cancelled"
    assert task.reasons == ["us.reg_f.consumer_stated_inconvenient_time"]


def test_opt_out_of_a_channel(borrower):
    _done(borrower, borrower.act("opt_out", channel="email"), "not contact you that way")
    (event,) = _events(borrower)
    assert (event.type, event.channel) == ("opt_out", "email")
    assert _tasks(borrower)["standard.formal_notice"] == "cancelled"


def test_do_not_contact_me_at_work(borrower):
    from orchestrator.domain import contact_point_key

    work = contact_point_key("email", "ann@example.org")
    _done(borrower, borrower.act("work", points=work), "not contact you at those")
    (event,) = _events(borrower)
    assert (event.type, event.details) == ("no_work_contact", {"points": work})
    # The email address is now a workplace address: the workplace rule blocks it.
    timeline = _timeline(borrower)
    cancelled = next(e for e in timeline if e["kind"] == "task.cancelled")
    assert "us.reg_f.workplace" in cancelled["rules"]


def test_a_point_that_is_not_the_borrowers_is_refused(borrower):
    answer = borrower.act("work", points="0123456789abcdef")
    assert "problem=" in answer.headers["location"]
    assert _events(borrower) == []


def test_ask_for_a_callback(borrower):
    _done(
        borrower, borrower.act("callback", not_before="12:00", not_after="14:00"), "call you back"
    )
    (event,) = _events(borrower)
    assert (event.type, event.channel, event.details) == (
        "callback_request",
        "call",
        {"not_after": "14:00", "not_before": "12:00"},
    )
    assert any(e["kind"] == "event.callback_request" for e in _timeline(borrower))
