"""SQLite's WAL copied into the database on a thread of its own, not by the ingest's commits.

With SQLite's automatic checkpoint, the commit that grows the write-ahead log past 1000 pages copies it into
the database file and syncs it. A window's signed messages and reports are about 3 MB, so on a busy site
nearly every ingest commit did that: about 10 ms of each on `cellward bench controller`, on the way from a
report to its incident. The controller's connections have the automatic checkpoint off
(`make_engine(checkpoint_on_commit=False)`); this thread runs a PASSIVE checkpoint, which never blocks the
writer or a reader, every interval, and a TRUNCATE one when it stops. sqlite3 lets go of the GIL while it
copies and syncs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

log = logging.getLogger("cellward.controller.db")
CHECKPOINT_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Checkpoint:
    busy: bool  # it could not run to the end (TRUNCATE waits for readers and the writer, up to the busy timeout)
    wal_pages: int  # pages in the log
    copied_pages: int  # of them, in the database now


class WalCheckpointer:
    """Checkpoints `engine`'s SQLite database every `interval_s` until stopped."""

    def __init__(self, engine: Engine, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def checkpoint(self, mode: str = "PASSIVE") -> Checkpoint:
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        with self.engine.connect() as connection:
            busy, wal_pages, copied = connection.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        return Checkpoint(bool(busy), wal_pages, copied)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cellward-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and empty the log into the database."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._checkpoint_logged("TRUNCATE")

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._checkpoint_logged("PASSIVE")

    def _checkpoint_logged(self, mode: str) -> None:
        try:
            done = self.checkpoint(mode)
        except Exception:  # the next interval tries again; the log only grows meanwhile
            log.exception("event=wal_checkpoint_failed mode=%s", mode)
            return
        if done.busy or done.copied_pages < done.wal_pages:  # readers on older pages: the next one goes on
            log.debug(
                "event=wal_checkpoint_partial mode=%s wal_pages=%d copied=%d", mode, done.wal_pages, done.copied_pages
            )
