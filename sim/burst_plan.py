"""Planned bursts: when, where in frequency and what waveform each burst of an emitter is (no samples yet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlannedBursts:
    """Columns of one emitter's bursts. `offset_hz` is the burst's centre relative to the emitter's
    carrier centre; `wave` names the waveform to synthesise (see sim.waveforms); `channel` is the
    logical channel (TCH/F, SACCH, RACH, PUSCH, PUCCH, SRS, PRACH, ...), which also drives power control."""

    start_s: np.ndarray
    duration_s: np.ndarray
    offset_hz: np.ndarray
    bandwidth_hz: np.ndarray
    wave: np.ndarray  # object array of str
    channel: np.ndarray  # object array of str

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[float, float, float, float, str, str]]) -> PlannedBursts:
        """From (start_s, duration_s, offset_hz, bandwidth_hz, wave, channel) tuples."""
        if not rows:
            return cls.empty()
        start, duration, offset, bandwidth, wave, channel = zip(*rows, strict=True)
        return cls(
            np.asarray(start, float),
            np.asarray(duration, float),
            np.asarray(offset, float),
            np.asarray(bandwidth, float),
            np.asarray(wave, object),
            np.asarray(channel, object),
        )

    @classmethod
    def empty(cls) -> PlannedBursts:
        return cls(*(np.zeros(0, float) for _ in range(4)), np.zeros(0, object), np.zeros(0, object))

    @classmethod
    def concat(cls, parts: Sequence[PlannedBursts]) -> PlannedBursts:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in cls.__dataclass_fields__)  # type: ignore[arg-type]
        )

    def within(self, start_s: float, end_s: float) -> PlannedBursts:
        """The bursts that start in [start_s, end_s)."""
        keep = (self.start_s >= start_s) & (self.start_s < end_s)
        return PlannedBursts(*(getattr(self, name)[keep] for name in self.__dataclass_fields__))
