"""``Idempotency-Key`` on POST: the same key and body answer the same response, once done.

The stored answer commits in the same transaction as the work it describes, so a client
that lost the response and retries gets the original answer and nothing happens twice. A
key re-used with a different body is refused. An answer is kept for its time to live
(``ORCHESTRATOR_IDEMPOTENCY_TTL_HOURS``, 24 by default): after that the key answers nothing
and the scheduler deletes it (:mod:`orchestrator.retention`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.engine import Connection

from orchestrator.api.dependencies import ClockDep, SettingsDep, StoreDep
from orchestrator.api.errors import ApiError
from orchestrator.api.responses import JSONResponse
from orchestrator.clock import Clock
from orchestrator.store.db import Store
from orchestrator.store.tables import IdempotencyRecord
from orchestrator.tenancy import Principal

Work = Callable[[Connection], tuple[int, dict[str, Any]]]
HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Idempotency:
    """Runs a write in one transaction and keeps its answer under the request's
    Idempotency-Key (for ``ttl``), so a retried request gets the first answer.

    Parameters:
      store: where answers are kept, in the write's own transaction.
      clock: when an answer was kept, and when it is too old to replay.
      ttl: how long an answer is kept.
    """

    store: Store
    clock: Clock
    ttl: timedelta

    def run(self, request: Request, who: Principal, raw: bytes | None, work: Work) -> JSONResponse:
        """Run ``work``, honouring the request's Idempotency-Key if any.

        Parameters:
          raw: the request body (part of the fingerprint); ``None`` for an endpoint that is
            idempotent by nature (PUT) and ignores the header.
        """
        return _run(self, request, who, raw, work)


def idempotency(store: StoreDep, clock: ClockDep, settings: SettingsDep) -> Idempotency:
    return Idempotency(store, clock, timedelta(hours=settings.idempotency_ttl_hours))


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]


def _run(
    keeper: Idempotency, request: Request, who: Principal, raw: bytes | None, work: Work
) -> JSONResponse:
    store = keeper.store
    key = request.headers.get(HEADER) if raw is not None else None
    if key is None:
        with store.transaction() as conn:
            status, body = work(conn)
        return JSONResponse(body, status_code=status)
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise ApiError(
            400, "invalid_idempotency_key", f"{HEADER} must be 1-200 printable characters."
        )
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + (raw or b"")
    ).hexdigest()
    now = keeper.clock.now()
    ttl = keeper.ttl
    try:
        with store.transaction() as conn:
            # An answer past its time to live is gone, whether or not the scheduler has
            # deleted it yet: the key is free again.
            conn.execute(
                sa.delete(IdempotencyRecord).where(
                    IdempotencyRecord.tenant_id == who.tenant_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.created_at < now - ttl,
                )
            )
            stored = _stored(conn, who.tenant_id, key)
            if stored is not None:
                return _replay(stored, fingerprint)
            status, body = work(conn)
            conn.execute(
                sa.insert(IdempotencyRecord).values(
                    tenant_id=who.tenant_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status,
                    response=body,
                    created_at=now,
                )
            )
    except sa.exc.IntegrityError:
        # The same key arrived twice at once; the first one's answer is the answer.
        with store.snapshot() as conn:
            stored = _stored(conn, who.tenant_id, key)
        if stored is None:
            raise ApiError(
                409, "conflict", "A request with this Idempotency-Key is in progress; retry."
            ) from None
        return _replay(stored, fingerprint)
    return JSONResponse(body, status_code=status)


def _stored(conn: Connection, tenant_id: int, key: str) -> Any:
    return conn.execute(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
        )
    ).first()


def _replay(stored: Any, fingerprint: str) -> JSONResponse:
    if stored.request_hash != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"This {HEADER} was used for a different request; use a new key for a new request.",
        )
    return JSONResponse(
        stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )
