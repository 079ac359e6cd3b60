"""Simulation: the real planner and compliance engine on a virtual clock over a portfolio
file (:mod:`~orchestrator.simulation.run`), and its HTML report
(:mod:`~orchestrator.simulation.report`)."""
