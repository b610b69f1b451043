"""Per-bin noise floor that follows a slowly changing floor but not the bursts on top of it.

Each bin tracks the median of |X|^2 with a multiplicative quantile step (O(1) per bin per frame):
    ln L += step * (0.5 - [P < L])
Cells more than `gate_db` above the floor are taken as signal and move the floor only at
`gated_step`, a slow leak that still lets a real rise in the floor (a gain change) through at about
`gated_step * 0.5 / hop_s` nepers per second, while a phone that transmits continuously
above the gate leaves it where it was. Because the update is gated, the tracked level is the median
of ln P *below the gate*; `median_to_mean` turns it into the mean noise power per bin, the unit the
detector normalises by (for exponential |X|^2 the ungated median is ln 2 times the mean).
The first spectra of a stream seed the floor with their per-bin median, robust to bursts that occupy a
bin less than half the time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.optimize import brentq


@dataclass(frozen=True, slots=True)
class FloorConfig:
    step_nepers: float = 2e-3
    gate_db: float = 6.0
    gated_step_nepers: float = 2e-5
    seed_frames: int = 256


def gated_median_factor(gate_db: float) -> float:
    """Mean/median ratio of exponential noise when cells above gate x mean are excluded.

    The tracker settles where half the *ungated* samples lie below it: F(m) = 0.5 * F(g) for an
    Exp(1) variable, with the gate g = m * 10^(gate_db/10) applied relative to the tracked level m.
    """
    ratio = 10 ** (gate_db / 10)
    m = brentq(lambda m: (1 - math.exp(-m)) - 0.5 * (1 - math.exp(-m * ratio)), 1e-6, 10.0)
    return 1.0 / m


class NoiseFloor:
    """Streaming floor for `nfft` bins, in mean noise power per bin (linear, full-scale units)."""

    def __init__(self, nfft: int, config: FloorConfig = FloorConfig()) -> None:
        self.config = config
        self.tracked = np.ones(nfft, np.float64)  # gated median of |X|^2 per bin
        self.seeded = False
        self._mean_per_tracked = gated_median_factor(config.gate_db)

    def normalise(self, spectra: np.ndarray, out: np.ndarray) -> None:
        """Track the floor through `spectra` (frames, nfft) and write spectra / floor into `out`."""
        if not self.seeded and spectra.shape[0] > 0:
            median = np.median(spectra[: self.config.seed_frames], axis=0).astype(np.float64)
            self.tracked[:] = np.maximum(median, 1e-30) / math.log(2) / self._mean_per_tracked
            self.seeded = True
        c = self.config
        _track_and_normalise(
            spectra,
            self.tracked,
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
    step_down: float,
    step_up: float,
    gated_step_up: float,
    gate_ratio: float,
    mean_per_tracked: float,
    out: np.ndarray,
) -> None:
    frames, nbins = spectra.shape
    for t in range(frames):
        for k in range(nbins):
            p = spectra[t, k]
            level = tracked[k]
            out[t, k] = p / (level * mean_per_tracked)
            if p < level:
                tracked[k] = level * step_down
            elif p < level * gate_ratio:
                tracked[k] = level * step_up
            else:
                tracked[k] = level * gated_step_up
