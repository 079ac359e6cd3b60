"""The task lifecycle, owned in one place.

- :mod:`~orchestrator.tasks.decision` (pure): what to do with a task now — send, hold until
  an instant, block, expire or give up, with the reasons — asked by the planner, dispatch,
  re-planning and the simulation alike;
- :mod:`~orchestrator.tasks.transitions`: every change of a task's state after it is planned,
  each a compare-and-set on the state it moves from.
"""

from orchestrator.tasks.decision import TaskDecision, Verdict, decide_task, revise, routes_of

__all__ = ["TaskDecision", "Verdict", "decide_task", "revise", "routes_of"]
