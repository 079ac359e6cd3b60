"""What we tell lenders: their webhook endpoints, signed POSTs of the lender events
``orchestrator.outbox`` records, retries, dead letters and replays, and the pass that finds
broken promises."""
