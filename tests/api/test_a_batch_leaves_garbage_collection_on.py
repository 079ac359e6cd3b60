"""Validating a batch leaves the process's garbage collector alone: the API serves other
requests on other threads meanwhile, and switching the collector off for a batch switched it
off for all of them (and a second batch started meanwhile could leave it off)."""

from __future__ import annotations

import gc

from tests.factories import account_document


def test_a_batch_never_switches_the_collector_off(api, monkeypatch):
    switched = []
    monkeypatch.setattr(gc, "disable", lambda: switched.append("disable"))
    monkeypatch.setattr(gc, "set_threshold", lambda *values: switched.append(values))

    response = api.post(
        "/v1/accounts:batch",
        json={"accounts": [account_document(f"loan-{i}") for i in range(50)]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 50
    assert switched == []
    assert gc.isenabled()
