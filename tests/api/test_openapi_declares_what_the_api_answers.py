"""``/openapi.json`` declares what each operation really answers: a JSON object's schema
(never ``{"type": "string"}``), and the errors of authenticated operations in the one error
shape. (Whether the bodies match is the schemathesis run's job.)"""

from __future__ import annotations

import pytest

ERROR = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture
def spec(api):
    return api.get("/openapi.json").json()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_no_json_answer_is_declared_a_string(spec):
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            assert schema != {"type": "string"}, f"{name} {status}"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("GET /healthz", "Health"),
        ("GET /v1/config", "ConfigOverview"),
        ("GET /v1/config/{kind}", "ConfigInForce"),
        ("GET /v1/config/{kind}/versions", "ConfigVersions"),
        ("GET /v1/config/{kind}/versions/{version}", "ConfigVersion"),
        ("PUT /v1/config/{kind}", "ConfigChanged"),
        ("DELETE /v1/config/{kind}", "ConfigChanged"),
        ("GET /v1/dashboard", "Dashboard"),
        ("PUT /v1/accounts/{external_id}", "AccountWritten"),
    ],
)
def test_object_answers_have_their_model(spec, name, model):
    operation = dict(operations(spec))[name]

    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]

    assert schema == {"$ref": f"#/components/schemas/{model}"}
    assert spec["components"]["schemas"][model]["type"] == "object"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_account_write_answers_warnings(spec):
    written = spec["components"]["schemas"]["AccountWritten"]

    assert written["properties"]["warnings"]["type"] == "array"
    assert written["properties"]["warnings"]["items"] == {"type": "string"}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_authenticated_operations_document_their_errors_in_one_shape(spec):
    for name, operation in operations(spec):
        if not operation.get("security"):
            continue
        responses = operation["responses"]
        takes_input = operation.get("parameters") or operation.get("requestBody")
        for status in ("401", "413", "422") if takes_input else ("401", "413"):
            assert status in responses, f"{name} {status}"
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                content = response["content"]["application/json"]
                assert content["schema"] == ERROR, f"{name} {status}"
    assert "HTTPValidationError" not in spec["components"]["schemas"]
