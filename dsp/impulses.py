"""Impulse blanking: frames where an impulse lights up the whole band are returned to the noise floor.

Switching transients, ignition and relays put a few microseconds of energy across every bin. A phone
never fills the whole usable band for less than a slot, so a run of at most `max_frames` frames in
which energy stands over the floor across the usable band, reaching both band edges, is an impulse
(see `_full_band_frames`): those
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
    # a side holds 34 bins and the band 225: over noise their means vary by about 0.2 and 0.08
    min_mean_excess: float = 0.5
    max_frames: int = 3


def blank_impulses(z: np.ndarray, usable: slice, config: ImpulseConfig = ImpulseConfig()) -> int:
    """Blank completed short full-band runs in `z` (frames, bins) in place; returns frames blanked.

    Runs touching the first or last frame are left alone: they may continue beyond the buffer.
    """
    full = _full_band_frames(z, usable.start, usable.stop, config.full_band_share, config.min_mean_excess)
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
def _full_band_frames(z: np.ndarray, low: int, high: int, full_band_share: float, min_mean_excess: float) -> np.ndarray:
    """Frames where bins [low, high) stand over the floor across the band, reaching both sides of it
    (short of the roll-off at the very edges): a wide phone burst such as an SRS symbol leaves one side
    quiet. Across the band means either more than `full_band_share` of bins 3 dB up (a strong impulse),
    with both sides' mean `min_mean_excess` floors up, or a weak impulse, which lifts every bin a little
    (too little for each bin to stand out, enough for a wide box to seed): a band mean `min_mean_excess`
    floors up, both sides half that, in a frame that stands alone (the band quiet again three frames
    before and after, as inside no burst).

    A side is judged by its mean, not by its share of hot bins: a transient of duration T has a random
    spectrum (a sum of independent samples) whose power is exponentially distributed from bin to bin and
    correlated only over about 1/T (100 kHz for 10 us), so a 270 kHz side holds a few independent looks
    and is often mostly under 3 dB in places while its mean stays well up; the quiet side of a phone
    burst is noise, whose 34-bin mean stays within about 0.2 of the floor."""
    n = high - low
    near_low = (low + n // 20, low + n // 5)
    near_high = (low + n - n // 5, low + n - n // 20)
    side = near_low[1] - near_low[0]
    frames = z.shape[0]
    band_mean = np.empty(frames, np.float32)
    for t in range(frames):
        band_mean[t] = _sum(z[t], low, high) / n
    quiet = 1.0 + 0.5 * min_mean_excess
    full = np.zeros(frames, np.bool_)
    for t in range(frames):
        row = z[t]
        if _hot_bins(row, low, high) > full_band_share * n:
            lifted = (1.0 + min_mean_excess) * side
            full[t] = _sum(row, near_low[0], near_low[1]) > lifted and _sum(row, near_high[0], near_high[1]) > lifted
        elif band_mean[t] > 1.0 + min_mean_excess and 3 <= t < frames - 3:
            full[t] = (
                band_mean[t - 3] < quiet
                and band_mean[t + 3] < quiet
                and _sum(row, near_low[0], near_low[1]) > quiet * side
                and _sum(row, near_high[0], near_high[1]) > quiet * side
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


@njit(cache=True, nogil=True, inline="always")
def _sum(row: np.ndarray, low: int, high: int) -> float:
    part = row[low:high]
    total = np.float32(0.0)
    for k in range(part.shape[0]):
        total += part[k]
    return total
