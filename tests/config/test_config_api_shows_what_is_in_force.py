"""``GET /v1/config``: what is in force for the caller's tenant, where it comes from, who
changed it and when; ``GET /v1/config/{kind}`` gives the YAML itself."""

from __future__ import annotations

import hashlib

from .conftest import SETTINGS, YAML, key_prefix, strategy_text


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_tenant_without_versions_of_its_own_runs_the_file_defaults(ops, config_source):
    body = ops.get("/v1/config").json()

    assert body["tenant"] == "acme"
    assert body["config_version"] == config_source.get().version
    assert body["last_error"] is None
    strategy_file = (SETTINGS.config_dir / "strategies" / "default.yaml").read_text()
    assert body["kinds"]["strategy"] == {
        "source": "file",
        "version": None,
        "sha256": sha256(strategy_file),
        "path": "config/strategies/default.yaml",
        "created_by": None,
        "created_at": None,
        "stored_version": None,
        "pending": False,
    }
    assert body["kinds"]["channels"]["path"] == "config/channels.yaml"
    assert body["kinds"]["rules"]["path"] == "config/compliance"
    assert body["kinds"]["rules"]["sha256"] is None  # no overlay: the packs apply as shipped


def test_one_kind_reads_as_json_with_its_yaml_inside_or_as_the_yaml_itself(ops):
    shipped = (SETTINGS.config_dir / "channels.yaml").read_text()

    wrapped = ops.get("/v1/config/channels").json()
    plain = ops.get("/v1/config/channels", headers={"Accept": "application/yaml"})

    assert wrapped["kind"] == "channels"
    assert wrapped["content"] == shipped
    assert plain.headers["content-type"].startswith("application/yaml")
    assert plain.text == shipped
    assert plain.headers["ETag"] == f'"{sha256(shipped)}"'
    assert plain.headers["X-Config-Source"] == "file"
    # Credentials appear only as the names of the variables that hold them.
    assert "auth_token_env: TWILIO_AUTH_TOKEN" in plain.text


def test_rules_without_an_overlay_have_no_content_of_their_own(ops):
    assert ops.get("/v1/config/rules").json()["content"] is None
    response = ops.get("/v1/config/rules", headers={"Accept": "application/yaml"})
    assert response.status_code == 404
    assert "shipped files apply" in response.json()["error"]["message"]


def test_a_tenant_version_in_force_says_who_stored_it_and_when(ops, clock):
    text = strategy_text()
    assert ops.put("/v1/config/strategy", content=text, headers=YAML).status_code == 200

    strategy = ops.get("/v1/config").json()["kinds"]["strategy"]
    yaml_text = ops.get("/v1/config/strategy", headers={"Accept": "application/yaml"})

    assert strategy["source"] == "tenant"
    assert strategy["version"] == 1
    assert strategy["sha256"] == sha256(text)
    assert strategy["created_by"] == key_prefix(ops)
    assert strategy["created_at"] == clock.now().isoformat()
    assert strategy["pending"] is False
    assert yaml_text.text == text  # exactly as sent, comments included
    assert yaml_text.headers["X-Config-Version"] == "1"


def test_the_history_lists_every_version_newest_first(ops):
    first, second = strategy_text("13:30"), strategy_text("14:00")
    ops.put("/v1/config/strategy", content=first, headers=YAML)
    ops.put("/v1/config/strategy", content=second, headers=YAML)
    ops.delete("/v1/config/strategy")

    versions = ops.get("/v1/config/strategy/versions").json()["versions"]

    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["file_default"] for v in versions] == [True, False, False]
    assert [v["in_force"] for v in versions] == [True, False, False]
    assert versions[2]["sha256"] == sha256(first)
    assert {v["created_by"] for v in versions} == {key_prefix(ops)}
    assert ops.get("/v1/config/strategy/versions/1").json()["content"] == first
    old = ops.get("/v1/config/strategy/versions/2", headers={"Accept": "application/yaml"})
    assert old.text == second
    assert ops.get("/v1/config/strategy/versions/9").status_code == 404
    assert ops.get("/v1/config/channels/versions").json()["versions"] == []
