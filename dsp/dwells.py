"""A stream heard as a sensor node hears one tuning: cut into back-to-back dwells, the detector restarted for
each with the tuning's memory of its noise floor (sensors/node.py), burst times on the stream's clock.

A node's dwells on one tuning lie between its other tunings, but as each starts afresh but for that memory,
only where their edges fall matters, so they are taken back to back and hear every sample.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dsp.burst import Burst
from dsp.detector import Detector, DetectorConfig
from dsp.noise_floor import FloorMemory


class Dwells:
    def __init__(
        self, sample_rate_hz: float, center_freq_hz: float, dwell_s: float, config: DetectorConfig | None = None
    ) -> None:
        if dwell_s <= 0:
            raise ValueError(f"a dwell lasts more than 0 s, got {dwell_s}")
        self.sample_rate_hz = sample_rate_hz
        self.center_freq_hz = center_freq_hz
        self.detector = Detector(sample_rate_hz, center_freq_hz, config)
        self.floor_memory = FloorMemory()
        self.dwell = max(1, round(dwell_s * sample_rate_hz))
        self._held = np.empty(0, np.complex64)  # the start of a dwell that runs on into the next samples
        self._held_from = 0  # the stream sample of _held[0]

    def hear(self, samples: np.ndarray) -> list[Burst]:
        """The bursts of every dwell these samples complete."""
        samples = np.concatenate((self._held, samples))
        whole = samples.shape[0] // self.dwell * self.dwell
        bursts = [
            burst
            for first in range(0, whole, self.dwell)
            for burst in self._dwell(samples[first : first + self.dwell], self._held_from + first)
        ]
        self._held, self._held_from = samples[whole:], self._held_from + whole
        return bursts

    def finish(self) -> list[Burst]:
        """End of stream: the last, shorter dwell's bursts."""
        return self._dwell(self._held, self._held_from) if self._held.shape[0] else []

    def _dwell(self, samples: np.ndarray, first_sample: int) -> list[Burst]:
        self.detector.restart(self.center_freq_hz, floor_memory=self.floor_memory)
        heard = self.detector.process(samples) + self.detector.flush()
        offset_s = first_sample / self.sample_rate_hz
        return [replace(burst, start_s=burst.start_s + offset_s) for burst in heard]
