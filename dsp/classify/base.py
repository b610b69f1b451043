"""The one small interface every technology classifier implements, and the candidate it judges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(slots=True)
class Candidate:
    """A measured burst waiting for its technology. Times in s, frequencies absolute in Hz."""

    start_s: float
    duration_s: float
    freq_hz: float
    bandwidth_hz: float
    power: float
    snr: float
    offset_from_tuner_hz: float
    capture_half_width_hz: float
    cut_at_start: bool = False  # on before the stream's first frame: start_s is where the stream began, not the burst
    cut_at_end: bool = False  # still on at the stream's last frame
    features: dict[str, float] = field(default_factory=dict)
    log_likelihoods: dict[str, float] | None = None  # per technology, once labelled

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def low_hz(self) -> float:
        return self.freq_hz - 0.5 * self.bandwidth_hz

    @property
    def high_hz(self) -> float:
        return self.freq_hz + 0.5 * self.bandwidth_hz

    @property
    def cut_in_time(self) -> bool:
        """True when part of the burst may lie outside the stream (its duration is then partial)."""
        return self.cut_at_start or self.cut_at_end

    @property
    def touches_capture_edge(self) -> bool:
        """True when part of the burst may lie outside the captured band (its bandwidth is then partial)."""
        margin = 0.85 * self.capture_half_width_hz
        half = 0.5 * self.bandwidth_hz
        return abs(self.offset_from_tuner_hz) + half > margin


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Bursts seen together, as parallel arrays (element i describes `pool[index[i]]`), so that a
    classifier weighs all of them in a few array operations rather than a Python loop per pair."""

    pool: Sequence[Candidate]  # shared by every subset of one window
    index: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    duration_s: np.ndarray
    low_hz: np.ndarray
    high_hz: np.ndarray
    bandwidth_hz: np.ndarray
    offset_from_tuner_hz: np.ndarray
    power: np.ndarray

    @classmethod
    def of(cls, candidates: Sequence[Candidate]) -> Neighbours:
        table = np.array(
            [(c.start_s, c.duration_s, c.freq_hz, c.bandwidth_hz, c.offset_from_tuner_hz, c.power) for c in candidates],
            dtype=np.float64,
        ).reshape(-1, 6)
        start, duration, freq, bandwidth, offset, power = table.T
        return cls(
            candidates,
            np.arange(len(candidates)),
            start,
            start + duration,
            duration,
            freq - 0.5 * bandwidth,
            freq + 0.5 * bandwidth,
            bandwidth,
            offset,
            power,
        )

    def __len__(self) -> int:
        return len(self.index)

    def candidate(self, k: int) -> Candidate:
        return self.pool[self.index[k]]

    def subset(self, index: np.ndarray) -> Neighbours:
        return Neighbours(
            self.pool,
            self.index[index],
            self.start_s[index],
            self.end_s[index],
            self.duration_s[index],
            self.low_hz[index],
            self.high_hz[index],
            self.bandwidth_hz[index],
            self.offset_from_tuner_hz[index],
            self.power[index],
        )


@dataclass(frozen=True, slots=True)
class Context:
    """What a classifier may know beyond the burst: its neighbours and the band plan's view."""

    neighbours: Neighbours  # other bursts within the context window, any channel
    technologies_in_use: frozenset[str]  # from the band plan for the burst's band


class TechnologyClassifier(Protocol):
    """One technology's model of what its bursts look like.

    `log_likelihood` is the log of how probable the candidate's measured features are if it were this
    technology (up to a constant shared by all classifiers); the registry adds the band plan's prior and
    picks the most probable technology. `unknown` is a classifier too: the model of everything else.
    """

    technology: str
    reads: tuple[str, ...]  # the candidate features it uses
    false_positive_conditions: tuple[str, ...]  # when it is known to say yes wrongly

    def log_likelihood(self, candidate: Candidate, context: Context) -> float: ...
