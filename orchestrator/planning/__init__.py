"""Planning: which contact each account gets, and when.

- :mod:`~orchestrator.planning.planner`: the pure decisions for one account;
- :mod:`~orchestrator.planning.routing`: which channel and address a step takes;
- :mod:`~orchestrator.planning.facts`: an account's facts and contact history, from the store;
- :mod:`~orchestrator.planning.portfolio`: planning the portfolio in batches;
- :mod:`~orchestrator.planning.scheduler`: the one active scheduler that plans and sweeps.
"""
