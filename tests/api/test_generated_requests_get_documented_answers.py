"""Schemathesis over ``/openapi.json``, in process over the ASGI app, on both stores:
requests generated from the document itself (valid ones, and ones that break it) must never
get a server error, and every answer must be one the document declares — its status code,
its content type, and a body matching its schema. Lenders generate clients from this
document; this is what keeps it true.

Authenticated with a real ops key of tenant ``acme`` (made by the fixtures), which may call
every operation. Examples are bounded per operation so both stores take well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orchestrator.api.app import create_app
from tests.config.conftest import YAML, strategy_text
from tests.factories import account_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


@pytest.fixture
def schema(config_services) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(config_services))


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_generated_requests_get_documented_answers(schema, ops, mode):
    # Something to find: the document's own example account, with an event, and a stored
    # strategy version, so generated reads also get 200s to check against their models.
    example = account_document("loan-88231")
    assert ops.put("/v1/accounts/loan-88231", json=example).status_code == 201
    assert ops.post("/v1/accounts/loan-88231/events", json={"type": "dispute"}).is_success
    assert ops.put("/v1/config/strategy", content=strategy_text(), headers=YAML).is_success
    auth = {"Authorization": ops.headers["Authorization"]}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    if mode is GenerationMode.NEGATIVE:
        # An operation that takes nothing cannot be sent anything that breaks its schema.
        operations = [op for op in operations if op.body or any(op.iter_parameters())]

    for operation in operations:

        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_as_documented(case: Any) -> None:
            case.call_and_validate(headers=auth, checks=CHECKS)

        answers_as_documented()
