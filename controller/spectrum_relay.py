"""Live spectra from sensors to the browsers watching them: verified by ingest, relayed, never stored.

Ingest checks each `spectrum` message like any sensor message (signature, schema, topic, sender); this
relay then refuses replays (seq not above the last one relayed from that sensor) and stale frames, and
fans the rest out on its own event bus, which only the per-sensor SSE endpoint listens to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cellward.messages import SpectrumFrame
from controller.events import EventBus

MAX_AGE_S = 30.0  # a frame older than this is not live (and may be a replay after a controller restart)


@dataclass(frozen=True)
class SpectrumEvent:
    frame: SpectrumFrame
    kind: str = "spectrum"

    @property
    def id(self) -> str:
        return f"{self.frame.sender}:{self.frame.seq}"

    @property
    def sensor_id(self) -> str:
        return self.frame.sender

    def payload(self) -> dict[str, Any]:
        wire = self.frame.to_wire()
        for key in ("schema", "site", "sig"):
            wire.pop(key, None)
        wire["start_ms"] = round(self.frame.start.timestamp() * 1e3)
        return wire


class SpectrumRelay:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.bus = EventBus(queue_size=64)  # a slow browser drops frames rather than growing memory
        self._last_seq: dict[str, int] = {}
        self.relayed = 0

    def offer(self, frame: SpectrumFrame) -> str | None:
        """Relay `frame`, or return the reason it was refused (counted by the caller)."""
        if frame.seq <= self._last_seq.get(frame.sender, 0):
            return "replayed"
        if abs(self.clock() - frame.ts.timestamp()) > MAX_AGE_S:
            return "stale"
        self._last_seq[frame.sender] = frame.seq
        self.bus.emit(SpectrumEvent(frame))
        self.relayed += 1
        return None
