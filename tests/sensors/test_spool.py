"""The on-disk spool: order, durability of seq across reopen, the drop-oldest bound, counted, and messages
held after the broker's PUBACK until the controller acknowledges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensors.spool import Spool


def _fill(spool: Spool, count: int, size: int = 100, stream: str = "s") -> list[int]:
    return [spool.enqueue(stream, "t", lambda seq: f"{seq:0{size}d}".encode()) for _ in range(count)]


def test_messages_come_out_in_order_and_leave_only_when_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    assert _fill(spool, 5) == [1, 2, 3, 4, 5]
    queued = spool.peek()
    assert [int(m.payload) for m in queued] == [1, 2, 3, 4, 5]
    spool.remove(queued[0].id)
    assert [int(m.payload) for m in spool.peek()] == [2, 3, 4, 5]
    assert [int(m.payload) for m in spool.peek(skip={queued[1].id, queued[2].id})] == [4, 5], "in flight: skipped"
    assert spool.depth == 4 and spool.bytes == 400


def test_queue_and_seq_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    _fill(spool, 3)
    assert spool.next_seq("other") == 1
    spool.close()
    reopened = Spool(tmp_path / "spool.sqlite")
    assert reopened.depth == 3, "spooled messages outlive the process"
    assert _fill(reopened, 2) == [4, 5], "seq continues where it stopped: no repeats, no gaps"
    assert reopened.next_seq("other") == 2, "each stream keeps its own count"


def test_full_spool_drops_oldest_and_counts_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=1000, max_messages=1000)
    _fill(spool, 25)  # 2500 bytes into a 1000-byte bound
    kept = [int(m.payload) for m in spool.peek(limit=100)]
    assert kept == list(range(16, 26)), f"the newest 10 messages stay, the oldest go first: {kept}"
    assert spool.dropped_total == 15 and spool.bytes == 1000
    spool.close()
    assert Spool(tmp_path / "spool.sqlite").dropped_total == 15, "the drop count is durable, for stats"


def test_message_count_bound_applies_too(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_messages=10)
    _fill(spool, 12, size=5)
    assert spool.depth == 10 and spool.dropped_total == 2


def test_a_failed_build_queues_nothing_and_keeps_seq(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")

    def broken(seq: int) -> bytes:
        raise RuntimeError("signing failed")

    with pytest.raises(RuntimeError):
        spool.enqueue("s", "t", broken)
    assert spool.depth == 0
    assert _fill(spool, 1) == [1], "a message that was never queued must not consume a seq"


def test_held_messages_wait_for_the_controller_and_leave_only_when_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    _fill(spool, 5, stream="cellward.detections/1")
    for message in spool.peek():
        spool.hold(message.id, sent_at=100.0)
    assert spool.peek() == [] and spool.held == 5 and spool.depth == 5, "held: not sent again, still on disk"
    assert spool.release("cellward.detections/1", 4, except_seqs=[2]) == 3, "1, 3, 4 stored; 2 is missing"
    assert spool.release("cellward.detections/1", 2) == 1
    assert spool.release("cellward.stats/1", 5) == 0, "an ack of another stream releases nothing of this one"
    assert spool.held == 1 and spool.depth == 1 and spool.bytes == 100
    spool.close()
    assert Spool(tmp_path / "spool.sqlite").held == 1, "held messages outlive a reboot"


def test_missing_and_long_unacknowledged_messages_are_queued_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite")
    _fill(spool, 6, stream="cellward.detections/1")
    for message, sent_at in zip(spool.peek(), (10.0, 10.0, 10.0, 10.0, 10.0, 50.0), strict=True):
        spool.hold(message.id, sent_at)
    assert spool.requeue("cellward.detections/1", [2], judged_at=15.0, wait_s=10.0) == 0, "too recent to judge"
    assert spool.requeue("cellward.detections/1", [2], judged_at=50.0, wait_s=10.0) == 1
    assert [int(m.payload) for m in spool.peek()] == [2], "a seq the controller reports missing goes out again"
    # the controller has seen up to 4: 5 (taken by the broker at t=10) was lost, 6 (t=50) may be on its way
    assert spool.requeue("cellward.detections/1", above_seq=4, judged_at=50.0, wait_s=10.0) == 1
    assert [int(m.payload) for m in spool.peek()] == [2, 5]
    assert spool.requeue("cellward.detections/1", [2, 5], judged_at=50.0, wait_s=10.0) == 0, "queued already"
    for message in spool.peek():
        spool.hold(message.id, sent_at=60.0)  # sent again at t=60
    assert spool.requeue("cellward.detections/1", [2], judged_at=75.0, wait_s=10.0) == 0, "the second wait is 20 s"
    assert spool.requeue("cellward.detections/1", [2], judged_at=81.0, wait_s=10.0) == 1


def test_a_spool_written_before_acks_opens_and_keeps_its_messages(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "spool.sqlite"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,"
            " retain INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "INSERT INTO outbox(topic, payload) VALUES ('t', x'31');"
        )
    spool = Spool(path)
    assert [(m.payload, m.stream) for m in spool.peek()] == [(b"1", None)], "old rows are sent, then removed on PUBACK"


def test_dropping_a_held_message_is_counted_apart_from_one_that_never_left(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite", max_messages=4)
    _fill(spool, 2)
    for message in spool.peek():
        spool.hold(message.id, sent_at=1.0)  # the broker has these two
    _fill(spool, 4)  # 6 into a bound of 4: the two held go first
    assert (spool.dropped_unconfirmed_total, spool.dropped_total) == (2, 0)
    _fill(spool, 1)
    assert (spool.dropped_unconfirmed_total, spool.dropped_total) == (2, 1), "a queued one never reached anyone"
