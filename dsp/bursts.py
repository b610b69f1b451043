"""Burst extraction: connected time-frequency regions, split where they join two emissions, and measured.

Regions come from the CFAR seeds and the low-threshold map (hysteresis): a component of the map
counts only if it holds a seed. Components that join two emissions (a PUCCH blip next to a PUSCH run,
two GSM slots back to back) are cut recursively where the component's time or frequency profile of
excess power falls to the noise between two parts (an XY cut).

Measurements, per region (bins k, frames t, Z = |X|^2 / floor, excess = Z - 1):
- band edges: where the frequency profile (mean excess over the burst's core frames, 3-bin smoothed)
  crosses `edge_fraction` of its peak, interpolated between bins; bandwidth = upper - lower edge;
- start and end: where the time profile (excess power summed over the occupied bins) crosses half its
  plateau, interpolated between frame centres. With a symmetric window the frame whose centre sits on a
  burst edge holds half the burst's power, so the half-power crossing is the edge (sub-frame precision);
- power = mean excess power over the frames inside the burst (full-scale units),
  SNR = power / (noise power in the occupied bins), energy = power * duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), bool)


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle of the spectrogram (frames and bins inclusive) holding one emission; `split` when it is
    a part the XY cut took out of a larger component."""

    frame0: int
    frame1: int
    bin0: int
    bin1: int
    split: bool = False


@dataclass(frozen=True, slots=True)
class Measurement:
    """A burst's extent and levels; frames and bins fractional, in the spectrogram's coordinates."""

    start_frame: float
    end_frame: float
    low_bin: float
    high_bin: float
    power: float
    noise_power: float
    peak_bin: float
    z_sum: float  # sum of Z over the cells inside the measured extent
    frames: int  # frames and bins of those cells
    bins: int

    @property
    def snr(self) -> float:
        return self.power / self.noise_power


@dataclass(frozen=True, slots=True)
class SegmentationConfig:
    min_gap_frames: int = 2
    min_gap_bins: int = 3
    split_fraction: float = 0.08
    split_sigma: float = 4.0
    weak_part_factor: int = 4
    edge_fraction: float = 0.1
    edge_sigma: float = 3.0
    margin_frames: int = 2
    margin_bins: int = 3
    max_split_depth: int = 4


def find_regions(
    seeds: np.ndarray,
    region_map: np.ndarray,
    z: np.ndarray,
    tile_bins: int,
    config: SegmentationConfig = SegmentationConfig(),
) -> list[Region]:
    """Regions of seeded components of the tile map, cut where they join separate emissions."""
    if not seeds.any():
        return []
    labels, count = ndimage.label(region_map, structure=EIGHT_CONNECTED)
    regions: list[Region] = []
    for label, row0, row1, col0, col1 in _seeded_boxes(labels, count, seeds).tolist():
        rows, cols = slice(row0, row1), slice(col0, col1)
        mask_tiles = labels[rows, cols] == label
        mask = np.repeat(mask_tiles, tile_bins, axis=1)
        excess = (z[rows, cols.start * tile_bins : cols.stop * tile_bins] - 1.0) * mask
        parts = _xy_cut(excess, mask, config)
        for f0, f1, b0, b1 in parts:
            bin0, bin1 = cols.start * tile_bins + b0, cols.start * tile_bins + b1
            regions.append(Region(rows.start + f0, rows.start + f1, bin0, bin1, split=len(parts) > 1))
    return regions


@njit(cache=True, nogil=True)
def _seeded_boxes(labels: np.ndarray, count: int, seeds: np.ndarray) -> np.ndarray:
    """(label, first row, row after the last, first column, column after the last) of each of the `count`
    labelled components that holds a seed, by label: what np.unique and ndimage.find_objects give, in one pass."""
    frames, tiles = labels.shape
    boxes = np.empty((count + 1, 4), np.int64)
    boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3] = frames, -1, tiles, -1
    seeded = np.zeros(count + 1, np.bool_)
    for t in range(frames):
        for j in range(tiles):
            label = labels[t, j]
            if label > 0:
                boxes[label, 0], boxes[label, 1] = min(boxes[label, 0], t), t + 1
                boxes[label, 2], boxes[label, 3] = min(boxes[label, 2], j), max(boxes[label, 3], j + 1)
                seeded[label] |= seeds[t, j]
    found = np.flatnonzero(seeded)
    out = np.empty((found.shape[0], 5), np.int64)
    for i in range(found.shape[0]):
        out[i, 0] = found[i]
        out[i, 1:] = boxes[found[i]]
    return out


