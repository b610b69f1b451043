"""Per-stream `seq` bookkeeping: new, late (fills a gap), duplicate (same message again) or replayed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum

from controller.db.reports import SensorStream

RECENT_DIGESTS = 256  # per stream: enough to recognise QoS 1 redeliveries without a database look-up


class SeqVerdict(StrEnum):
    new = "new"
    late = "late"  # arrived after a later seq: fills a gap counted as lost, or comes before the first one heard
    duplicate = "duplicate"  # the same message again (QoS 1 redelivery, retained re-delivery)
    replayed = "replayed"  # an old seq with different content, or one we never saw missing


class SeqTracker:
    """Holds the SensorStream rows in memory; the pipeline persists the changed ones with each batch."""

    def __init__(self, max_missing: int, stored_digest: Callable[[str, str, int], str | None]) -> None:
        self.max_missing = max_missing
        self.stored_digest = stored_digest  # (sender, message name, seq) -> digest kept in the database
        self.streams: dict[tuple[str, str], SensorStream] = {}
        self.recent: dict[tuple[str, str], OrderedDict[int, str]] = {}

    def load(self, streams: list[SensorStream]) -> None:
        for stream in streams:
            self.streams[(stream.sensor_id, stream.message_name)] = stream

    def check(self, sender: str, name: str, seq: int, digest: str) -> tuple[SeqVerdict, SensorStream, int]:
        """Classify and record one message; also returns the change in that stream's lost count."""
        key = (sender, name)
        stream = self.streams.get(key)
        recent = self.recent.setdefault(key, OrderedDict())
        if stream is None:
            # The first message we hear sets the baseline; earlier seqs predate this controller.
            stream = SensorStream(
                sensor_id=sender,
                message_name=name,
                first_seq=seq,
                highest_seq=seq,
                received=1,
                lost=0,
                duplicates=0,
                missing=[],
            )
            self.streams[key] = stream
            self._remember(recent, seq, digest)
            return SeqVerdict.new, stream, 0
        if seq > stream.highest_seq:
            gap = seq - stream.highest_seq - 1
            if gap:
                missing = list(stream.missing) + list(range(stream.highest_seq + 1, seq))[-self.max_missing :]
                stream.missing = missing[-self.max_missing :] if self.max_missing else []
                stream.lost += gap
            stream.highest_seq = seq
            stream.received += 1
            self._remember(recent, seq, digest)
            return SeqVerdict.new, stream, gap
        if seq in stream.missing:
            stream.missing = [m for m in stream.missing if m != seq]
            stream.lost -= 1
            stream.received += 1
            self._remember(recent, seq, digest)
            return SeqVerdict.late, stream, -1
        if stream.first_seq - seq in range(1, self.max_missing + 1):
            # An earlier message than the first one heard: a sensor sends again what the controller has not
            # acknowledged (cellward.ack/1), e.g. the first messages of a stream that a broker crash lost.
            # The baseline moves down; seqs between are missing from now on. Further back it stays a replay.
            earlier = list(range(seq + 1, stream.first_seq))
            stream.missing = (earlier + list(stream.missing))[: self.max_missing]
            stream.lost += len(earlier)
            stream.first_seq = seq
            stream.received += 1
            self._remember(recent, seq, digest)
            return SeqVerdict.late, stream, len(earlier)
        seen = recent.get(seq)
        if seen is None and seq >= stream.first_seq:
            seen = self.stored_digest(sender, name, seq)
        if seen == digest:
            stream.duplicates += 1
            return SeqVerdict.duplicate, stream, 0
        return SeqVerdict.replayed, stream, 0

    @staticmethod
    def _remember(recent: OrderedDict[int, str], seq: int, digest: str) -> None:
        recent[seq] = digest
        if len(recent) > RECENT_DIGESTS:
            recent.popitem(last=False)
