"""Acknowledgements to sensors of what the controller has durably stored (cellward.ack/1).

After each committed batch the ingest worker ticks this; a sensor whose streams moved since its last ack
is acknowledged (at most every `interval_s`), every sensor after each (re)connect to the broker and every
`refresh_s`. `through_seq` is the highest seq below the first gap the tracker still waits for, so a sensor
never forgets a message the database does not hold; `missing` asks for the gaps again. Acks are retained,
so a sensor that reboots learns at once what it may forget.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from cellward.messages import ACK_SCHEMA, ACKED_SCHEMAS, ControllerAck, StreamAck, ack_topic
from cellward.messages.ack import MAX_MISSING_LISTED
from controller.config import AckConfig
from controller.db.reports import SensorStream
from controller.publisher import Publisher

log = logging.getLogger("cellward.controller.acks")
SEQ_BLOCK = 1000  # ack seqs reserved per database write (unused ones are skipped after a restart)


def stream_ack(stream: SensorStream) -> StreamAck:
    missing = sorted(stream.missing)
    through = missing[0] - 1 if missing else stream.highest_seq
    return StreamAck(
        name=stream.message_name,
        through_seq=through,
        highest_seq=stream.highest_seq,
        missing=missing[:MAX_MISSING_LISTED],
    )


class SensorAcks:
    def __init__(
        self,
        publisher: Publisher,
        streams: Callable[[], dict[tuple[str, str], SensorStream]],
        sensor_ids: list[str],
        config: AckConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publisher = publisher
        self.streams = streams  # the seq tracker's rows, as committed
        self.sensor_ids = sensor_ids  # acknowledged even before anything of theirs arrived
        self.config = config
        self.clock = clock
        self.sent: dict[str, tuple] = {}  # sensor -> what its last ack said
        self.published = 0
        self._refresh_all = True
        self._last_tick = -float("inf")
        self._last_refresh = -float("inf")
        self._seqs = iter(())

    def refresh_all(self) -> None:
        """Acknowledge every sensor at the next tick (the broker may have lost retained acks and messages)."""
        self._refresh_all = True

    def tick(self, connected: bool) -> int:
        """Publish the acks that are due; returns how many."""
        now = self.clock()
        if not connected or now - self._last_tick < self.config.interval_s:
            return 0
        self._last_tick = now
        refresh = self._refresh_all or now - self._last_refresh >= self.config.refresh_s
        self._refresh_all = False
        if refresh:
            self._last_refresh = now
        per_sensor: dict[str, dict[str, StreamAck]] = defaultdict(dict)
        duplicates: dict[str, int] = defaultdict(int)
        for (sensor_id, name), stream in self.streams().items():
            if name in ACKED_SCHEMAS:
                per_sensor[sensor_id][name] = stream_ack(stream)
                duplicates[sensor_id] += stream.duplicates
        count = 0
        for sensor_id in sorted(set(per_sensor) | set(self.sensor_ids)):
            heard = per_sensor[sensor_id]
            # a stream never heard is acknowledged as empty, so the sensor resends what a broker lost of it
            acks = [
                heard.get(name) or StreamAck(name=name, through_seq=0, highest_seq=0, missing=[])
                for name in ACKED_SCHEMAS
            ]
            # a duplicate means the sensor still holds something we have: answer it too
            said = (duplicates[sensor_id], *(a.model_dump_json() for a in acks))
            if not refresh and self.sent.get(sensor_id) == said:
                continue
            self._publish(sensor_id, acks)
            self.sent[sensor_id] = said
            count += 1
        self.published += count
        return count

    def _publish(self, sensor_id: str, streams: list[StreamAck]) -> None:
        publisher = self.publisher
        ack = ControllerAck(
            site=publisher.site,
            sender=publisher.sender,
            ts=time.time(),
            seq=self._next_seq(),
            target=sensor_id,
            streams=streams,
        )
        publisher.publish_signed(ack_topic(publisher.site, sensor_id), ack, retain=True)

    def _next_seq(self) -> int:
        seq = next(self._seqs, None)
        if seq is None:
            last = self.publisher.next_seq(ACK_SCHEMA, SEQ_BLOCK)
            self._seqs = iter(range(last - SEQ_BLOCK + 1, last + 1))
            seq = next(self._seqs)
        return seq
