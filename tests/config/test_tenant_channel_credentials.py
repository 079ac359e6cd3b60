"""A tenant's channel config names its own credential variables (``ACME__...``), or the
platform's only with the platform's own endpoints; no tenant can name another's."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from channels.sandbox.credentials import sandbox_credentials
from orchestrator.cli.config import app
from orchestrator.configuration.credentials import is_tenants_own, tenant_prefix

from .conftest import YAML, as_yaml, shipped

SLUG = st.from_regex(r"\A[a-z0-9][a-z0-9\-]{1,12}\Z")
REST = st.from_regex(r"\A[A-Z0-9_]{1,12}\Z")


def own_twilio_account(account_sid: str, auth_token: str) -> str:
    """The shipped channels with tenant-owned Twilio credentials on Twilio's own API."""
    data = copy.deepcopy(shipped("channels.yaml"))
    settings = data["channels"]["sms"]["providers"][0]["settings"]
    settings.update(
        base_url="https://api.twilio.com", account_sid_env=account_sid, auth_token_env=auth_token
    )
    return as_yaml(data)


def test_a_tenant_uses_its_own_provider_account_through_its_own_variables(ops, store):
    content = own_twilio_account("ACME__TWILIO_ACCOUNT_SID", "ACME__TWILIO_AUTH_TOKEN")

    response = ops.put("/v1/config/channels", content=content, headers=YAML)

    assert response.status_code == 200, response.text
    url = store.engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "COLUMNS": "400", **sandbox_credentials()}
    unset = CliRunner().invoke(app, ["validate", "--secrets", "--store"], env=env)
    assert unset.exit_code == 1
    unset_lines = [line for line in unset.stdout.splitlines() if "is not set" in line]
    assert all("acme channels v1" in line for line in unset_lines)
    assert [line.split("variable ")[1].split()[0] for line in unset_lines] == [
        "ACME__TWILIO_ACCOUNT_SID",
        "ACME__TWILIO_AUTH_TOKEN",
    ]
    both = {"ACME__TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "ACME__TWILIO_AUTH_TOKEN": "t" * 32}
    done = CliRunner().invoke(app, ["validate", "--secrets", "--store"], env={**env, **both})
    assert done.exit_code == 0, done.stdout


def test_another_tenants_variables_are_refused(ops, client_for):
    for variable in ("ACME_EU__TWILIO_AUTH_TOKEN", "ACME___TWILIO_AUTH_TOKEN", "ACME__"):
        content = own_twilio_account("ACME__TWILIO_ACCOUNT_SID", variable)

        response = ops.put("/v1/config/channels", content=content, headers=YAML)

        assert response.status_code == 422, variable
        [problem] = response.json()["error"]["problems"]
        assert problem["field"] == "channels.sms.providers[0].settings.auth_token_env"
        assert "name a variable of your own: ACME__NAME" in problem["message"]
    acme_eu = client_for("acme-eu", "ops")
    content = own_twilio_account("ACME_EU__TWILIO_ACCOUNT_SID", "ACME_EU__TWILIO_AUTH_TOKEN")
    assert acme_eu.put("/v1/config/channels", content=content, headers=YAML).status_code == 200


@given(first=SLUG, extension=st.from_regex(r"\A[a-z0-9\-]{1,6}\Z"), rest=REST, other=SLUG)
def test_no_variable_belongs_to_two_tenants(first, extension, rest, other):
    for one, two in ((first, first + extension), (first, other)):
        if one == two:
            continue
        for variable in (tenant_prefix(one) + rest, tenant_prefix(two) + rest):
            assert not (is_tenants_own(variable, one) and is_tenants_own(variable, two))
