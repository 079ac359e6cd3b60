"""``POST /v1/config/strategy/simulate``: a proposed strategy against the one in force, over
the same sample of the tenant's real accounts; it finds the accounts whose treatment
changes, and it changes nothing."""

from __future__ import annotations

import pytest

from orchestrator.configuration.files import parse_yaml
from orchestrator.configuration.strategies import parse_strategy
from tests.config.conftest import SETTINGS, YAML
from tests.factories import account_document, table_counts

OVERDUE_SMS = '{id: overdue_sms, day: 3, channel: sms, template: overdue_notice, at: "11:00",'
AS_EMAIL = '{id: overdue_sms, day: 3, channel: email, template: formal_notice, at: "11:00",'
ACCOUNTS = [f"loan-{n}" for n in range(8)]


def proposed() -> str:
    """The shipped strategy with the D+3 SMS of the standard champion made an email."""
    text = (SETTINGS.config_dir / "strategies" / "default.yaml").read_text()
    assert text.count(OVERDUE_SMS) == 1
    return text.replace(OVERDUE_SMS, AS_EMAIL)


@pytest.fixture
def portfolio(client_for, ops):
    """Eight accounts two days past due on the test clock's date (2026-11-02), so D+3 is
    tomorrow; one of them disputed."""
    lender = client_for("acme", "lender")
    for external_id in ACCOUNTS:
        doc = account_document(external_id)
        doc["debt"]["due_date"] = "2026-10-31"
        assert lender.put(f"/v1/accounts/{external_id}", json=doc).status_code in (200, 201)
    assert lender.post("/v1/accounts/loan-0/events", json={"type": "dispute"}).status_code in (
        200,
        201,
    )
    return ACCOUNTS


def _champions(accounts: list[str]) -> set[str]:
    strategy = parse_strategy(
        parse_yaml((SETTINGS.config_dir / "strategies" / "default.yaml").read_text(), "default"),
        "default",
    )
    standard = next(s for s in strategy.segments if s.id == "standard")
    return {a for a in accounts if standard.variant_for(a).id == "champion"}  # type: ignore[union-attr]


def test_a_changed_step_is_found_on_each_account_it_changes_and_nothing_is_written(
    ops, portfolio, store
):
    before = table_counts(store)
    in_force = ops.get("/v1/config/strategy").json()

    answer = ops.post("/v1/config/strategy/simulate?days=5", content=proposed(), headers=YAML)

    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["sample"] == len(portfolio)
    changed = _champions(portfolio)
    assert "loan-0" in changed, "the sample needs the disputed account among the champions"
    assert {c["account"] for c in data["changes"]} == changed
    assert data["changed_accounts"] == len(changed)
    for change in data["changes"]:
        # The disputed account's step is planned and blocked by either strategy: what
        # changes is the contact that would have been blocked.
        decision = "blocked" if change["account"] == "loan-0" else "sent"
        assert [(c["step"], c["channel"], c["decision"]) for c in change["removed"]] == [
            ("standard.overdue_sms", "sms", decision)
        ]
        assert [(c["step"], c["channel"], c["template"], c["day"]) for c in change["added"]] == [
            ("standard.overdue_sms", "email", "formal_notice", "2026-11-03")
        ]
    current, new = data["current"], data["proposed"]
    assert new["contacts"].get("email", 0) > current["contacts"].get("email", 0)
    assert new["contacts"].get("sms", 0) < current["contacts"].get("sms", 0)
    rules = {r["rule"]: r for r in current["blocks_by_rule"]}
    assert rules, "the disputed account's blocked contacts are counted by rule"
    assert all(r["citation"] for r in rules.values())
    # Nothing was stored or changed: not the tables, not the strategy in force.
    assert table_counts(store) == before
    assert ops.get("/v1/config/strategy").json() == in_force


def test_the_same_request_gives_the_same_answer(ops, portfolio):
    first = ops.post(
        "/v1/config/strategy/simulate?days=3&sample=5", content=proposed(), headers=YAML
    )
    second = ops.post(
        "/v1/config/strategy/simulate?days=3&sample=5", content=proposed(), headers=YAML
    )

    assert first.status_code == 200
    assert first.json() == second.json()
    assert first.json()["sample"] == 5


def test_the_strategy_in_force_against_itself_changes_no_one(ops, portfolio):
    text = (SETTINGS.config_dir / "strategies" / "default.yaml").read_text()
    data = ops.post("/v1/config/strategy/simulate?days=5", content=text, headers=YAML).json()

    assert data["changed_accounts"] == 0
    assert data["current"] == data["proposed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (proposed().replace(AS_EMAIL, AS_EMAIL.replace("email", "fax", 1)), "channel"),
        ("name: x\nsegments: []\n", "segments"),
        ("name: [unclosed\n", ""),
    ],
)
def test_an_invalid_strategy_is_refused_with_its_path_and_changes_nothing(
    ops, portfolio, store, body, field
):
    before = table_counts(store)

    answer = ops.post("/v1/config/strategy/simulate", content=body, headers=YAML)

    assert answer.status_code == 422
    problems = answer.json()["error"]["problems"]
    assert problems
    assert any(field in p["field"] for p in problems)
    assert table_counts(store) == before


def test_bad_parameters_and_keys_are_refused(ops, client_for, portfolio):
    assert ops.post("/v1/config/strategy/simulate", content=b"", headers=YAML).status_code == 400
    answer = ops.post("/v1/config/strategy/simulate?sample=0", content=proposed(), headers=YAML)
    assert answer.status_code == 422
    assert [p["field"] for p in answer.json()["error"]["problems"]] == ["sample"]
    lender = client_for("acme", "lender")
    assert (
        lender.post("/v1/config/strategy/simulate", content=proposed(), headers=YAML).status_code
        == 403
    )
