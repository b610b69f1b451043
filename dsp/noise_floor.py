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
    """Streaming floor for `nfft` bins, in mean noise power per bin (linear, full-scale units).

    The state is kept as the reciprocal of the tracked median per bin (scaled to mean power), so the
    per-cell work is multiplications only: every update of the level is a multiplicative step anyway.
    """

    def __init__(self, nfft: int, config: FloorConfig = FloorConfig()) -> None:
        self.config = config
        self._mean_per_tracked = 1.0 / math.log(2)
        self.inverse_mean = np.ones(nfft, np.float64)  # 1 / (mean noise power per bin)
        self.previous_sums = np.zeros(nfft, np.float32)  # last spectrum's three-bin sums, for the gate
        self.seeded = False

    def normalise(self, spectra: np.ndarray, out: np.ndarray) -> None:
        """Track the floor through `spectra` (frames, nfft) and write spectra / floor into `out`."""
        if not self.seeded and spectra.shape[0] > 0:
            median = np.median(spectra[: self.config.seed_frames], axis=0).astype(np.float64)
            self.inverse_mean[:] = 1.0 / (np.maximum(median, 1e-30) * self._mean_per_tracked)
            self.previous_sums[:] = _three_bin_sums(spectra[0])
            self.seeded = True
        c = self.config
        _track_and_normalise(
            spectra,
            self.inverse_mean,
            self.previous_sums,
            math.exp(0.5 * c.step_nepers),  # the level steps down: its reciprocal up
            math.exp(-0.5 * c.step_nepers),
            math.exp(-0.5 * c.gated_step_nepers),
            6.0 * 10 ** (c.gate_db / 10),
            self._mean_per_tracked,
            out,
        )

    def mean_power_per_bin(self) -> np.ndarray:
        """Current floor, mean noise power per bin (linear)."""
        return 1.0 / self.inverse_mean


def _three_bin_sums(row: np.ndarray) -> np.ndarray:
    padded = np.concatenate((row[:1], row, row[-1:])).astype(np.float32)
    return padded[:-2] + padded[1:-1] + padded[2:]


@njit(cache=True, nogil=True)
def _track_and_normalise(
    spectra: np.ndarray,
    inverse_mean: np.ndarray,
    previous_sums: np.ndarray,
    inverse_step_down: float,
    inverse_step_up: float,
    inverse_gated_step_up: float,
    gate_sum: float,
    mean_per_tracked: float,
    out: np.ndarray,
) -> None:
    """z = P / floor per cell; the floor steps toward the median, or leaks when the six-cell sum (three
    bins in this frame and the last) exceeds `gate_sum` floors. Edge bins repeat themselves."""
    frames, nbins = spectra.shape
    sums = np.empty(nbins, np.float32)
    for t in range(frames):
        row = spectra[t]
        for k in range(nbins):
            sums[k] = row[max(k - 1, 0)] + row[k] + row[min(k + 1, nbins - 1)]
        for k in range(nbins):
            inverse = inverse_mean[k]
            z = row[k] * inverse
            out[t, k] = z
            if (sums[k] + previous_sums[k]) * inverse >= gate_sum:
                inverse_mean[k] = inverse * inverse_gated_step_up
            elif z * mean_per_tracked < 1.0:
                inverse_mean[k] = inverse * inverse_step_down
            else:
                inverse_mean[k] = inverse * inverse_step_up
        previous_sums[:] = sums
