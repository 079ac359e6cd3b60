"""Named ops users: passwords kept as scrypt hashes, a one-time link, a lockout after
repeated wrong passwords, sessions that end when the user is disabled or reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.ops_users import (
    FAST_FOR_TESTS,
    LOCKOUT,
    MAX_FAILURES,
    OWASP,
    SESSION_IDLE,
    Can,
    OpsRole,
    SignedIn,
    UserError,
    create_user,
    disable_user,
    hash_password,
    list_users,
    password_cost,
    password_matches,
    reset_user,
    session_person,
    set_password_with_link,
    sign_in,
)
from orchestrator.settings import load_settings
from orchestrator.store.tables import OpsUser

# The first three tests show what production hashes with; the others hash at the tests'
# cost (FAST_FOR_TESTS, what the console tests' deployment uses): lockout, links and sessions
# do not depend on scrypt's work factors, and each OWASP hash takes seconds on a busy machine.
FAST = FAST_FOR_TESTS


def test_a_password_is_kept_only_as_a_salted_scrypt_hash():
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$32768$8$3$")
    assert "correct horse" not in stored
    assert stored != hash_password("correct horse battery")  # salted
    assert password_matches("correct horse battery", stored)
    assert not password_matches("correct horse battery!", stored)
    assert not password_matches("anything", "not-a-hash")


def test_production_hashes_at_owasps_cost_and_the_tests_cost_is_refused_outside_loopback():
    assert (OWASP.n, OWASP.r, OWASP.p) == (2**15, 8, 3)
    production = load_settings(public_url="https://collections.example.com")
    assert not production.fast_password_hashing
    assert password_cost(production) is OWASP
    with pytest.raises(ValueError, match="ORCHESTRATOR_FAST_PASSWORD_HASHING is for tests"):
        load_settings(public_url="https://collections.example.com", fast_password_hashing=True)
    testing = load_settings(public_url="http://127.0.0.1:8000", fast_password_hashing=True)
    assert password_cost(testing) is FAST_FOR_TESTS
    # A hash keeps its own cost: one made cheaply is checked cheaply, and is recognisable.
    cheap = hash_password("correct horse battery", FAST_FOR_TESTS)
    assert cheap.startswith("scrypt$1024$8$1$")
    assert password_matches("correct horse battery", cheap)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_users_made_without_a_cost_get_owasps(store, tenant, clock):
    with store.transaction() as conn:
        create_user(conn, tenant[0], "eve", OpsRole.VIEWER, now=clock.now())
        stored = conn.execute(sa.select(OpsUser.password_hash)).scalar_one()
    assert stored.startswith("scrypt$32768$8$3$")


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
        made = create_user(conn, tenant[0], "ann.lee", OpsRole.OPERATOR, now=clock.now(), cost=FAST)
        assert made.password is not None
        row = conn.execute(sa.select(OpsUser.password_hash)).scalar_one()
        assert made.password not in row
        for _ in range(MAX_FAILURES):
            assert isinstance(
                sign_in(conn, "ann.lee", "wrong", now=clock.now(), cost=FAST), UserError
            )
        locked = sign_in(conn, "ann.lee", made.password, now=clock.now(), cost=FAST)
        assert isinstance(locked, UserError)
        assert "locked until" in str(locked)
        later = sign_in(conn, "ann.lee", made.password, now=clock.now() + LOCKOUT, cost=FAST)
        assert isinstance(later, SignedIn)

        for _ in range(MAX_FAILURES):
            sign_in(conn, "ann.lee", "wrong", now=clock.now(), cost=FAST)
        fresh = reset_user(conn, "ann.lee", now=clock.now(), cost=FAST)
        assert fresh.password is not None
        assert isinstance(
            sign_in(conn, "ann.lee", fresh.password, now=clock.now(), cost=FAST), SignedIn
        )


def test_a_session_ends_when_idle_and_when_the_user_is_disabled(store, tenant, clock):
    with store.transaction() as conn:
        made = create_user(conn, tenant[0], "bo", OpsRole.VIEWER, now=clock.now(), cost=FAST)
        started = sign_in(conn, "bo", made.password, now=clock.now(), cost=FAST)
        assert isinstance(started, SignedIn)
        person = session_person(conn, started.token, now=clock.now())
        assert person is not None
        assert person.actor == "user:bo"
        assert person.tenant_slug == "acme"
        assert session_person(conn, started.token, now=clock.now() + SESSION_IDLE) is None
        assert session_person(conn, "forged", now=clock.now()) is None

        again = sign_in(conn, "bo", made.password, now=clock.now(), cost=FAST)
        assert isinstance(again, SignedIn)
        disable_user(conn, "bo", now=clock.now())
        assert session_person(conn, again.token, now=clock.now()) is None
        assert isinstance(sign_in(conn, "bo", made.password, now=clock.now(), cost=FAST), UserError)
        assert [r.disabled_at is not None for r in list_users(conn)] == [True]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_one_time_link_works_once_and_expires(store, tenant, clock):
    with store.transaction() as conn:
        made = create_user(
            conn, tenant[0], "cy", OpsRole.ADMIN, now=clock.now(), cost=FAST, link=True
        )
        assert made.password is None
        with pytest.raises(UserError, match="at least 12"):
            set_password_with_link(conn, made.link_token, "short", now=clock.now(), cost=FAST)
        assert set_password_with_link(
            conn, made.link_token, "long enough pw", now=clock.now(), cost=FAST
        )
        with pytest.raises(UserError, match="not valid any more"):
            set_password_with_link(
                conn, made.link_token, "long enough pw", now=clock.now(), cost=FAST
            )
        assert isinstance(
            sign_in(conn, "cy", "long enough pw", now=clock.now(), cost=FAST), SignedIn
        )

        other = reset_user(conn, "cy", now=clock.now(), cost=FAST, link=True)
        with pytest.raises(UserError, match="not valid any more"):
            set_password_with_link(
                conn,
                other.link_token,
                "long enough pw",
                now=clock.now() + timedelta(days=2),
                cost=FAST,
            )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_names_are_checked_and_unique(store, tenant, clock):
    with store.transaction() as conn:
        with pytest.raises(UserError, match="lower-case"):
            create_user(conn, tenant[0], "Ann Lee", OpsRole.VIEWER, now=clock.now(), cost=FAST)
        create_user(conn, tenant[0], "dee", OpsRole.VIEWER, now=clock.now(), cost=FAST)
        with pytest.raises(UserError, match="already exists"):
            create_user(conn, tenant[0], "dee", OpsRole.ADMIN, now=clock.now(), cost=FAST)


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
