"""Per-bin noise floor that follows a slowly changing floor but not the bursts on top of it.

Each bin tracks the median of |X|^2 with a multiplicative quantile step (O(1) per bin per frame):
    ln L += step * (0.5 - [P < L])
A bin whose local mean (the cell, its two neighbours in frequency, and the same three in the previous
frame) is more than `gate_db` above the floor is taken as signal and moves the floor only at
`gated_step`, a slow leak that still lets a real rise in the floor (a gain change) through at about
`gated_step * 0.5 / hop_s` nepers per second, while a phone that transmits continuously above the gate
leaves it where it was. Gating on a six-cell mean rather than on the cell itself matters: a strong
signal's cells are exponentially distributed too, and a single-cell gate lets its low cells through.
Noise almost never reaches the gate on a six-cell mean, so the tracked level is the noise median,
ln 2 times the mean noise power per bin, the unit the detector normalises by.
The first spectra of a stream seed the floor with their per-bin median, robust to bursts that occupy a
bin less than half the time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True, slots=True)
class FloorConfig:
    step_nepers: float = 2e-3
    gate_db: float = 6.0
    gated_step_nepers: float = 2e-6  # about 0.08 dB/s at 2.4 MS/s: a gain change must reseed instead
    seed_frames: int = 256


class NoiseFloor:
    """Streaming floor for `nfft` bins, in mean noise power per bin (linear, full-scale units)."""

    def __init__(self, nfft: int, config: FloorConfig = FloorConfig()) -> None:
        self.config = config
        self.tracked = np.ones(nfft, np.float64)  # median of |X|^2 per bin
        self.previous = np.zeros(nfft, np.float32)  # last spectrum, for the gate's local mean
        self.seeded = False
        self._mean_per_tracked = 1.0 / math.log(2)

    def normalise(self, spectra: np.ndarray, out: np.ndarray) -> None:
        """Track the floor through `spectra` (frames, nfft) and write spectra / floor into `out`."""
        if not self.seeded and spectra.shape[0] > 0:
            median = np.median(spectra[: self.config.seed_frames], axis=0).astype(np.float64)
            self.tracked[:] = np.maximum(median, 1e-30)
            self.previous[:] = spectra[0]
            self.seeded = True
        c = self.config
        _track_and_normalise(
            spectra,
            self.tracked,
            self.previous,
            math.exp(-0.5 * c.step_nepers),
            math.exp(0.5 * c.step_nepers),
            math.exp(0.5 * c.gated_step_nepers),
            10 ** (c.gate_db / 10),
            self._mean_per_tracked,
            out,
        )

    def mean_power_per_bin(self) -> np.ndarray:
        """Current floor, mean noise power per bin (linear)."""
        return self.tracked * self._mean_per_tracked


@njit(cache=True, nogil=True)
def _track_and_normalise(
    spectra: np.ndarray,
    tracked: np.ndarray,
    previous: np.ndarray,
    step_down: float,
    step_up: float,
    gated_step_up: float,
    gate_ratio: float,
    mean_per_tracked: float,
    out: np.ndarray,
) -> None:
    frames, nbins = spectra.shape
    for t in range(frames):
        row = spectra[t]
        for k in range(nbins):
            lo = max(k - 1, 0)
            hi = min(k + 1, nbins - 1)
            local = (row[lo] + row[k] + row[hi] + previous[lo] + previous[k] + previous[hi]) / 6.0
            p = row[k]
            level = tracked[k]
            out[t, k] = p / (level * mean_per_tracked)
            if local >= level * mean_per_tracked * gate_ratio:
                tracked[k] = level * gated_step_up
            elif p < level:
                tracked[k] = level * step_down
            else:
                tracked[k] = level * step_up
        previous[:] = row