def _xy_cut(excess: np.ndarray, mask: np.ndarray, config: SegmentationConfig) -> list[tuple[int, int, int, int]]:
    """Cut a component (float32 excess and its mask, frames x bins) where its time or frequency profile drops
    to noise, recursively; returns its parts as (first frame, last frame, first bin, last bin)."""
    parts = _xy_cut_kernel(
        excess,
        mask,
        config.min_gap_frames,
        config.min_gap_bins,
        config.split_fraction,
        config.split_sigma,
        config.weak_part_factor,
        config.max_split_depth,
    )
    return [(int(f0), int(f1), int(b0), int(b1)) for f0, f1, b0, b1 in parts]


@njit(cache=True, nogil=True)
def _xy_cut_kernel(
    excess: np.ndarray,
    mask: np.ndarray,
    min_gap_frames: int,
    min_gap_bins: int,
    split_fraction: float,
    split_sigma: float,
    weak_part_factor: int,
    max_depth: int,
) -> np.ndarray:
    """Depth first, a part is cut along time if its time profile splits into runs (`_active_runs`), else along
    frequency (weak runs that are a strong one's skirt rejoined, `_join_skirts`), until it does not split or
    `max_depth` cuts deep; a part cut out along frequency is first trimmed in time to its one run, if it has one.
    Sums are formed in numpy's order (`pairwise_sum`), so that every test compares the same float32 values as
    numpy's reductions of the same arrays would."""
    parts = []
    stack = [(0, excess.shape[0] - 1, 0, excess.shape[1] - 1, 0)]
    while len(stack) > 0:
        f0, f1, b0, b1, depth = stack.pop()
        split = False
        if depth < max_depth:
            x = excess[f0 : f1 + 1, b0 : b1 + 1]
            m = mask[f0 : f1 + 1, b0 : b1 + 1]
            for axis in range(2):
                if axis == 0:
                    profile, cells = _row_sums(x), np.maximum(_mask_counts(m, True), 1)
                    also_significant = _significant_in_own_columns(x, m, split_sigma, profile, cells)
                    min_gap, length = min_gap_frames, f1 - f0 + 1
                else:
                    profile, cells = _column_sums(x), np.maximum(_mask_counts(m, False), 1)
                    also_significant = np.zeros(profile.shape[0], np.bool_)
                    min_gap, length = min_gap_bins, b1 - b0 + 1
                lows, highs = _active_runs(
                    profile, cells, also_significant, min_gap, split_fraction, split_sigma, weak_part_factor, axis == 1
                )
                if axis == 1:  # in time, short weak stretches (ramps) are already absorbed by _active_runs
                    lows, highs = _join_skirts(lows, highs, x, m, excess.shape[1], min_gap, split_fraction, split_sigma)
                lows, highs = _stretch(lows, highs, length, min_gap)
                if axis == 0 and depth > 0 and lows.shape[0] == 1:
                    # a part cut out along frequency keeps the frames of the whole: a short burst's part would span
                    # a long neighbour's frames, and the burst would fill too little of them for its plateau to be found
                    first, last = max(0, lows[0] - 2 * min_gap), min(length - 1, highs[0] + 2 * min_gap)
                    if first > 0 or last < length - 1:
                        stack.append((f0 + first, f0 + last, b0, b1, depth + 1))
                        split = True
                        break
                if lows.shape[0] > 1:
                    for r in range(lows.shape[0] - 1, -1, -1):  # popped in order
                        if axis == 0:
                            stack.append((f0 + lows[r], f0 + highs[r], b0, b1, depth + 1))
                        else:
                            stack.append((f0, f1, b0 + lows[r], b0 + highs[r], depth + 1))
                    split = True
                    break
        if not split:
            parts.append((f0, f1, b0, b1))
    out = np.empty((len(parts), 4), np.int64)
    for i in range(len(parts)):
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = parts[i]
    return out


