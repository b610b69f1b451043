"""The controller database: migrations build the schema on SQLite and PostgreSQL, with the promised settings."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from controller.db.base import Base, make_engine, make_session_factory
from controller.db.migrate import upgrade_database
from controller.db.reports import Message


def test_migrations_create_every_declared_table(database_url):
    engine = make_engine(database_url)
    upgrade_database(engine)
    tables = set(inspect(engine).get_table_names())
    missing = set(Base.metadata.tables) - tables
    assert not missing, f"tables declared on Base but not created by the migrations: {sorted(missing)}"
    upgrade_database(engine)  # a second start-up must be a no-op, not an error
    engine.dispose()


def test_sender_and_seq_are_unique_so_redelivery_is_idempotent(database_url):
    engine = make_engine(database_url)
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    row = {"sender": "s1", "seq": 7, "schema": "cellward.detections/1", "ts": 1.0, "received_at": 1.0}
    row |= {"digest": "x", "raw": "{}"}
    with sessions() as session:
        session.add(Message(**row))
        session.commit()
    with sessions() as session, pytest.raises(IntegrityError):
        session.add(Message(**row))
        session.commit()
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal", "readers must not block ingest"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1, "SQLite ignores FKs unless enabled"
    engine.dispose()
