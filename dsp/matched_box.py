"""Measure a weak burst as the rectangle of the spectrogram that best explains its region's energy.

`bursts.measure` finds a burst's band from a frequency profile averaged over its core frames. On a weak
burst several resource blocks wide the per-bin excess sits near that profile's noise, so the band it
finds shrinks to a fragment whose own sum no longer passes verification, and the burst is lost although
its region was seeded. Here every rectangle of the region is scored by its excess over noise in
standard deviations, (sum Z - n) / sqrt(n), the statistic of an energy detector matched to that
rectangle, and the best one is taken as the burst: this integrates over the burst's whole extent
however weak each bin is.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dsp.bursts import Measurement, Region, SegmentationConfig, smooth3, widened_excess

MAX_POSITIONS = 48  # per axis: a rectangle's edges are tried on at most this many positions each


def measure_best_box(
    region: Region, z: np.ndarray, floor_per_bin: np.ndarray, config: SegmentationConfig
) -> Measurement | None:
    """The region's best-scoring rectangle (the region widened by the segmentation margins) as a measurement."""
    f0, b0, excess = widened_excess(region, z, config)
    if excess.size == 0:
        return None
    steps = [max(1, n // MAX_POSITIONS) for n in excess.shape]
    t0, t1, k0, k1 = _best_box(excess, *steps)
    if t1 < t0:
        return None
    cells = excess[t0 : t1 + 1, k0 : k1 + 1]
    floors = floor_per_bin[b0 + k0 : b0 + k1 + 1]
    power = float((cells * floors).sum(axis=1).mean())
    if power <= 0:
        return None
    return Measurement(
        start_frame=f0 + t0 - 0.5,
        end_frame=f0 + t1 + 0.5,
        low_bin=b0 + k0 - 0.5,
        high_bin=b0 + k1 + 0.5,
        power=power,
        noise_power=float(floors.sum()),
        peak_bin=b0 + k0 + int(np.argmax(smooth3(cells.mean(axis=0)))),
        z_sum=float(cells.sum()) + cells.size,
        frames=cells.shape[0],
        bins=cells.shape[1],
    )


@njit(cache=True, nogil=True)
def _best_box(excess: np.ndarray, step_t: int, step_k: int) -> tuple[int, int, int, int]:
    """(t0, t1, k0, k1), inclusive, of the rectangle with the largest sum / sqrt(cells); edges are
    tried every `step_t` frames and `step_k` bins (the far edges also at the last frame and bin)."""
    frames, bins = excess.shape
    integral = np.zeros((frames + 1, bins + 1), np.float64)
    for t in range(frames):
        acc = 0.0
        for k in range(bins):
            acc += excess[t, k]
            integral[t + 1, k + 1] = integral[t, k + 1] + acc
    best, box = 0.0, (0, -1, 0, -1)
    column = np.empty(bins + 1, np.float64)
    reach = np.empty(bins, np.float64)  # at each k0 on the grid: the largest column at a far edge from k0 on
    grid_end = (bins - 1) // step_k * step_k
    for t0 in range(0, frames, step_t):
        for t1 in range(t0, frames, step_t):
            t_end = min(t1 + step_t, frames) if t1 + step_t >= frames else t1 + 1
            for k in range(bins + 1):
                column[k] = integral[t_end, k] - integral[t0, k]
            height = t_end - t0
            # the largest sum any rectangle of these frames from k0 on can have, over a single bin's cells, bounds
            # its score (rounding is monotone, so the bound holds for the computed scores): skip what cannot win
            highest = -np.inf
            for k1 in range(grid_end, -1, -step_k):
                highest = max(highest, column[bins if k1 + step_k >= bins else k1 + 1])
                reach[k1] = highest
            for k0 in range(0, bins, step_k):
                if (reach[k0] - column[k0]) / np.sqrt(height) <= best:
                    continue
                for k1 in range(k0, bins, step_k):
                    k_end = bins if k1 + step_k >= bins else k1 + 1
                    total = column[k_end] - column[k0]
                    if total <= 0.0:
                        continue
                    score = total / np.sqrt(height * (k_end - k0))
                    if score > best:
                        best, box = score, (t0, t_end - 1, k0, k_end - 1)
    return box
