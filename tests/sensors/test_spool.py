"""The on-disk spool: order, durability of seq across reopen, and the drop-oldest bound, counted."""

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
    assert [int(m.payload) for m in spool.peek(after_id=queued[2].id)] == [4, 5]
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
