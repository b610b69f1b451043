"""Impulse blanking: frames where an impulse lights up the whole band are returned to the noise floor.

Switching transients, ignition and relays put a few microseconds of energy across every bin. A phone
never fills the whole usable band for less than a slot, so a run of at most `max_frames` frames in
which more than `full_band_share` of the usable bins, reaching both band edges, stand 3 dB above the
floor is an impulse: those
frames (and one on each side, for the receiver filter's ringing) are set to the floor before CFAR, so
an impulse can neither become a burst nor split into narrow fragments that look like one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True, slots=True)
class ImpulseConfig:
    full_band_share: float = 0.6  # noise alone puts about 13 % of bins above 2x the floor
    max_frames: int = 3


def blank_impulses(z: np.ndarray, usable: slice, config: ImpulseConfig = ImpulseConfig()) -> int:
    """Blank completed short full-band runs in `z` (frames, bins) in place; returns frames blanked.

    Runs touching the first or last frame are left alone: they may continue beyond the buffer.
    """
    full = _full_band_frames(z, usable.start, usable.stop, config.full_band_share)
    if not full.any():
        return 0
    edges = np.diff(np.concatenate(([0], full.view(np.int8), [0])))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    blanked = 0
    for start, stop in zip(starts, stops, strict=True):
        if stop - start > config.max_frames or start == 0 or stop == len(full):
            continue
        lo, hi = max(0, start - 1), min(len(full), stop + 1)
        z[lo:hi] = 1.0
        blanked += hi - lo
    return blanked


@njit(cache=True, nogil=True)
def _full_band_frames(z: np.ndarray, low: int, high: int, full_band_share: float) -> np.ndarray:
    """Frames where more than `full_band_share` of bins [low, high) stand 3 dB over the floor, reaching
    both sides of the band (short of the roll-off at the very edges): a wide phone burst such as an SRS
    symbol leaves one side quiet."""
    n = high - low
    near_low = (low + n // 20, low + n // 5)
    near_high = (low + n - n // 5, low + n - n // 20)
    full = np.zeros(z.shape[0], np.bool_)
    for t in range(z.shape[0]):
        row = z[t]
        full[t] = (
            _hot_bins(row, low, high) > full_band_share * n
            and _hot_bins(row, near_low[0], near_low[1]) > 0.5 * (near_low[1] - near_low[0])
            and _hot_bins(row, near_high[0], near_high[1]) > 0.5 * (near_high[1] - near_high[0])
        )
    return full


@njit(cache=True, nogil=True, inline="always")
def _hot_bins(row: np.ndarray, low: int, high: int) -> int:
    """Bins of row[low:high] 3 dB over the floor (a count the compiler vectorises)."""
    part = row[low:high]
    hot = 0
    for k in range(part.shape[0]):
        hot += part[k] > 2.0
    return hot
