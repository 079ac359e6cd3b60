"""A tenant's webhook endpoints: where its lender events go, and the secrets that sign them.

Every function takes the tenant id: another tenant's endpoint does not exist here. An
endpoint's URL must be ``https://`` and outside the platform's network (checked by
:class:`~channels.egress.Egress` now, and again at every connection, so a name that later
resolves inside gains nothing); plain ``http://`` on loopback only in development
(``ORCHESTRATOR_ALLOW_LOOPBACK_PROVIDERS``).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from channels.egress import Egress, EgressRefused
from orchestrator.errors import OrchestratorError, Problem
from orchestrator.outbound.signing import new_secret
from orchestrator.outbox import EVENT_TYPES
from orchestrator.store.tables import WebhookDelivery, WebhookEndpoint

MAX_ENDPOINTS = 20
_HOST = re.compile(r"[A-Za-z0-9._:%-]+")
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


class EndpointInvalid(OrchestratorError):
    """An endpoint the request describes cannot be registered; nothing was written.

    Parameters:
      problems: each field that is wrong, and why.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems))


def url_problems(url: str, egress: Egress) -> list[Problem]:
    """What is wrong with ``url`` as an endpoint (nothing: ``[]``)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return [Problem("url", f"{url!r} is not an http(s) URL with a host and a valid port")]
    if parts.scheme not in ("https", "http") or not host:
        return [Problem("url", f"{url!r} is not an http(s) URL with a host and a valid port")]
    try:
        readable = _HOST.fullmatch(host.encode("idna").decode()) is not None
    except UnicodeError:
        readable = False
    if not readable:
        return [Problem("url", f"{host!r} is not a valid host name")]
    if parts.username or parts.password:
        return [Problem("url", "put no credentials in the URL: the signature authenticates us")]
    if parts.fragment:
        return [Problem("url", "a URL with a #fragment cannot be posted to")]
    development = egress.allow_loopback and _is_loopback_name(host)
    if parts.scheme != "https" and not development:
        return [Problem("url", "an endpoint must use https://")]
    try:
        egress.addresses(host, port or (443 if parts.scheme == "https" else 80))
    except (ValueError, UnicodeError):  # a name the resolver cannot even encode
        return [Problem("url", f"{host!r} is not a valid host name")]
    except EgressRefused as exc:
        if not exc.unresolved:  # a name that does not resolve yet is checked at each POST
            return [
                Problem(
                    "url",
                    f"{host} is not a public address: an endpoint must be reachable on the "
                    "internet, never inside the platform's network",
                )
            ]
    return []


def type_problems(event_types: Sequence[str]) -> list[Problem]:
    return [
        Problem(f"event_types[{i}]", f"{t!r} is not an event type (see docs/lender-events.md)")
        for i, t in enumerate(event_types)
        if t not in EVENT_TYPES
    ]


def create(
    conn: Connection,
    tenant_id: int,
    *,
    url: str,
    description: str,
    event_types: Sequence[str],
    egress: Egress,
    now: datetime,
) -> tuple[Row[Any], str]:
    """Register an endpoint; the row and its secret (returned once, here)."""
    problems = url_problems(url, egress) + type_problems(event_types)
    if problems:
        raise EndpointInvalid(problems)
    count = conn.execute(
        sa.select(sa.func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None))
    ).scalar_one()
    if count >= MAX_ENDPOINTS:
        raise EndpointInvalid(
            [Problem("url", f"a tenant has at most {MAX_ENDPOINTS} endpoints: delete one first")]
        )
    secret = new_secret()
    endpoint_id = conn.execute(
        sa.insert(WebhookEndpoint)
        .values(
            ref=f"ep_{secrets.token_hex(12)}",
            tenant_id=tenant_id,
            url=url,
            description=description,
            event_types=list(dict.fromkeys(event_types)),
            secret=secret,
            created_at=now,
            updated_at=now,
        )
        .returning(WebhookEndpoint.id)
    ).scalar_one()
    row = conn.execute(sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)).one()
    return row, secret


def find(conn: Connection, tenant_id: int, ref: str) -> Row[Any] | None:
    """The tenant's endpoint ``ref`` (not deleted)."""
    return conn.execute(
        sa.select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id,
            WebhookEndpoint.ref == ref,
            WebhookEndpoint.deleted_at.is_(None),
        )
    ).first()


def listed(conn: Connection, tenant_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.id)
        )
    )


def delete(conn: Connection, tenant_id: int, ref: str, now: datetime) -> bool:
    """Delete an endpoint: nothing more is posted to it, its pending deliveries are
    cancelled (its delivery history stays readable). Whether it existed."""
    endpoint = find(conn, tenant_id, ref)
    if endpoint is None:
        return False
    conn.execute(
        sa.update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .values(deleted_at=now, updated_at=now, secret="", previous_secret=None)
    )
    conn.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(
            status="cancelled",
            next_attempt_at=None,
            last_error="endpoint deleted",
            updated_at=now,
        )
    )
    return True


def rotate(
    conn: Connection, tenant_id: int, ref: str, overlap: timedelta, now: datetime
) -> tuple[Row[Any], str] | None:
    """Give the endpoint a new secret; the current one keeps signing too for ``overlap``
    (both signatures are sent), so the receiver can switch without losing a request. The
    row and the new secret, or ``None`` when there is no such endpoint."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise EndpointInvalid([Problem("overlap_hours", "must be between 0 and 168 hours")])
    endpoint = find(conn, tenant_id, ref)
    if endpoint is None:
        return None
    secret = new_secret()
    conn.execute(
        sa.update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .values(
            secret=secret,
            previous_secret=endpoint.secret if overlap else None,
            previous_expires_at=now + overlap if overlap else None,
            updated_at=now,
        )
    )
    row = conn.execute(sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)).one()
    return row, secret


def secrets_in_force(endpoint: Any, now: datetime) -> list[str]:
    """The secrets that sign a POST to ``endpoint`` at ``now``: the current one, and the
    previous one during its overlap."""
    found = [endpoint.secret]
    expires = endpoint.previous_expires_at
    if endpoint.previous_secret and expires is not None and now < expires:
        found.append(endpoint.previous_secret)
    return found


def _is_loopback_name(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
