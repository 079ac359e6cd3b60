"""One tenant's failure stays that tenant's: what planning and dispatch do when one tenant's
state (its configuration, its accounts) makes their work fail.

The work for every tenant runs in one process, so an exception raised by one tenant's
accounts must not end a run that still has other tenants' work to do. The failure is
logged at ERROR with the tenant and counted in ``orchestrator_tenant_failures_total``
(alert on any increase), and the run goes on with the next tenant.
"""

from __future__ import annotations

from orchestrator.logs import get_logger
from orchestrator.metrics import TENANT_FAILURES

log = get_logger(__name__)


def tenant_failed(stage: str, tenant: str, error: BaseException) -> None:
    """Record that ``tenant``'s work at ``stage`` failed with
    ``error``: an ERROR log line and the alerting counter. The caller skips that work.
    Stages: ``plan``, ``dispatch``, ``reconcile``."""
    TENANT_FAILURES.labels(stage, tenant).inc()
    log.error(
        "one tenant's work failed and was skipped; other tenants go on",
        stage=stage,
        tenant=tenant,
        error=f"{type(error).__name__}: {error}",
    )
