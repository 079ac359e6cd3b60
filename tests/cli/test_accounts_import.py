"""``orchestrator accounts import``: JSON Lines and CSV, a rejected-rows file, idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from orchestrator.store.tables import Account, AccountEvent, ContactPoint
from tests.factories import account_document


def run(args, url, cwd):
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=120,
    )


@pytest.fixture
def url(store, tenant):
    return store.engine.url.render_as_string(hide_password=False)


def test_json_lines_import_commits_valid_rows_and_reports_the_rest(url, store, tmp_path):
    bad = account_document("loan-bad")
    bad["contact_points"][2]["address"] = "not-an-email"
    lines = [
        json.dumps(account_document("loan-1", events=[{"type": "dispute", "at": "2026-10-09"}])),
        "{not json",
        json.dumps(bad),
        json.dumps(account_document("loan-2")),
        json.dumps(account_document("loan-1")),
    ]
    file = tmp_path / "portfolio.jsonl"
    file.write_text("\n".join(lines) + "\n")

    result = run(["accounts", "import", str(file), "--tenant", "acme"], url, tmp_path)

    assert result.returncode == 1, result.stderr
    assert "created" in result.stdout
    assert "rejected" in result.stdout
    rejected = [
        json.loads(line)
        for line in (tmp_path / "portfolio.jsonl.rejected.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in rejected] == [2, 3, 5]
    assert "not valid JSON" in rejected[0]["errors"][0]["message"]
    assert rejected[1]["errors"][0]["field"] == "contact_points[2].address"
    assert "appears at line 1" in rejected[2]["errors"][0]["message"]
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Account)).scalar() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(AccountEvent)).scalar() == 1


def test_reimporting_the_same_file_changes_nothing(url, store, tmp_path):
    file = tmp_path / "portfolio.jsonl"
    file.write_text("\n".join(json.dumps(account_document(f"loan-{i}")) for i in range(30)) + "\n")
    assert run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path).returncode == 0
    with store.snapshot() as conn:
        before = conn.execute(sa.select(Account.external_id, Account.updated_at)).all()

    again = run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path)

    assert again.returncode == 0
    assert "unchanged" in again.stdout
    with store.snapshot() as conn:
        assert conn.execute(sa.select(Account.external_id, Account.updated_at)).all() == before


def test_csv_uses_dotted_columns_and_one_column_per_channel(url, store, tmp_path):
    file = tmp_path / "portfolio.csv"
    file.write_text(
        "external_id,borrower.name,borrower.locale,borrower.address.country,borrower.address.region,"
        "sms,sms.consent,email,debt.amount_due,debt.currency,debt.due_date\n"
        "cn-1,王芳,zh-CN,CN,GD,+8613800138000,yes,wang@example.cn,8800.00,CNY,2026-10-15\n"
        "cn-2,李雷,zh-CN,CN,GD,+8613800138001,maybe,li@example.cn,100.00,CNY,2026-10-15\n",
        encoding="utf-8",
    )

    result = run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path)

    assert result.returncode == 1
    rejected = json.loads((tmp_path / "portfolio.csv.rejected.jsonl").read_text())
    assert rejected["line"] == 3
    assert "sms.consent" in rejected["errors"][0]["message"]
    with store.snapshot() as conn:
        account = conn.execute(sa.select(Account).where(Account.external_id == "cn-1")).one()
        points = conn.execute(
            sa.select(ContactPoint.channel, ContactPoint.address, ContactPoint.consent)
        ).all()
    assert account.jurisdiction == "CN-GD"
    assert account.zones.split()[0] == "Asia/Shanghai"
    assert sorted(points) == [("email", "wang@example.cn", False), ("sms", "+8613800138000", True)]


def test_an_unknown_tenant_or_format_is_one_clear_sentence(url, tmp_path):
    file = tmp_path / "portfolio.txt"
    file.write_text("x")
    wrong_format = run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path)
    (tmp_path / "p.jsonl").write_text("")
    wrong_tenant = run(
        ["accounts", "import", str(tmp_path / "p.jsonl"), "-t", "nobody"], url, tmp_path
    )
    assert wrong_format.returncode == 2
    assert "use .csv or .jsonl" in wrong_format.stderr
    assert wrong_tenant.returncode == 2
    assert "orchestrator tenants create nobody" in wrong_tenant.stderr
    assert "Traceback" not in wrong_format.stderr + wrong_tenant.stderr


def test_an_imported_event_id_is_a_business_key(url, store, tmp_path):
    """A re-import with the same payment id adds nothing; a payment id that now names
    another payment refuses that row only; a payment with no id and no date is refused."""
    paid = {"event_id": "pay-1", "type": "payment", "amount": "625", "at": "2026-10-09"}
    file = tmp_path / "portfolio.jsonl"
    file.write_text(json.dumps(account_document("loan-1", events=[paid])) + "\n")
    assert run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path).returncode == 0
    assert run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path).returncode == 0

    changed = {**paid, "amount": "1250"}
    file.write_text(
        "\n".join(
            [
                json.dumps(account_document("loan-1", events=[changed])),
                json.dumps(account_document("loan-2")),
                json.dumps(account_document("loan-3", events=[{"type": "payment"}])),
            ]
        )
        + "\n"
    )
    result = run(["accounts", "import", str(file), "-t", "acme"], url, tmp_path)

    assert result.returncode == 1, result.stderr
    rejected = [
        json.loads(line)
        for line in (tmp_path / "portfolio.jsonl.rejected.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in rejected] == [3, 1]
    assert "a payment needs `event_id`" in rejected[0]["errors"][0]["message"]
    assert "'pay-1'" in rejected[1]["errors"][0]["message"]
    with store.snapshot() as conn:
        amounts = conn.execute(sa.select(AccountEvent.amount)).scalars().all()
        accounts = conn.execute(sa.select(Account.external_id)).scalars().all()
    assert [str(a.normalize()) for a in amounts] == ["625"]
    assert sorted(accounts) == ["loan-1", "loan-2"]


def test_accounts_that_look_wrong_are_imported_with_their_warnings(url, store, tmp_path):
    odd = account_document("loan-odd")
    odd["debt"]["currency"] = "CNY"
    file = tmp_path / "portfolio.jsonl"
    file.write_text(json.dumps(account_document("loan-1")) + "\n" + json.dumps(odd) + "\n")

    result = run(["accounts", "import", str(file), "--tenant", "acme"], url, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "1 accepted account(s) look wrong" in " ".join(result.stdout.split())
    [warned] = [
        json.loads(line)
        for line in (tmp_path / "portfolio.jsonl.warnings.jsonl").read_text().splitlines()
    ]
    assert warned["line"] == 2
    assert warned["external_id"] == "loan-odd"
    assert warned["warnings"][0].startswith("debt.currency: CNY is not the currency of US")
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Account)).scalar() == 2
