"""Named ops users, their roles and their console sessions.

A person signs in to the ops console with a name and a password; lender API keys stay for
machines. Passwords are kept as scrypt hashes (``hashlib.scrypt`` with OWASP's parameters,
stored beside the hash so they can be raised later; only a test deployment, with
``ORCHESTRATOR_FAST_PASSWORD_HASHING``, hashes new ones with :data:`FAST_FOR_TESTS`); a
one-time link to set a password, and
a session's cookie, are kept only as SHA-256 (they carry 256 bits of randomness). A name
is unique across tenants: it is what every change made in the console records
(``user:NAME``).

After :data:`MAX_FAILURES` wrong passwords in a row the account is locked for
:data:`LOCKOUT`; an admin's ``orchestrator users reset`` unlocks it at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.errors import OrchestratorError
from orchestrator.store.tables import OpsSession, OpsUser, Tenant

if TYPE_CHECKING:
    from orchestrator.settings import Settings

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=1)
LINK_LIFETIME = timedelta(hours=24)
MIN_PASSWORD = 12


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's work factors; a hash records its own, so checking follows the stored ones."""

    n: int
    r: int
    p: int


# OWASP's scrypt row "N=2^15, r=8, p=3" (as strong as N=2^17, p=1 in a quarter of the memory).
OWASP = ScryptCost(n=2**15, r=8, p=3)
# Tests only (ORCHESTRATOR_FAST_PASSWORD_HASHING): the same scheme at 1/96 of the work, so a
# console test's sign-in costs milliseconds, not seconds, on a busy machine.
FAST_FOR_TESTS = ScryptCost(n=2**10, r=8, p=1)


def password_cost(settings: Settings) -> ScryptCost:
    """The cost new passwords are hashed at: OWASP's unless a test deployment asks."""
    return FAST_FOR_TESTS if settings.fast_password_hashing else OWASP


_NAME = re.compile(r"^[a-z][a-z0-9._\-]{1,63}$")


class OpsRole(StrEnum):
    """What a person may do in the console."""

    VIEWER = "viewer"  # reads everything; contact data masked
    OPERATOR = "operator"  # edits channels, templates and strategies
    COMPLIANCE = "compliance"  # edits rule overlays and waivers; reads unmasked
    ADMIN = "admin"  # manages users and keys; may do everything


class Can(StrEnum):
    """One permission."""

    READ = "read"
    SEE_CONTACT_DATA = "see contact data unmasked"
    EDIT_CHANNELS = "edit channels"
    EDIT_STRATEGY = "edit strategies"
    EDIT_TEMPLATES = "edit templates"
    EDIT_RULES = "edit rule overlays"
    WAIVE_LINT = "waive template lint findings"
    ACT_ON_ACCOUNTS = "put accounts on hold and record disputes"
    WORK_VISITS = "assign field visits and record their outcomes"
    MANAGE_USERS = "manage users and keys"


PERMISSIONS: dict[OpsRole, frozenset[Can]] = {
    OpsRole.VIEWER: frozenset({Can.READ}),
    OpsRole.OPERATOR: frozenset(
        {
            Can.READ,
            Can.EDIT_CHANNELS,
            Can.EDIT_STRATEGY,
            Can.EDIT_TEMPLATES,
            Can.ACT_ON_ACCOUNTS,
            Can.WORK_VISITS,
        }
    ),
    OpsRole.COMPLIANCE: frozenset(
        {
            Can.READ,
            Can.SEE_CONTACT_DATA,
            Can.EDIT_RULES,
            Can.WAIVE_LINT,
            Can.ACT_ON_ACCOUNTS,
            Can.WORK_VISITS,
        }
    ),
    OpsRole.ADMIN: frozenset(Can),
}


class UserError(OrchestratorError):
    """A user command or sign-in that cannot be done, saying why."""


@dataclass(frozen=True, slots=True)
class OpsPerson:
    """Who is signed in, through which session.

    Parameters:
      name: the user's name; changes record it as ``user:NAME`` (:attr:`actor`).
      role: what they may do (:meth:`can`).
      tenant_id / tenant_slug: the one tenant they work for.
      csrf_token: the token every form they send must carry.
    """

    user_id: int
    name: str
    role: OpsRole
    tenant_id: int
    tenant_slug: str
    session_id: int
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"user:{self.name}"

    def can(self, permission: Can) -> bool:
        return permission in PERMISSIONS[self.role]


@dataclass(frozen=True, slots=True)
class Credential:
    """What to hand a person once: an initial password, or a one-time link's token."""

    name: str
    password: str | None = None
    link_token: str | None = None
    link_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie's value and the person."""

    token: str
    person: OpsPerson


# -- passwords ----------------------------------------------------------------------------


