"""The controller database: migrations build the schema on SQLite and PostgreSQL, with the promised settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from controller.db.base import Base, make_engine, make_session_factory
from controller.db.bulk import append_rows
from controller.db.migrate import upgrade_database
from controller.db.reports import Message, Report
from controller.pipeline import REPORT_COLUMNS


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


TAIL = ("gsm", 40, 0.1, -70.25, -69.5, 40.0)


def test_bulk_append_writes_rows_the_orm_reads_back_and_rolls_back_with_the_transaction(database_url):
    engine = make_engine(database_url)
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        message = Message(sender="s1", seq=1, schema="cellward.detections/1", ts=1.0, received_at=1.0, digest="x")
        message.raw = "{}"
        session.add(message)
        session.flush()
        # in the order of REPORT_COLUMNS; operators as JSON text
        rows = [
            (message.id, "s1", 2.0, 10.0 + i, 11.0 + i, 880.2e6, 2e5, "B8" if i else None, '["O2","EE"]', *TAIL)
            for i in range(3)
        ]
        append_rows(session, Report.__table__, REPORT_COLUMNS, rows)
        session.commit()
        stored = session.scalars(select(Report).order_by(Report.window_start)).all()
        assert [(r.window_start, r.band, r.operators) for r in stored] == [
            (10.0, None, ["O2", "EE"]),
            (11.0, "B8", ["O2", "EE"]),
            (12.0, "B8", ["O2", "EE"]),
        ], "JSON text, NULLs and floats must read back as the ORM wrote them"
        append_rows(session, Report.__table__, REPORT_COLUMNS, rows)
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Report)) == 3, "appended rows belong to the transaction"
    with sessions() as session, pytest.raises(ValueError, match="no column"):
        append_rows(session, Report.__table__, ("sensor_id", "not_a_column"), [("s1", 1)])
    engine.dispose()


def _write_megabytes(engine, count: int, pause_s: float = 0.0) -> None:
    import time

    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS blob (data BLOB)"))
        connection.commit()
        for _ in range(count):
            connection.execute(text("INSERT INTO blob VALUES (randomblob(1048576))"))
            connection.commit()
            time.sleep(pause_s)


def _wal_bytes(sqlite_url: str) -> int:
    from pathlib import Path

    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_without_checkpoints_on_commit_the_log_grows_until_the_checkpointer_copies_and_empties_it(sqlite_url):
    from controller.db.checkpoint import WalCheckpointer

    engine = make_engine(sqlite_url, checkpoint_on_commit=False)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    _write_megabytes(engine, 12)
    assert _wal_bytes(sqlite_url) > 12e6, "no commit copied the log into the database"
    checkpointer = WalCheckpointer(engine)
    done = checkpointer.checkpoint()
    assert not done.busy and done.wal_pages > 3000 and done.copied_pages == done.wal_pages
    checkpointer.stop()  # never started: it only empties the log
    assert _wal_bytes(sqlite_url) == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM blob")).scalar() == 12
    engine.dispose()


def test_the_checkpointer_thread_keeps_the_log_from_growing_while_ingest_writes(sqlite_url):
    from controller.db.checkpoint import WalCheckpointer

    engine = make_engine(sqlite_url, checkpoint_on_commit=False)
    checkpointer = WalCheckpointer(engine, interval_s=0.01)
    checkpointer.start()
    _write_megabytes(engine, 16, pause_s=0.05)
    assert _wal_bytes(sqlite_url) < 6e6, "the log starts again once a checkpoint copied it all"
    checkpointer.stop()
    assert _wal_bytes(sqlite_url) == 0
    engine.dispose()


def test_an_unknown_checkpoint_mode_is_refused(sqlite_url):
    from controller.db.checkpoint import WalCheckpointer

    with pytest.raises(ValueError, match="unknown checkpoint mode"):
        WalCheckpointer(make_engine(sqlite_url)).checkpoint("NOW")
