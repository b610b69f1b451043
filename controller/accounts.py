"""User accounts: argon2 password hashes, opaque session tokens stored hashed, lock-out after failures."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from controller.config import AuthConfig, ConfigError
from controller.db.auth import AuthSession, User

log = logging.getLogger("cellward.controller.accounts")
ROLES = ("viewer", "officer", "authoriser", "admin", "auditor")
_hasher = PasswordHasher()
# Verifying against a dummy hash when the user is unknown keeps login time the same for both cases.
_DUMMY_HASH = _hasher.hash("cellward-no-such-user")


class LoginError(Exception):
    """Wrong user name or password, or a locked/disabled account; the message is safe to show."""


@dataclass(frozen=True)
class Principal:
    """Who is calling the API: the user and their roles, resolved from a session token."""

    user_id: int
    username: str
    roles: frozenset[str]

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        # admin may do everything an officer or viewer may; auditor and authoriser are separate duties.
        return bool(self.roles & roles) or "admin" in self.roles


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users and sessions in the controller database."""

    def __init__(self, sessions: sessionmaker[Session], config: AuthConfig) -> None:
        self.sessions = sessions
        self.config = config

    def create_user(self, username: str, password: str, roles: list[str], display_name: str = "") -> User:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {', '.join(ROLES)}")
        with self.sessions() as db:
            user = User(
                username=username,
                display_name=display_name or username,
                password_hash=hash_password(password),
                roles=sorted(set(roles)),
                active=True,
                failed_logins=0,
                created_at=time.time(),
            )
            db.add(user)
            db.commit()
            return user

    def bootstrap(self) -> None:
        """Create the users listed in the config that do not exist yet (never changes existing ones)."""
        for entry in self.config.users:
            with self.sessions() as db:
                if db.scalar(select(User).where(User.username == entry.username)) is not None:
                    continue
                if entry.password_hash is not None:
                    password_hash = entry.password_hash
                else:
                    password = os.environ.get(entry.password_env or "")
                    if not password:
                        raise ConfigError(
                            f"auth.users[{entry.username}]: environment variable {entry.password_env} is not set"
                        )
                    password_hash = hash_password(password)
                db.add(
                    User(
                        username=entry.username,
                        display_name=entry.username,
                        password_hash=password_hash,
                        roles=sorted(set(entry.roles)),
                        active=True,
                        failed_logins=0,
                        created_at=time.time(),
                    )
                )
                db.commit()
                log.info("event=user_bootstrapped user=%s roles=%s", entry.username, ",".join(entry.roles))

    def login(self, username: str, password: str, now: float | None = None) -> tuple[str, AuthSession]:
        """Check the password; return a new opaque token (shown once) and its session row."""
        now = time.time() if now is None else now
        with self.sessions() as db:
            user = db.scalar(select(User).where(User.username == username))
            if user is None:
                _verify(_DUMMY_HASH, password)
                raise LoginError("wrong user name or password")
            if user.locked_until is not None and user.locked_until > now:
                raise LoginError(
                    f"account locked after repeated failures; try again in {user.locked_until - now:.0f} s"
                )
            if not user.active:
                raise LoginError("account disabled")
            if not _verify(user.password_hash, password):
                user.failed_logins += 1
                if user.failed_logins >= self.config.max_failed_logins:
                    user.locked_until = now + self.config.lockout_s
                    user.failed_logins = 0
                    log.warning("event=account_locked user=%s lockout_s=%s", username, self.config.lockout_s)
                db.commit()
                raise LoginError("wrong user name or password")
            user.failed_logins = 0
            user.locked_until = None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            token = secrets.token_urlsafe(32)
            session = AuthSession(
                token_hash=token_digest(token),
                user_id=user.id,
                created_at=now,
                expires_at=now + self.config.session_ttl_s,
                last_used_at=now,
            )
            db.add(session)
            db.commit()
            log.info("event=login user=%s", username)
            return token, session

    def resolve(self, token: str, now: float | None = None) -> Principal | None:
        """The principal behind a token, or None when it is unknown, expired or the user is disabled."""
        now = time.time() if now is None else now
        with self.sessions() as db:
            row = db.execute(
                select(AuthSession, User)
                .join(User, User.id == AuthSession.user_id)
                .where(AuthSession.token_hash == token_digest(token))
            ).first()
            if row is None:
                return None
            session, user = row
            if session.expires_at <= now or not user.active:
                return None
            return Principal(user_id=user.id, username=user.username, roles=frozenset(user.roles))

    def logout(self, token: str) -> None:
        with self.sessions() as db:
            # deleted through the ORM (not a bulk delete) so that the audit hooks see the logout
            for session in db.scalars(select(AuthSession).where(AuthSession.token_hash == token_digest(token))):
                db.delete(session)
            db.commit()

    def prune_sessions(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self.sessions() as db:
            result = db.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
            db.commit()
            return result.rowcount or 0


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