@njit(cache=True, nogil=True)
def _significant_in_own_columns(
    x: np.ndarray, m: np.ndarray, split_sigma: float, row_sums: np.ndarray, row_cells: np.ndarray
) -> np.ndarray:
    """Rows (frames) whose whole sums are not significant (`_significant`) but whose sums over only the columns that
    hold energy over the part's frames are.

    The low-threshold map joins noise cells to a long emission along its whole length, and the seeds of wide boxes
    stand up to half a box off it, so a weak emission's component can span many times its band; over all of it the
    emission's frames dipped to noise by chance, and it was cut in pieces."""
    quiet = ~_significant(row_sums, row_cells, split_sigma)[1]
    found = np.zeros(row_sums.shape[0], np.bool_)
    if not quiet.any():
        return found
    keep = _significant(_column_sums(x), np.maximum(_mask_counts(m, False), 1), split_sigma)[1]
    kept = np.count_nonzero(keep)
    if kept == 0 or kept == keep.shape[0]:
        return found
    weights = keep.astype(np.float64)
    sums, counts = row_sums.copy(), row_cells.copy()
    rows = x.shape[0]
    for t in range(rows):
        if not (quiet[t] or (t > 0 and quiet[t - 1]) or (t + 1 < rows and quiet[t + 1])):
            continue  # only quiet rows are tested, on sums smoothed with their neighbours'
        row, mask_row = x[t], m[t]
        total, count = 0.0, 0
        for k in range(row.shape[0]):
            total += row[k] * weights[k]
            count += mask_row[k] and keep[k]
        sums[t], counts[t] = total, max(count, 1)
    return quiet & _significant(sums, counts, split_sigma)[1]


