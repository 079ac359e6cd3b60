"""Named ops users: passwords kept as scrypt hashes, a one-time link, a lockout after
repeated wrong passwords, sessions that end when the user is disabled or reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.ops_users import (
    LOCKOUT,
    MAX_FAILURES,
    SESSION_IDLE,
    Can,
    OpsRole,
    SignedIn,
    UserError,
    create_user,
    disable_user,
    hash_password,
    list_users,
    password_matches,
    reset_user,
    session_person,
    set_password_with_link,
    sign_in,
)
from orchestrator.store.tables import OpsUser


def test_a_password_is_kept_only_as_a_salted_scrypt_hash():
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$32768$8$3$")
    assert "correct horse" not in stored
    assert stored != hash_password("correct horse battery")  # salted
    assert password_matches("correct horse battery", stored)
    assert not password_matches("correct horse battery!", stored)
    assert not password_matches("anything", "not-a-hash")


def test_roles_grant_what_the_issue_says():
    assert permissions_of("viewer") == {Can.READ}
    assert Can.EDIT_CHANNELS in permissions_of("operator")
    assert Can.EDIT_RULES not in permissions_of("operator")
    assert Can.SEE_CONTACT_DATA not in permissions_of("operator")
    assert {Can.EDIT_RULES, Can.SEE_CONTACT_DATA} <= permissions_of("compliance")
    assert Can.EDIT_STRATEGY not in permissions_of("compliance")
    assert permissions_of("admin") == set(Can)


def permissions_of(role: str) -> set[Can]:
    from orchestrator.ops_users import PERMISSIONS

    return set(PERMISSIONS[OpsRole(role)])


# Each check costs a deliberate scrypt: the logic is the same on both stores, so the
# lockout and link tests run on SQLite only; sessions run on both.
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sign_in_locks_after_repeated_failures_and_reset_unlocks(store, tenant, clock):
    with store.transaction() as conn:
        made = create_user(conn, tenant[0], "ann.lee", OpsRole.OPERATOR, now=clock.now())
        assert made.password is not None
        row = conn.execute(sa.select(OpsUser.password_hash)).scalar_one()
        assert made.password not in row
        for _ in range(MAX_FAILURES):
            assert isinstance(sign_in(conn, "ann.lee", "wrong", now=clock.now()), UserError)
        locked = sign_in(conn, "ann.lee", made.password, now=clock.now())
        assert isinstance(locked, UserError)
        assert "locked until" in str(locked)
        later = sign_in(conn, "ann.lee", made.password, now=clock.now() + LOCKOUT)
        assert isinstance(later, SignedIn)

        for _ in range(MAX_FAILURES):
            sign_in(conn, "ann.lee", "wrong", now=clock.now())
        fresh = reset_user(conn, "ann.lee", now=clock.now())
        assert fresh.password is not None
        assert isinstance(sign_in(conn, "ann.lee", fresh.password, now=clock.now()), SignedIn)


def test_a_session_ends_when_idle_and_when_the_user_is_disabled(store, tenant, clock):
    with store.transaction() as conn:
        made = create_user(conn, tenant[0], "bo", OpsRole.VIEWER, now=clock.now())
        started = sign_in(conn, "bo", made.password, now=clock.now())
        assert isinstance(started, SignedIn)
        person = session_person(conn, started.token, now=clock.now())
        assert person is not None
        assert person.actor == "user:bo"
        assert person.tenant_slug == "acme"
        assert session_person(conn, started.token, now=clock.now() + SESSION_IDLE) is None
        assert session_person(conn, "forged", now=clock.now()) is None

        again = sign_in(conn, "bo", made.password, now=clock.now())
        assert isinstance(again, SignedIn)
        disable_user(conn, "bo", now=clock.now())
        assert session_person(conn, again.token, now=clock.now()) is None
        assert isinstance(sign_in(conn, "bo", made.password, now=clock.now()), UserError)
        assert [r.disabled_at is not None for r in list_users(conn)] == [True]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_one_time_link_works_once_and_expires(store, tenant, clock):
    with store.transaction() as conn:
        made = create_user(conn, tenant[0], "cy", OpsRole.ADMIN, now=clock.now(), link=True)
        assert made.password is None
        with pytest.raises(UserError, match="at least 12"):
            set_password_with_link(conn, made.link_token, "short", now=clock.now())
        assert set_password_with_link(conn, made.link_token, "long enough pw", now=clock.now())
        with pytest.raises(UserError, match="not valid any more"):
            set_password_with_link(conn, made.link_token, "long enough pw", now=clock.now())
        assert isinstance(sign_in(conn, "cy", "long enough pw", now=clock.now()), SignedIn)

        other = reset_user(conn, "cy", now=clock.now(), link=True)
        with pytest.raises(UserError, match="not valid any more"):
            set_password_with_link(
                conn, other.link_token, "long enough pw", now=clock.now() + timedelta(days=2)
            )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_names_are_checked_and_unique(store, tenant, clock):
    with store.transaction() as conn:
        with pytest.raises(UserError, match="lower-case"):
            create_user(conn, tenant[0], "Ann Lee", OpsRole.VIEWER, now=clock.now())
        create_user(conn, tenant[0], "dee", OpsRole.VIEWER, now=clock.now())
        with pytest.raises(UserError, match="already exists"):
            create_user(conn, tenant[0], "dee", OpsRole.ADMIN, now=clock.now())


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_tenant_scoped_change_reaches_only_that_tenants_users(store, clock):
    from orchestrator.ops_users import set_role
    from orchestrator.tenancy import create_tenant

    with store.transaction() as conn:
        acme = create_tenant(conn, "acme", name="Acme", now=clock.now())
        rival = create_tenant(conn, "rival", name="Rival", now=clock.now())
        create_user(conn, rival, "ri.val", OpsRole.ADMIN, now=clock.now(), link=True)
        create_user(conn, acme, "ac.me", OpsRole.VIEWER, now=clock.now(), link=True)
    for change in (
        lambda conn: set_role(conn, "ri.val", OpsRole.VIEWER, tenant_id=acme),
        lambda conn: disable_user(conn, "ri.val", now=clock.now(), tenant_id=acme),
        lambda conn: reset_user(conn, "ri.val", now=clock.now(), tenant_id=acme),
    ):
        missing = pytest.raises(UserError, match=r"no user named 'ri\.val'")
        with missing, store.transaction() as conn:
            change(conn)
    with store.transaction() as conn:
        assert set_role(conn, "ac.me", OpsRole.OPERATOR, tenant_id=acme) is OpsRole.VIEWER
    with store.snapshot() as conn:
        users = {u.name: u for u in list_users(conn)}
    assert users["ri.val"].role == "admin"
    assert users["ri.val"].disabled_at is None
    assert users["ac.me"].role == "operator"
    assert users["ac.me"].last_sign_in is None
