"""One module owns a task's state: every ``UPDATE`` of the ``tasks`` table is a named
compare-and-set transition in ``orchestrator/tasks/transitions.py``, which the sweep,
dispatch, the reconciler, re-planning and the provider reports call."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "orchestrator" / "tasks" / "transitions.py"
WRITES_TASKS = re.compile(r"update\(\s*(Task\b|tables\.tasks\b|Task\.__table__)")


def test_only_the_transitions_module_updates_tasks():
    writers = sorted(
        str(path.relative_to(ROOT))
        for top in ("orchestrator", "channels")
        for path in (ROOT / top).rglob("*.py")
        if "migrations" not in path.parts
        and path != OWNER
        and WRITES_TASKS.search(path.read_text(encoding="utf-8"))
    )

    assert writers == [], "update tasks through orchestrator.tasks.transitions"
    assert WRITES_TASKS.search(OWNER.read_text(encoding="utf-8"))
