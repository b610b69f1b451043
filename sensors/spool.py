"""The on-disk queue of outgoing messages (SQLite), so nothing is lost while the broker or network is away.

Every message is written here, already numbered and signed, before it is published; it leaves the spool
only when the broker has acknowledged it (QoS 1 PUBACK). After a restart or reconnect the publisher
sends what is left, oldest first. The per-stream sequence counters live in the same database and are
advanced in the same transaction as the insert, so `seq` survives restarts without gaps or repeats.
The spool is bounded (bytes and messages); when full, the OLDEST messages are dropped, counted in
`dropped_total` (persisted) and reported in the stats message and /metrics.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    id: int
    topic: str
    payload: bytes
    retain: bool


class Spool:
    """A bounded FIFO of (topic, payload) on disk; thread-safe (the scanner writes, the publisher reads)."""

    def __init__(self, path: Path, max_bytes: int = 64 << 20, max_messages: int = 200_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "PRAGMA synchronous=NORMAL"
        )  # WAL + NORMAL: survives a process crash; a power cut may lose the last commits
        self._db.executescript(SCHEMA)
        self._depth, self._bytes = self._totals()

    def _totals(self) -> tuple[int, int]:
        return self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _set_counter(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO counters(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def counter(self, name: str) -> int:
        with self._lock:
            return self._counter(name)

    def set_counter(self, name: str, value: int) -> None:
        with self._lock:
            self._set_counter(name, value)

    def next_seq(self, stream: str) -> int:
        """Take the next sequence number of a stream without queueing anything (the last will's number)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            seq = self._counter(f"seq:{stream}") + 1
            self._set_counter(f"seq:{stream}", seq)
            self._db.execute("COMMIT")
            return seq

    def enqueue(self, stream: str, topic: str, build: Callable[[int], bytes], retain: bool = False) -> int:
        """Number the message (seq = last + 1 of `stream`), build its payload, and queue it atomically.

        `build(seq)` returns the signed payload; returns the seq. May drop the oldest queued messages to
        stay within the bounds.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._counter(f"seq:{stream}") + 1
                payload = build(seq)
                self._set_counter(f"seq:{stream}", seq)
                self._db.execute(
                    "INSERT INTO outbox(topic, payload, retain) VALUES(?, ?, ?)", (topic, payload, int(retain))
                )
                self._depth += 1
                self._bytes += len(payload)
                self._enforce_bounds()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._depth, self._bytes = self._totals()
                raise
            return seq

    def _enforce_bounds(self) -> None:
        dropped = 0
        while self._depth > 1 and (self._bytes > self.max_bytes or self._depth > self.max_messages):
            row = self._db.execute("SELECT id, LENGTH(payload) FROM outbox ORDER BY id LIMIT 1").fetchone()
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
            self._depth -= 1
            self._bytes -= row[1]
            dropped += 1
        if dropped:
            self._set_counter("dropped_total", self._counter("dropped_total") + dropped)

    def peek(self, after_id: int = 0, limit: int = 100) -> list[SpooledMessage]:
        """Up to `limit` queued messages with id > after_id, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, retain FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
        return [SpooledMessage(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rows]

    def remove(self, message_id: int) -> None:
        """The broker has the message: forget it."""
        with self._lock:
            row = self._db.execute("SELECT LENGTH(payload) FROM outbox WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                return  # dropped by the bound meanwhile, or acknowledged twice
            self._db.execute("DELETE FROM outbox WHERE id = ?", (message_id,))
            self._depth -= 1
            self._bytes -= row[0]

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def dropped_total(self) -> int:
        return self.counter("dropped_total")
