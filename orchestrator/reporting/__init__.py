"""What the store says about a tenant's collections, in figures: champion/challenger results
(:mod:`~orchestrator.reporting.results`) and contact activity over time
(:mod:`~orchestrator.reporting.activity`). Read-only, set-based SQL; the API, the CLI and the
console render the same functions."""
