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


@dataclass(frozen=True, slots=True)
class ImpulseConfig:
    full_band_share: float = 0.6  # noise alone puts about 13 % of bins above 2x the floor
    max_frames: int = 3


def blank_impulses(z: np.ndarray, usable: slice, config: ImpulseConfig = ImpulseConfig()) -> int:
    """Blank completed short full-band runs in `z` (frames, bins) in place; returns frames blanked.

    Runs touching the first or last frame are left alone: they may continue beyond the buffer.
    """
    hot = z[:, usable] > 2.0
    n = hot.shape[1]
    near_low, near_high = slice(n // 20, n // 5), slice(n - n // 5, n - n // 20)
    # an impulse reaches both sides of the band (short of the roll-off at the very edges); a wide phone
    # burst such as an SRS symbol leaves one side quiet
    full = (
        (hot.mean(axis=1) > config.full_band_share)
        & (hot[:, near_low].mean(axis=1) > 0.5)
        & (hot[:, near_high].mean(axis=1) > 0.5)
    )
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