def hash_password(password: str, cost: ScryptCost = OWASP) -> str:
    """``scrypt$N$r$p$salt$hash``, base64 without padding."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n=cost.n, r=cost.r, p=cost.p)
    return "$".join(["scrypt", str(cost.n), str(cost.r), str(cost.p), _b64(salt), _b64(digest)])


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = _scrypt(password, _unb64(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found, _unb64(digest))


@cache
def _dummy_hash(cost: ScryptCost) -> str:
    """A hash to check a password against when there is no user, made on first need."""
    return hash_password(secrets.token_urlsafe(16), cost)


def _scrypt(password: str, salt: bytes, *, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**27, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


# -- users --------------------------------------------------------------------------------


def create_user(
    conn: Connection,
    tenant_id: int,
    name: str,
    role: OpsRole,
    *,
    now: datetime,
    link: bool = False,
    cost: ScryptCost = OWASP,
) -> Credential:
    """Create a user with a generated initial password (or, with ``link``, a one-time
    link's token to set one). Either is returned once; only its hash is kept, at ``cost``
    (:func:`password_cost`)."""
    if not _NAME.fullmatch(name):
        raise UserError(
            f"user name {name!r} must be 2-64 lower-case letters, digits, dots, dashes or "
            "underscores, starting with a letter"
        )
    if conn.execute(sa.select(OpsUser.id).where(OpsUser.name == name)).scalar() is not None:
        raise UserError(f"a user named {name!r} already exists")
    user_id = conn.execute(
        sa.insert(OpsUser)
        .values(tenant_id=tenant_id, name=name, role=role.value, failed_sign_ins=0, created_at=now)
        .returning(OpsUser.id)
    ).scalar_one()
    return _new_credential(conn, user_id, name, now=now, link=link, cost=cost)


def _new_credential(
    conn: Connection, user_id: int, name: str, *, now: datetime, link: bool, cost: ScryptCost
) -> Credential:
    if link:
        token = secrets.token_urlsafe(32)
        expires = now + LINK_LIFETIME
        values: dict[str, Any] = {
            "password_hash": None,
            "link_hash": _sha256(token),
            "link_expires_at": expires,
        }
        found = Credential(name, link_token=token, link_expires_at=expires)
    else:
        password = secrets.token_urlsafe(15)
        values = {"password_hash": hash_password(password, cost), "link_hash": None}
        found = Credential(name, password=password)
    conn.execute(
        sa.update(OpsUser)
        .where(OpsUser.id == user_id)
        .values(**values, failed_sign_ins=0, locked_until=None)
    )
    return found


def _user(conn: Connection, name: str, tenant_id: int | None = None) -> Any:
    """The user named ``name`` (of tenant ``tenant_id`` only, when given: another
    tenant's user is reported as not there)."""
    query = sa.select(OpsUser).where(OpsUser.name == name)
    if tenant_id is not None:
        query = query.where(OpsUser.tenant_id == tenant_id)
    row = conn.execute(query).first()
    if row is None:
        raise UserError(f"no user named {name!r} (see `orchestrator users list`)")
    return row


def reset_user(
    conn: Connection,
    name: str,
    *,
    now: datetime,
    link: bool = False,
    tenant_id: int | None = None,
    cost: ScryptCost = OWASP,
) -> Credential:
    """A new initial password (or one-time link) for ``name``: unlocks the user, enables
    it again if it was disabled, and ends its sessions.

    Parameters:
      tenant_id: only a user of this tenant (a tenant's admin in the console).
    """
    row = _user(conn, name, tenant_id)
    _end_sessions(conn, row.id, now)
    conn.execute(sa.update(OpsUser).where(OpsUser.id == row.id).values(disabled_at=None))
    return _new_credential(conn, row.id, name, now=now, link=link, cost=cost)


def disable_user(
    conn: Connection, name: str, *, now: datetime, tenant_id: int | None = None
) -> None:
    """Stop ``name`` signing in, and end its sessions at once.

    Parameters:
      tenant_id: only a user of this tenant (a tenant's admin in the console).
    """
    row = _user(conn, name, tenant_id)
    conn.execute(sa.update(OpsUser).where(OpsUser.id == row.id).values(disabled_at=now))
    _end_sessions(conn, row.id, now)


def set_role(
    conn: Connection, name: str, role: OpsRole, *, tenant_id: int | None = None
) -> OpsRole:
    """Give ``name`` another role; it applies from their next request (a session reads
    the role each time). Returns the role they had.

    Parameters:
      tenant_id: only a user of this tenant (a tenant's admin in the console).
    """
    row = _user(conn, name, tenant_id)
    conn.execute(sa.update(OpsUser).where(OpsUser.id == row.id).values(role=role.value))
    return OpsRole(row.role)


def list_users(conn: Connection, tenant_id: int | None = None) -> list[Any]:
    """Users with their tenant's slug and when they last signed in (``last_sign_in``,
    ``None`` if never), by tenant and name."""
    last = (
        sa.select(sa.func.max(OpsSession.created_at))
        .where(OpsSession.user_id == OpsUser.id)
        .scalar_subquery()
    )
    query = (
        sa.select(
            OpsUser.name,
            OpsUser.role,
            OpsUser.created_at,
            OpsUser.disabled_at,
            OpsUser.locked_until,
            OpsUser.password_hash.is_not(None).label("has_password"),
            last.label("last_sign_in"),
            Tenant.slug,
        )
        .join(Tenant, Tenant.id == OpsUser.tenant_id)
        .order_by(Tenant.slug, OpsUser.name)
    )
    if tenant_id is not None:
        query = query.where(OpsUser.tenant_id == tenant_id)
    return list(conn.execute(query))


def set_password_with_link(
    conn: Connection, token: str, password: str, *, now: datetime, cost: ScryptCost = OWASP
) -> str:
    """Set a password through a one-time link; returns the user's name. The link stops
    working once used or expired."""
    check_password(password)
    row = conn.execute(
        sa.select(OpsUser).where(OpsUser.link_hash == _sha256(token), OpsUser.disabled_at.is_(None))
    ).first()
    if row is None or row.link_expires_at is None or row.link_expires_at <= now:
        raise UserError("this link is not valid any more: ask an admin for a new one")
    conn.execute(
        sa.update(OpsUser)
        .where(OpsUser.id == row.id)
        .values(
            password_hash=hash_password(password, cost),
            link_hash=None,
            link_expires_at=None,
            failed_sign_ins=0,
            locked_until=None,
        )
    )
    return str(row.name)


# -- sessions -----------------------------------------------------------------------------


def sign_in(
    conn: Connection, name: str, password: str, *, now: datetime, cost: ScryptCost = OWASP
) -> SignedIn | UserError:
    """Check a name and password and start a session, or return the :class:`UserError`
    saying why not (without telling whether the name exists, unless it is locked). The
    error is returned, not raised, so that the caller commits the failure it counted.
    ``cost`` is the deployment's (:func:`password_cost`): an unknown name is checked against
    a hash made at it, so that it takes the time a known one does."""
    wrong = UserError("The name or the password is wrong.")
    row = conn.execute(sa.select(OpsUser).where(OpsUser.name == name)).first()
    if row is None or row.password_hash is None or row.disabled_at is not None:
        password_matches(password, _dummy_hash(cost))  # the same time as a real check
        return wrong
    if row.locked_until is not None and row.locked_until > now:
        return UserError(
            f"Too many wrong passwords: signing in as {name} is locked until "
            f"{row.locked_until:%H:%M} UTC, or until an admin resets it."
        )
    if not password_matches(password, row.password_hash):
        failures = row.failed_sign_ins + 1
        locked = failures >= MAX_FAILURES
        conn.execute(
            sa.update(OpsUser)
            .where(OpsUser.id == row.id)
            .values(
                failed_sign_ins=0 if locked else failures,
                locked_until=now + LOCKOUT if locked else row.locked_until,
            )
        )
        return wrong
    conn.execute(
        sa.update(OpsUser).where(OpsUser.id == row.id).values(failed_sign_ins=0, locked_until=None)
    )
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session_id = conn.execute(
        sa.insert(OpsSession)
        .values(
            user_id=row.id,
            token_hash=_sha256(token),
            csrf_token=csrf,
            created_at=now,
            seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        .returning(OpsSession.id)
    ).scalar_one()
    slug = conn.execute(sa.select(Tenant.slug).where(Tenant.id == row.tenant_id)).scalar_one()
    person = OpsPerson(row.id, row.name, OpsRole(row.role), row.tenant_id, slug, session_id, csrf)
    return SignedIn(token, person)


def session_person(conn: Connection, token: str, *, now: datetime) -> OpsPerson | None:
    """The person a session cookie belongs to, or ``None`` (unknown, ended, expired, idle
    too long, or the user disabled). Notes the session as seen, at most once a minute."""
    row = conn.execute(
        sa.select(
            OpsSession.id,
            OpsSession.csrf_token,
            OpsSession.seen_at,
            OpsSession.expires_at,
            OpsUser.id.label("user_id"),
            OpsUser.name,
            OpsUser.role,
            OpsUser.tenant_id,
            Tenant.slug,
        )
        .join(OpsUser, OpsUser.id == OpsSession.user_id)
        .join(Tenant, Tenant.id == OpsUser.tenant_id)
        .where(
            OpsSession.token_hash == _sha256(token),
            OpsSession.ended_at.is_(None),
            OpsUser.disabled_at.is_(None),
        )
    ).first()
    if row is None or row.expires_at <= now or row.seen_at + SESSION_IDLE <= now:
        return None
    if now - row.seen_at >= timedelta(minutes=1):
        conn.execute(sa.update(OpsSession).where(OpsSession.id == row.id).values(seen_at=now))
    return OpsPerson(
        row.user_id, row.name, OpsRole(row.role), row.tenant_id, row.slug, row.id, row.csrf_token
    )


def sign_out(conn: Connection, session_id: int, *, now: datetime) -> None:
    conn.execute(
        sa.update(OpsSession)
        .where(OpsSession.id == session_id, OpsSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def _end_sessions(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute(
        sa.update(OpsSession)
        .where(OpsSession.user_id == user_id, OpsSession.ended_at.is_(None))
        .values(ended_at=now)
    )
