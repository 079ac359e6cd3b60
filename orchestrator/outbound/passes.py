"""The scheduler's lender-events job: find broken promises, then post what is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from channels.egress import Egress
from orchestrator.clock import Clock
from orchestrator.outbound.delivery import Deliverer, PassResult
from orchestrator.outbound.promises import BrokenPromises
from orchestrator.store.db import Store


def lender_events_pass(
    store: Store, clock: Clock, *, egress: Egress
) -> Callable[[datetime], PassResult]:
    """One callable for :class:`~orchestrator.planning.scheduler.Scheduler`'s
    ``lender_events``: each call checks for broken promises (every five minutes of the
    clock) and runs a delivery pass.

    Parameters:
      store: the store.
      clock: the service's clock.
      egress: where endpoints may be (loopback only in development).
    """
    deliverer = Deliverer(store, clock, egress=egress)
    promises = BrokenPromises(store)

    def run(now: datetime) -> PassResult:
        promises.check_if_due(now)
        return deliverer.run(now)

    return run
