"""``orchestrator users``: create prints a password once (or a one-time link), list shows
the state, disable and reset say what they did; mistakes say what to do next."""

from __future__ import annotations

import re
import shutil

import sqlalchemy as sa
from typer.testing import CliRunner

from orchestrator.cli.tenants import app as tenants
from orchestrator.cli.users import app as users


def test_users_create_list_disable_reset(migrated_sqlite, tmp_path):
    path = tmp_path / "orchestrator.db"
    shutil.copy(migrated_sqlite, path)
    env = {
        "DATABASE_URL": f"sqlite:///{path}",
        "ORCHESTRATOR_PUBLIC_URL": "https://ops.example.com",
        "COLUMNS": "300",
    }
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(users, list(args[1:]), env=env)

    assert runner.invoke(tenants, ["create", "acme"], env=env).exit_code == 0
    made = run("users", "create", "ann.lee", "--tenant", "acme", "--role", "admin")
    assert made.exit_code == 0, made.output
    assert "Initial password for ann.lee" in made.output
    # A deployment that is not on loopback hashes at OWASP's cost (N=2^15, r=8, p=3).
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM ops_users")).scalar_one()
    engine.dispose()
    assert stored.startswith("scrypt$32768$8$3$")
    linked = run("users", "create", "bo", "--tenant", "acme", "--role", "viewer", "--link")
    assert re.search(r"https://ops.example.com/console/set-password\?token=\S{40,}", linked.output)

    listed = run("users", "list")
    assert re.search(r"ann\.lee\s.*acme\s.*admin\s.*active", listed.output)
    assert "waiting to set a password" in listed.output
    assert "disabled" in run("users", "disable", "bo").output.lower()
    assert "disabled" in run("users", "list", "--tenant", "acme").output
    assert "Initial password for bo" in run("users", "reset", "bo").output
    assert "bo was viewer; now operator" in run("users", "role", "bo", "operator").output
    assert re.search(r"bo\s.*acme\s.*operator\s.*never", run("users", "list").output)
    assert run("users", "role", "nobody", "admin").exit_code == 2

    wrong = run("users", "create", "cy", "--tenant", "nobody", "--role", "viewer")
    assert wrong.exit_code == 2
    assert "orchestrator tenants list" in wrong.output
    bad_role = run("users", "create", "cy", "--tenant", "acme", "--role", "boss")
    assert bad_role.exit_code == 2
    assert "viewer" in bad_role.output
