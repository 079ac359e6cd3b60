"""Which accounts a batch of reports changed, so that they are re-planned."""

from __future__ import annotations

# Tenant id -> ids of its accounts whose events or contact points changed: re-planned once
# the reports are applied, so a hold stops what it forbids at once.
Changed = dict[int, set[int]]
