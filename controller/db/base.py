"""Declarative Base, engine and session factory for the controller database (SQLite WAL or PostgreSQL)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import BigInteger, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic migrations can alter/drop them on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL (reports at 20 000/s overflow 32 bits in a day); SQLite's rowid needs INTEGER.
BigId = BigInteger().with_variant(Integer, "sqlite")

DEFAULT_DATABASE_URL = "sqlite:///cellward-controller.db"


class Base(DeclarativeBase):
    """Every controller table (ours and other helpers') is declared on this Base."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalise_url(url: str | URL) -> URL:
    """Accept plain `postgresql://` URLs and route them to psycopg 3; leave everything else alone."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection, _record, checkpoint_on_commit: bool = True) -> None:
    # WAL lets the API read while ingest writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    if not checkpoint_on_commit:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def make_engine(url: str | URL = DEFAULT_DATABASE_URL, checkpoint_on_commit: bool = True, **kwargs) -> Engine:
    """An engine for `url`: SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL uses psycopg 3.
    `checkpoint_on_commit=False`: SQLite's WAL is not copied into the database by the commits that grow it
    past 1000 pages; a `WalCheckpointer` must do it (controller/db/checkpoint.py)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, checkpoint_on_commit=checkpoint_on_commit))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


_COMMIT_HOOKS = "commit_hooks"  # session.info: key -> (pending, before, after) until the next commit or rollback
CommitHook = Callable[[Session, dict], None]


def pending_at_commit(session: Session, key: str, before: CommitHook, after: CommitHook) -> dict:
    """A dict that lives until `session`'s next commit or rollback, the same one for every call with `key`
    until then: `before(session, pending)` runs just before the commit (it may still read and write),
    `after(session, pending)` once the commit is done; a rollback drops it. Sessions of `make_session_factory`."""
    hooks = session.info.setdefault(_COMMIT_HOOKS, {})
    if key not in hooks:
        hooks[key] = ({}, before, after)
    return hooks[key][0]


def _before_commit(session: Session) -> None:
    for pending, before, _ in list(session.info.get(_COMMIT_HOOKS, {}).values()):
        before(session, pending)


def _after_commit(session: Session) -> None:
    for pending, _, after in session.info.pop(_COMMIT_HOOKS, {}).values():
        after(session, pending)


def _after_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_COMMIT_HOOKS, None)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the API returns them after writing), with
    `pending_at_commit` hooks (listeners are attached here, once, before any thread uses the factory)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_soft_rollback", _after_rollback)
    return factory
