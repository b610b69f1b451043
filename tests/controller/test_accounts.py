"""Accounts: argon2 hashes, opaque hashed session tokens with expiry, lock-out after repeated failures."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from controller.accounts import Accounts, LoginError, token_digest
from controller.config import AuthConfig, UserBootstrap
from controller.db.auth import AuthSession, User
from controller.db.base import make_engine, make_session_factory
from controller.db.migrate import upgrade_database


@pytest.fixture
def accounts(database_url):
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield Accounts(make_session_factory(engine), AuthConfig(max_failed_logins=3, lockout_s=60, session_ttl_s=100))
    engine.dispose()


def test_passwords_are_stored_as_argon2_hashes_and_tokens_only_as_digests(accounts):
    accounts.create_user("officer1", "correct horse battery", ["officer"])
    token, _ = accounts.login("officer1", "correct horse battery")
    with accounts.sessions() as db:
        user = db.scalar(select(User))
        session = db.scalar(select(AuthSession))
    assert user.password_hash.startswith("$argon2id$"), "passwords must be argon2id hashes"
    assert "correct horse" not in user.password_hash
    assert session.token_hash == token_digest(token) and token not in session.token_hash, "tokens stored hashed"
    principal = accounts.resolve(token)
    assert principal is not None and principal.username == "officer1" and principal.roles == {"officer"}


def test_wrong_password_and_unknown_user_give_the_same_error(accounts):
    accounts.create_user("officer1", "correct horse battery", ["officer"])
    with pytest.raises(LoginError) as wrong:
        accounts.login("officer1", "nope")
    with pytest.raises(LoginError) as unknown:
        accounts.login("nobody", "nope")
    assert str(wrong.value) == str(unknown.value), "the error must not reveal which user names exist"


def test_repeated_failures_lock_the_account_even_for_the_right_password(accounts):
    accounts.create_user("officer1", "correct horse battery", ["officer"])
    for _ in range(3):
        with pytest.raises(LoginError):
            accounts.login("officer1", "guess", now=1000.0)
    with pytest.raises(LoginError, match="locked"):
        accounts.login("officer1", "correct horse battery", now=1010.0)
    token, _ = accounts.login("officer1", "correct horse battery", now=1061.0)  # lock-out over
    assert accounts.resolve(token, now=1061.0) is not None


def test_sessions_expire_and_logout_ends_them(accounts):
    accounts.create_user("viewer1", "correct horse battery", ["viewer"])
    token, _ = accounts.login("viewer1", "correct horse battery", now=0.0)
    assert accounts.resolve(token, now=99.0) is not None
    assert accounts.resolve(token, now=100.0) is None, "a token is refused at its expiry"
    token, _ = accounts.login("viewer1", "correct horse battery")
    accounts.logout(token)
    assert accounts.resolve(token) is None


def test_bootstrap_creates_missing_users_from_the_environment_and_never_overwrites(accounts, monkeypatch):
    monkeypatch.setenv("CW_ADMIN_PASSWORD", "first admin password")
    accounts.config = AuthConfig(
        users=[UserBootstrap(username="admin", roles=["admin"], password_env="CW_ADMIN_PASSWORD")]
    )
    accounts.bootstrap()
    monkeypatch.setenv("CW_ADMIN_PASSWORD", "changed in the environment")
    accounts.bootstrap()
    accounts.login("admin", "first admin password")  # unchanged: bootstrap never overwrites
    with pytest.raises(LoginError):
        accounts.login("admin", "changed in the environment")
