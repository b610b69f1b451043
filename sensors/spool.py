"""The on-disk queue of outgoing messages (SQLite), so nothing is lost while the broker or network is away.

Every message is written here, already numbered and signed, before it is published. A message of a
stream the controller acknowledges (cellward.ack/1) is *held* after the broker's PUBACK and leaves the
spool only when the controller's ack covers its seq, because a broker killed hard forgets what it had
acknowledged but not yet delivered; other messages leave at the PUBACK. Held messages the controller
reports missing go back to the queue. After a restart or reconnect the publisher sends what is queued,
oldest first. The per-stream sequence counters live in the same database and are
advanced in the same transaction as the insert, so `seq` survives restarts without gaps or repeats.
The spool is bounded (bytes and messages, queued and held together); when full, the OLDEST messages
are dropped, queued or held alike. A dropped queued message never left the node: it is counted in
`dropped_total` (persisted, in the stats message and /metrics), and the controller measures exactly
these as lost by `seq`. A dropped held message had reached the broker, which normally delivers it:
it is counted apart in `dropped_unconfirmed_total` (/metrics), lost only if the broker also loses it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Collection
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
# Added with controller acks; a spool file written before them gains the columns when opened.
ACK_COLUMNS = {
    "stream": "TEXT",
    "seq": "INTEGER",
    "held": "INTEGER NOT NULL DEFAULT 0",
    "sent_at": "REAL",
    "resends": "INTEGER NOT NULL DEFAULT 0",
}
ACK_INDEXES = """
CREATE INDEX IF NOT EXISTS outbox_queued ON outbox(held, id);
CREATE INDEX IF NOT EXISTS outbox_stream_seq ON outbox(stream, seq);
"""


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    id: int
    topic: str
    payload: bytes
    retain: bool
    stream: str | None


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
        present = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        for column, kind in ACK_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE outbox ADD COLUMN {column} {kind}")
        self._db.executescript(ACK_INDEXES)
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
                    "INSERT INTO outbox(topic, payload, retain, stream, seq) VALUES(?, ?, ?, ?, ?)",
                    (topic, payload, int(retain), stream, seq),
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
        dropped = {"dropped_total": 0, "dropped_unconfirmed_total": 0}
        while self._depth > 1 and (self._bytes > self.max_bytes or self._depth > self.max_messages):
            row = self._db.execute("SELECT id, LENGTH(payload), held FROM outbox ORDER BY id LIMIT 1").fetchone()
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
            self._depth -= 1
            self._bytes -= row[1]
            dropped["dropped_unconfirmed_total" if row[2] else "dropped_total"] += 1
        for name, count in dropped.items():
            if count:
                self._set_counter(name, self._counter(name) + count)

    def peek(self, limit: int = 100, skip: Collection[int] = ()) -> list[SpooledMessage]:
        """Up to `limit` queued (not held) messages, oldest first, leaving out the ids in `skip` (in flight)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, retain, stream FROM outbox WHERE held = 0 ORDER BY id LIMIT ?",
                (limit + len(skip),),
            ).fetchall()
        return [SpooledMessage(r[0], r[1], bytes(r[2]), bool(r[3]), r[4]) for r in rows if r[0] not in skip][:limit]

    def remove(self, message_id: int) -> None:
        """The broker has the message: forget it."""
        with self._lock:
            row = self._db.execute("SELECT LENGTH(payload) FROM outbox WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                return  # dropped by the bound meanwhile, or acknowledged twice
            self._db.execute("DELETE FROM outbox WHERE id = ?", (message_id,))
            self._depth -= 1
            self._bytes -= row[0]

    def hold(self, message_id: int, sent_at: float) -> None:
        """The broker has the message: keep it until the controller acknowledges it."""
        with self._lock:
            self._db.execute("UPDATE outbox SET held = 1, sent_at = ? WHERE id = ?", (sent_at, message_id))

    def release(self, stream: str, up_to_seq: int, except_seqs: Collection[int] = ()) -> int:
        """The controller has stored every seq of `stream` up to `up_to_seq` but `except_seqs`: forget those;
        returns how many."""
        with self._lock:
            rows = self._db.execute(
                "DELETE FROM outbox WHERE stream = ? AND seq <= ? AND seq NOT IN (SELECT value FROM json_each(?))"
                " RETURNING LENGTH(payload)",
                (stream, up_to_seq, json.dumps(sorted(except_seqs))),
            ).fetchall()
            self._depth -= len(rows)
            self._bytes -= sum(r[0] for r in rows)
            return len(rows)

    def requeue(
        self, stream: str, seqs: Collection[int] = (), above_seq: int | None = None, *, judged_at: float, wait_s: float
    ) -> int:
        """Send held messages of `stream` again: the seqs listed, and those above `above_seq`, if the broker took
        them more than `wait_s` (doubled for each earlier resend) before `judged_at` (epoch s); returns how many."""
        old_enough = "held = 1 AND sent_at < ? - ? * (1 << MIN(resends, 6))"
        with self._lock:
            count = 0
            for seq in seqs:
                count += self._db.execute(
                    f"UPDATE outbox SET held = 0, resends = resends + 1 WHERE stream = ? AND seq = ? AND {old_enough}",
                    (stream, seq, judged_at, wait_s),
                ).rowcount
            if above_seq is not None:
                count += self._db.execute(
                    f"UPDATE outbox SET held = 0, resends = resends + 1 WHERE stream = ? AND seq > ? AND {old_enough}",
                    (stream, above_seq, judged_at, wait_s),
                ).rowcount
            return count

    @property
    def held(self) -> int:
        """Messages the broker has taken that the controller has not yet acknowledged."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE held = 1").fetchone()[0])

    @property
    def queued(self) -> int:
        """Messages still to be published (the broker has not acknowledged them)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE held = 0").fetchone()[0])

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def dropped_total(self) -> int:
        return self.counter("dropped_total")

    @property
    def dropped_unconfirmed_total(self) -> int:
        return self.counter("dropped_unconfirmed_total")
