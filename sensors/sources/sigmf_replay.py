"""Replaying a SigMF recording as if it were a dongle, in real time or as fast as possible."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cellward.recording import Recording, RecordingError, open_recording
from sensors.sources.base import R820T_GAINS_DB, SourceCounters, SourceError, SourceFault, SourceInfo, nearest_gain
from sensors.sources.faults import FaultWindow
from sensors.sources.pacing import Pacer


class SigmfConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["sigmf"] = "sigmf"
    path: Path = Field(description="the recording's .sigmf-meta")
    realtime: bool = Field(default=True, description="deliver at the recorded sample rate; false = flat out")
    loop: bool = Field(default=True, description="start again at the end instead of stopping")
    faults: list[FaultWindow] = Field(default_factory=list, description="injected unplug windows (tests)")


class EndOfRecording(SourceError):  # noqa: N818 - an event, not a programming error
    """A replay without `loop` has delivered its last sample."""


class SigmfReplaySource:
    """A recording has one tuning: `tune` returns the recorded centre, whatever is asked."""

    def __init__(self, config: SigmfConfig) -> None:
        self.config = config
        self._recording: Recording | None = None
        self._blocks: Iterator[np.ndarray] | None = None
        self._held = np.zeros(0, np.complex64)
        self.counters = SourceCounters()
        self.first_sample_s: float | None = None
        try:
            recording = open_recording(config.path)
        except RecordingError as exc:
            raise SourceError(str(exc)) from None
        half = recording.sample_rate_hz / 2
        self._recording = recording
        self.info = SourceInfo(
            "sigmf",
            str(config.path),
            recording.sample_rate_hz,
            recording.center_freq_hz - half,
            recording.center_freq_hz + half,
        )
        self._pacer = Pacer(recording.sample_rate_hz, config.realtime)
        self._gain = 0.0

    def open(self) -> None:
        self._blocks = None
        self._held = np.zeros(0, np.complex64)
        self._pacer.restart()

    def close(self) -> None:
        self._blocks = None

    def tune(self, freq_hz: float) -> float:
        assert self._recording is not None
        self._pacer.restart()  # a retune starts a new stream: what came before is discarded, not lost
        return self._recording.center_freq_hz

    def gains_db(self) -> list[float]:
        return list(R820T_GAINS_DB)

    def set_gain(self, gain_db: float) -> float:
        self._gain = nearest_gain(R820T_GAINS_DB, gain_db)
        return self._gain  # recorded samples keep the gain they were recorded with

    def _next_block(self) -> np.ndarray:
        assert self._recording is not None
        for _ in range(2):
            if self._blocks is None:
                self._blocks = self._recording.blocks(1 << 18)
            block = next(self._blocks, None)
            if block is not None:
                return block
            self._blocks = None
            if not self.config.loop:
                raise EndOfRecording(f"{self.config.path}: end of recording")
        raise SourceFault(f"{self.config.path}: the recording holds no samples")

    def read(self, num_samples: int) -> np.ndarray:
        lost = self._pacer.overrun()
        if lost:  # the consumer fell behind the recording's clock: skip what a dongle would have lost
            self._take(lost)
            self.counters.samples_dropped += lost
        samples = self._take(num_samples)
        self._pacer.wait_for(num_samples)
        self.counters.samples_in += num_samples
        return samples

    def _take(self, num_samples: int) -> np.ndarray:
        parts = [self._held]
        have = len(self._held)
        try:
            while have < num_samples:
                block = self._next_block()
                parts.append(block)
                have += len(block)
        except RecordingError as exc:
            raise SourceFault(str(exc)) from None
        joined = np.concatenate(parts)
        self._held = joined[num_samples:]
        return joined[:num_samples]
