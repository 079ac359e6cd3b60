"""The README's "API in one minute" does what it says: the account it sends plans a contact,
and the dispute it posts then blocks that contact, naming the rule. The bodies are read from
the README itself, so the example cannot drift from what the API does."""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_bodies() -> tuple[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### The API in one minute") :]
    put, event = re.findall(r"-d '(.*?)'\n", section, flags=re.DOTALL)[:2]
    return put, event


def test_the_readme_account_plans_a_contact_and_the_dispute_blocks_it(api, clock):
    put_body, event_body = readme_bodies()
    due = clock.now().astimezone(ZoneInfo("America/New_York")).date().isoformat()
    document = json.loads(put_body.replace("""'"$DUE"'""", due))

    assert api.put("/v1/accounts/loan-88231", json=document).status_code in (200, 201)
    planned = api.get("/v1/accounts/loan-88231/timeline").json()["entries"]
    assert [e["kind"] for e in planned if e["kind"] == "task.planned"], planned

    assert api.post("/v1/accounts/loan-88231/events", json=json.loads(event_body)).is_success
    entries = api.get("/v1/accounts/loan-88231/timeline").json()["entries"]
    [cancelled] = [e for e in entries if e["kind"] == "task.cancelled"]
    assert cancelled["channel"] == "sms"
    assert cancelled["rules"][0] == "us.reg_f.dispute_pending_verification"
    assert "dispute under review" in cancelled["message"]