@njit(cache=True, nogil=True)
def _significant(profile: np.ndarray, cells: np.ndarray, split_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """A profile's 3-point smoothed mean per cell, and where it stands above `split_sigma` noise standard deviations
    (adjacent Hann bins are correlated: about twice the variance of independent ones)."""
    mean = _smooth3_kernel(profile.astype(np.float64) / cells)
    return mean, mean > split_sigma * np.sqrt(2.0 / (3.0 * cells))


@njit(cache=True, nogil=True)
def _join_skirts(
    lows: np.ndarray,
    highs: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    full_bins: int,
    min_gap: int,
    split_fraction: float,
    split_sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Rejoin a weak part (a run of bins of x) to its strong neighbour when it lives exactly where the strong
    one does.

    The spectral skirt of a strong burst is weak and beside it, but it occupies the same frames as the burst
    itself; a separate weak emission has a support of its own in time. A skirt also lies beside its burst,
    within two gaps of it: a part further off is an emission of its own even where it lies inside the other's
    frames (a short burst beside a long one). And a skirt is far weaker than its burst in the skirt's own frames:
    over all the frames of the part a short emission beside a long one is diluted to look as weak as a skirt.
    `full_bins` is the width of the array x is a view of.
    """
    count = lows.shape[0]
    if count < 2:
        return lows, highs
    lows, highs = lows.copy(), highs.copy()
    supports = np.empty((count, x.shape[0]), np.bool_)
    levels = np.empty(count, np.float32)
    for i in range(count):
        part, part_mask = x[:, lows[i] : highs[i] + 1], m[:, lows[i] : highs[i] + 1]
        profile = _smooth3_kernel(_row_sums(part).astype(np.float64))
        cells = np.maximum(_mask_counts(part_mask, True), 1)
        supports[i] = profile > split_sigma * np.sqrt(2.0 * cells / 3.0)
        levels[i] = np.float32(np.float64(_full_sum(part, full_bins)) / part.size)  # numpy's float32 mean
    i = 0
    while i < count - 1:
        weak, strong = (i, i + 1) if levels[i] < levels[i + 1] else (i + 1, i)
        inside = np.count_nonzero(supports[weak] & supports[strong])
        beside = lows[i + 1] - highs[i] - 1 <= 2 * min_gap
        # weaker than the strong one in its own frames: over the whole part a short emission's level is diluted
        skirt = _mean_in_frames(x, supports[weak], lows[weak], highs[weak]) < 2 * split_fraction * _mean_in_frames(
            x, supports[weak], lows[strong], highs[strong]
        )
        if beside and skirt and inside >= 0.8 * max(np.count_nonzero(supports[weak]), 1):
            highs[i] = highs[i + 1]
            supports[i] |= supports[i + 1]
            levels[i] = max(levels[i], levels[i + 1])
            lows[i + 1 : count - 1] = lows[i + 2 : count].copy()
            highs[i + 1 : count - 1] = highs[i + 2 : count].copy()
            supports[i + 1 : count - 1] = supports[i + 2 : count].copy()
            levels[i + 1 : count - 1] = levels[i + 2 : count].copy()
            count -= 1
        else:
            i += 1
    return lows[:count], highs[:count]


@njit(cache=True, nogil=True)
def _mean_in_frames(x: np.ndarray, frames: np.ndarray, low: int, high: int) -> float:
    """Mean of x over the `frames` (a mask of its rows) and the columns `low`..`high`."""
    total, cells = 0.0, 0
    for t in np.flatnonzero(frames):
        for k in range(low, high + 1):
            total += x[t, k]
        cells += high - low + 1
    return total / max(cells, 1)


@njit(cache=True, nogil=True)
def _active_runs(
    profile: np.ndarray,
    cells: np.ndarray,
    also_significant: np.ndarray,
    min_gap: int,
    split_fraction: float,
    split_sigma: float,
    weak_part_factor: int,
    to_valleys: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Parts of a component along one axis that are separate emissions: runs that each hold significant
    energy, separated by quiet gaps or by a fall of more than 1/`split_fraction` in level.

    The profile is the excess summed across the other axis over `cells` cells; its 3-point smoothed mean
    per cell is *significant* above `split_sigma` noise standard deviations (`_significant`) and *strong*
    above `split_fraction` of the peak, and also where `also_significant` says (in time: a weak emission's mean over
    a wide component can dip to noise where its own columns do not, `_significant_in_own_columns`). A
    significant but weak stretch at least `weak_part_factor` gaps long beside a strong one is a weaker emission
    in its own right (a weak wide PUSCH under a strong one-block PUSCH); shorter weak stretches are the skirts
    of the strong one. With `to_valleys` (along frequency), the part of a weak run that belongs to the strong
    run it touches is given back to it (`_weak_runs_to_valleys`). Returns the runs' first and last indices.
    """
    mean, significant = _significant(profile, cells, split_sigma)
    significant |= also_significant
    strong = split_fraction * mean.max()
    level = np.zeros(mean.shape[0], np.int64)
    for i in range(mean.shape[0]):
        if significant[i]:
            level[i] = 2 if mean[i] > strong else 1
    count, lows, highs = _absorbed_level_runs(level, min_gap, weak_part_factor * min_gap)
    if to_valleys:
        lows, highs = _weak_runs_to_valleys(
            mean, lows, highs, count, strong, split_fraction, weak_part_factor * min_gap
        )
        count = lows.shape[0]
    kept = 0
    for r in range(count):
        lo, hi = lows[r], highs[r]
        if pairwise_sum(profile[lo : hi + 1]) > 2 * split_sigma * np.sqrt(2.0 * cells[lo : hi + 1].sum()):
            lows[kept], highs[kept] = lo, hi
            kept += 1
    return lows[:kept], highs[:kept]


@njit(cache=True, nogil=True)
def _weak_runs_to_valleys(
    mean: np.ndarray,
    lows: np.ndarray,
    highs: np.ndarray,
    count: int,
    strong: float,
    split_fraction: float,
    min_weak: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Give the part of a weak run that belongs to the strong run it touches back to that run.

    Weak and strong are told apart against the peak of the whole part, so one emission that sits near that line (a
    PUCCH slot in the frames of a long PUSCH: diluted in its columns' means, and its columns masked over more or
    fewer frames) straddles it and is cut in two. A weak run is split at its deepest point (the valley between two
    emissions, or its far end); the side that touches a strong run joins it unless it peaks under `split_fraction`
    of that run's level where they meet (its nearest `min_weak` cells: further off it may hold other emissions), so a
    weak emission in its own right stays apart. What is left keeps its own run if at least `min_weak` long, else goes
    to the strong run on its side, as its skirt."""
    peaks = np.empty(count)
    for r in range(count):
        peaks[r] = mean[lows[r] : highs[r] + 1].max()
    out_lows, out_highs = lows[:count].copy(), highs[:count].copy()
    keep = np.ones(count, np.bool_)
    for r in range(count):
        if peaks[r] > strong:
            continue
        left = r > 0 and peaks[r - 1] > strong and highs[r - 1] + 1 == lows[r]
        right = r < count - 1 and peaks[r + 1] > strong and highs[r] + 1 == lows[r + 1]
        if not (left or right):
            continue
        lo, hi = lows[r], highs[r]
        valley = lo + np.argmin(mean[lo : hi + 1])
        if left:
            meets = mean[max(lows[r - 1], lo - min_weak) : lo].max()
            if mean[lo : valley + 1].max() > split_fraction * meets:
                out_highs[r - 1], lo = valley, valley + 1
        if right and lo <= hi:
            start = max(lo, valley)
            meets = mean[hi + 1 : min(highs[r + 1], hi + min_weak) + 1].max()
            if mean[start : hi + 1].max() > split_fraction * meets:
                out_lows[r + 1], hi = start, start - 1
        if hi < lo:
            keep[r] = False
        elif hi - lo + 1 < min_weak and (lo, hi) != (lows[r], highs[r]):
            keep[r] = False
            if right and hi + 1 == out_lows[r + 1]:
                out_lows[r + 1] = lo
            elif left and lo - 1 == out_highs[r - 1]:
                out_highs[r - 1] = hi
            else:
                keep[r] = True
        out_lows[r], out_highs[r] = lo, hi
    return out_lows[keep], out_highs[keep]


@njit(cache=True, nogil=True)
def _stretch(lows: np.ndarray, highs: np.ndarray, length: int, min_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Runs of a profile `length` long stretched across the gaps between them so that no energy falls between
    parts, but not across long quiet stretches: a short burst beside a long one would otherwise be measured
    over the noise of the long one's frames."""
    count = lows.shape[0]
    if count <= 1:
        return lows, highs
    reach = 2 * min_gap
    stretched_lows, stretched_highs = np.empty(count, np.int64), np.empty(count, np.int64)
    for i in range(count):
        edge_before = 0 if i == 0 else (highs[i - 1] + lows[i] + 1) // 2
        edge_after = length if i == count - 1 else (highs[i] + lows[i + 1] + 1) // 2
        stretched_lows[i] = max(edge_before, lows[i] - reach)
        stretched_highs[i] = min(edge_after - 1, highs[i] + reach)
    return stretched_lows, stretched_highs


@njit(cache=True, nogil=True)
def pairwise_sum(a: np.ndarray) -> float:
    """Sum of a 1-d float32 or float64 array (any stride) as numpy's add.reduce forms it: pairwise in blocks of at most
    128, each with eight interleaved partial sums."""
    n = a.shape[0]
    if n < 8:
        total = np.float32(0.0)
        for i in range(n):
            total += a[i]
        return total
    if n <= 128:
        p0, p1, p2, p3, p4, p5, p6, p7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
        i = 8
        while i < n - n % 8:
            p0, p1, p2, p3 = p0 + a[i], p1 + a[i + 1], p2 + a[i + 2], p3 + a[i + 3]
            p4, p5, p6, p7 = p4 + a[i + 4], p5 + a[i + 5], p6 + a[i + 6], p7 + a[i + 7]
            i += 8
        total = ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))
        for k in range(i, n):
            total += a[k]
        return total
    half = n // 2
    half -= half % 8
    return pairwise_sum(a[:half]) + pairwise_sum(a[half:])


@njit(cache=True, nogil=True)
def _row_sums(x: np.ndarray) -> np.ndarray:
    """x.sum(axis=1) of a float view, as numpy forms it."""
    out = np.empty(x.shape[0], x.dtype)
    for t in range(x.shape[0]):
        out[t] = pairwise_sum(x[t])
    return out


@njit(cache=True, nogil=True)
def _column_sums(x: np.ndarray) -> np.ndarray:
    """x.sum(axis=0) of a float view, as numpy forms it: row after row, or pairwise down a single column."""
    if x.shape[1] == 1:
        return np.array([pairwise_sum(x[:, 0])], x.dtype)
    out = np.zeros(x.shape[1], x.dtype)
    for t in range(x.shape[0]):
        out += x[t]
    return out


@njit(cache=True, nogil=True)
def _full_sum(x: np.ndarray, full_bins: int) -> float:
    """x.sum() of a float view of rows `full_bins` long, as numpy forms it: pairwise over all of it when it
    is contiguous or one column; otherwise pairwise over the whole rows that fill numpy's 8192-element buffer,
    buffer after buffer."""
    frames, bins = x.shape
    if bins == 1:
        return pairwise_sum(x[:, 0])
    if bins == full_bins or frames == 1:
        return pairwise_sum(x.copy().reshape(frames * bins))
    rows = max(1, 8192 // bins)
    total = np.float32(0.0)
    for t in range(0, frames, rows):
        total += pairwise_sum(x[t : t + rows].copy().reshape(-1))
    return total


@njit(cache=True, nogil=True)
def _mask_counts(m: np.ndarray, per_row: bool) -> np.ndarray:
    """Cells set in each row (frame) of a mask, or in each column (bin)."""
    out = np.zeros(m.shape[0] if per_row else m.shape[1], np.int64)
    for t in range(m.shape[0]):
        for k in range(m.shape[1]):
            out[t if per_row else k] += m[t, k]
    return out


@njit(cache=True, nogil=True)
def _absorbed_level_runs(level: np.ndarray, min_gap: int, min_weak: int) -> tuple[int, np.ndarray, np.ndarray]:
    # segments of equal level as parallel arrays [value, lo, hi]; absorbing one joins it to a neighbour
    n = level.shape[0]
    value = np.empty(n, np.int64)
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    count = 0
    for i in range(n):
        if count > 0 and value[count - 1] == level[i]:
            hi[count - 1] = i
        else:
            value[count], lo[count], hi[count] = level[i], i, i
            count += 1
    changed = True
    while changed and count > 1:
        changed = False
        for index in range(count):
            width = hi[index] - lo[index] + 1
            if value[index] == 0:
                absorbable = 0 < index < count - 1 and width < min_gap
            else:
                absorbable = value[index] == 1 and width < min_weak
            if not absorbable:
                continue
            neighbour = index - 1 if index > 0 and value[index - 1] != 0 else index + 1
            if neighbour >= count or value[neighbour] == 0:
                continue
            lo[neighbour] = min(lo[neighbour], lo[index])
            hi[neighbour] = max(hi[neighbour], hi[index])
            # drop the absorbed segment, then join neighbours that now have equal levels
            kept = 0
            for j in range(count):
                if j == index:
                    continue
                if kept > 0 and value[kept - 1] == value[j]:
                    hi[kept - 1] = hi[j]
                else:
                    value[kept], lo[kept], hi[kept] = value[j], lo[j], hi[j]
                    kept += 1
            count = kept
            changed = True
            break
    runs = 0
    for i in range(count):
        if value[i] != 0:
            lo[runs], hi[runs] = lo[i], hi[i]
            runs += 1
    return runs, lo[:runs].copy(), hi[:runs].copy()


def merge_fragments(
    regions: list[Region], measurements: list[Measurement], tolerance_frames: float = 1.5
) -> list[tuple[Region, Measurement | None]]:
    """Join regions that are pieces of one emission: same start and end, touching in frequency.

    Cutting a short wideband burst (an SRS symbol, an impulse) along noisy frequency profiles can leave
    it in pieces that start and end together; separate emissions side by side rarely do.
    Returns each resulting region with its measurement, or None for a merged region to measure again.
    """
    groups: list[list] = []  # [region, measurement or None, start, end, high edge (bins)]
    for i in sorted(range(len(regions)), key=lambda i: measurements[i].low_bin):
        region, m = regions[i], measurements[i]
        tolerance = max(tolerance_frames, 0.1 * (m.end_frame - m.start_frame))
        width = m.high_bin - m.low_bin
        for group in groups:
            other, _, start, end, high = group
            same_time = abs(m.start_frame - start) <= tolerance and abs(m.end_frame - end) <= tolerance
            if same_time and m.low_bin - high <= max(3.0, 0.25 * width):
                group[0] = Region(
                    min(region.frame0, other.frame0),
                    max(region.frame1, other.frame1),
                    min(region.bin0, other.bin0),
                    max(region.bin1, other.bin1),
                    region.split or other.split,
                )
                group[1] = None
                group[2:] = [min(start, m.start_frame), max(end, m.end_frame), max(high, m.high_bin)]
                break
        else:
            groups.append([region, m, m.start_frame, m.end_frame, m.high_bin])
    return [(g[0], g[1]) for g in groups]


def measure(
    region: Region,
    z: np.ndarray,
    floor_per_bin: np.ndarray,
    config: SegmentationConfig = SegmentationConfig(),
) -> Measurement | None:
    """Extent and levels of the emission inside `region` (see module docstring); None if empty.

    The region is widened by `margin_frames` and `margin_bins` so that each edge has a cell on its
    outer side to interpolate the crossing against.
    """
    f0, b0, excess = widened_excess(region, z, config)
    if excess.size == 0:
        return None
    found, start, end, low_edge, high_edge, power, noise_power, peak, z_sum, frames, bins = _measure_kernel(
        excess, floor_per_bin[b0:], config.edge_fraction, config.edge_sigma
    )
    if not found:
        return None
    return Measurement(
        start_frame=f0 + start,
        end_frame=f0 + end,
        low_bin=b0 + low_edge,
        high_bin=b0 + high_edge,
        power=max(power, 1e-30),
        noise_power=noise_power,
        peak_bin=b0 + peak,
        z_sum=z_sum,
        frames=frames,
        bins=bins,
    )


@njit(cache=True, nogil=True)
def _measure_kernel(
    excess: np.ndarray, floor_per_bin: np.ndarray, edge_fraction: float, edge_sigma: float
) -> tuple[bool, float, float, float, float, float, float, int, float, int, int]:
    """`measure` on the widened region's excess (float64, frames x bins) and the floor from its first bin on:
    whether a burst was found, its start, end, low and high edge (fractional frames and bins of excess), power,
    noise power, peak bin, sum of Z over its cells and their frames and bins. Sums in numpy's order."""
    nothing = (False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0, 0)
    if _row_sums(excess).max() <= 0:
        return nothing
    freq_profile, core_count = core_profile(excess)
    peak = int(np.argmax(freq_profile))
    if freq_profile[peak] <= 0:
        return nothing
    # an edge must stand clear of the profile's own noise (about 1/sqrt(frames) per bin, smoothed by 3)
    noise_level = edge_sigma / math.sqrt(3.0 * core_count)
    edge_level = max(edge_fraction * plateau(freq_profile), noise_level)
    low_edge, high_edge = _crossings(freq_profile, peak, edge_level, 2)
    k0 = max(0, math.floor(low_edge + 0.5))
    k1 = min(excess.shape[1] - 1, math.ceil(high_edge - 0.5))
    if k1 < k0:
        return nothing
    floors = floor_per_bin[k0 : k1 + 1]
    time_profile = _row_sums(excess[:, k0 : k1 + 1] * floors)
    if time_profile.max() <= 0:
        return nothing
    top = int(np.argmax(time_profile))
    start, end = _crossings(time_profile, top, 0.5 * plateau(time_profile), 2)
    first, stop = max(0, math.ceil(start)), min(time_profile.shape[0], math.floor(end) + 1)
    if stop <= first:
        first, stop = top, top + 1
    power = pairwise_sum(time_profile[first:stop]) / (stop - first)
    cells = excess[first:stop, k0 : k1 + 1]
    z_sum = _full_sum(cells, excess.shape[1]) + cells.size
    return True, start, end, low_edge, high_edge, power, pairwise_sum(floors), peak, z_sum, stop - first, k1 - k0 + 1


def widened_excess(region: Region, z: np.ndarray, config: SegmentationConfig) -> tuple[int, int, np.ndarray]:
    """First frame, first bin and Z - 1 (float64) of `region` widened by the segmentation margins."""
    f0 = max(0, region.frame0 - config.margin_frames)
    f1 = min(z.shape[0] - 1, region.frame1 + config.margin_frames)
    b0 = max(0, region.bin0 - config.margin_bins)
    b1 = min(z.shape[1] - 1, region.bin1 + config.margin_bins)
    return f0, b0, z[f0 : f1 + 1, b0 : b1 + 1].astype(np.float64) - 1.0


@njit(cache=True, nogil=True)
def core_frames(time_profile: np.ndarray) -> np.ndarray:
    """Frames well inside the burst: frames that straddle an abrupt start or end spread the burst's
    power over every bin (a click), so they would widen the measured band of a strong burst.
    `time_profile`: float64."""
    core = time_profile >= 0.7 * plateau(time_profile)
    if not core.any():  # no frame stands above the floor (no plateau): every frame is as much core as any
        return np.ones_like(core)
    inner = core.copy()
    inner[1:] &= core[:-1]
    inner[:-1] &= core[1:]
    return inner if inner.any() else core


@njit(cache=True, nogil=True)
def core_profile(excess: np.ndarray) -> tuple[np.ndarray, int]:
    """The 3-bin smoothed mean excess over the core frames of `excess` (float64, frames x bins), and how many
    core frames there are: smooth3(excess[core_frames(excess.sum(axis=1))].mean(axis=0)), summed as numpy does."""
    core = core_frames(_row_sums(excess))
    rows = np.flatnonzero(core)
    core_excess = np.empty((rows.shape[0], excess.shape[1]), np.float64)
    for i in range(rows.shape[0]):
        core_excess[i] = excess[rows[i]]
    return _smooth3_kernel(_column_sums(core_excess) / rows.shape[0]), rows.shape[0]


@njit(cache=True, nogil=True)
def plateau(profile: np.ndarray) -> float:
    """Typical level of a burst's body in a profile (float64): the median of the values above half of a robust
    maximum (the tenth-highest share of values), so a spike riding on the burst does not set it and
    the noise around a short burst does not dilute it."""
    ranked = np.sort(profile)
    n = ranked.shape[0]
    robust_max = ranked[n - 1 - min(n - 1, n // 10)]
    return np.median(ranked[np.searchsorted(ranked, 0.5 * robust_max) :])


def smooth3(profile: np.ndarray) -> np.ndarray:
    """3-point moving average that keeps the length (edges repeat the end values)."""
    return _smooth3_kernel(np.asarray(profile, np.float64))


@njit(cache=True, nogil=True)
def _smooth3_kernel(profile: np.ndarray) -> np.ndarray:
    n = profile.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = (profile[max(i - 1, 0)] + profile[i] + profile[min(i + 1, n - 1)]) / 3.0
    return out


@njit(cache=True, nogil=True)
def _crossings(profile: np.ndarray, peak: int, level: float, max_dip: int) -> tuple[float, float]:
    """Fractional indices where `profile` (float64) crosses `level` on either side of `peak`, interpolated
    linearly.

    Dips below the level inside the span (a DMRS comb, a notched DC bin, the noise of a long weak burst)
    do not end it if they are at most `max_dip` cells or a quarter of the span found so far. Where the
    profile is still above the level at the end of the array, the edge is half a cell beyond it.
    """
    n = profile.shape[0]
    lo = hi = peak
    grown = True
    while grown:
        grown = False
        allowed = max(max_dip, (hi - lo) // 4)
        for i in range(lo - 1, max(-1, lo - 2 - allowed), -1):
            if profile[i] >= level:
                lo, grown = i, True
                break
        for i in range(hi + 1, min(n, hi + 2 + allowed)):
            if profile[i] >= level:
                hi, grown = i, True
                break
    lower = lo - 0.5
    if lo > 0:
        a, b = profile[lo - 1], profile[lo]
        lower = max(lo - (b - level) / (b - a), lo - 1.0) if b != a else lo - 0.5
    upper = hi + 0.5
    if hi < n - 1:
        a, b = profile[hi], profile[hi + 1]
        upper = min(hi + (a - level) / (a - b), hi + 1.0) if a != b else hi + 0.5
    return lower, upper
