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
    if count == 0:
        return []
    seeded = np.unique(labels[seeds])
    seeded = seeded[seeded > 0]
    boxes = ndimage.find_objects(labels)
    regions: list[Region] = []
    for label in seeded:
        rows, cols = boxes[label - 1]
        mask_tiles = labels[rows, cols] == label
        mask = np.repeat(mask_tiles, tile_bins, axis=1)
        excess = (z[rows, cols.start * tile_bins : cols.stop * tile_bins] - 1.0) * mask
        parts = _xy_cut(excess, mask, 0, config)
        for f0, f1, b0, b1 in parts:
            bin0, bin1 = cols.start * tile_bins + b0, cols.start * tile_bins + b1
            regions.append(Region(rows.start + f0, rows.start + f1, bin0, bin1, split=len(parts) > 1))
    return regions


def _xy_cut(
    excess: np.ndarray, mask: np.ndarray, depth: int, config: SegmentationConfig
) -> list[tuple[int, int, int, int]]:
    """Recursively cut a component where its time or frequency profile drops to noise."""
    frames, bins = excess.shape
    whole = [(0, frames - 1, 0, bins - 1)]
    if depth >= config.max_split_depth:
        return whole
    for axis, min_gap in ((0, config.min_gap_frames), (1, config.min_gap_bins)):
        profile = excess.sum(axis=1 - axis)
        cells = np.maximum(mask.sum(axis=1 - axis), 1)
        runs = _active_runs(profile, cells, min_gap, config)
        if axis == 1:  # in time, short weak stretches (ramps) are already absorbed by _active_runs
            runs = _join_skirts(runs, excess, mask, axis, config)
        runs = _stretch(runs, len(profile), min_gap)
        if len(runs) > 1:
            parts = []
            for lo, hi in runs:
                sub = excess[lo : hi + 1] if axis == 0 else excess[:, lo : hi + 1]
                sub_mask = mask[lo : hi + 1] if axis == 0 else mask[:, lo : hi + 1]
                for f0, f1, b0, b1 in _xy_cut(sub, sub_mask, depth + 1, config):
                    if axis == 0:
                        parts.append((lo + f0, lo + f1, b0, b1))
                    else:
                        parts.append((f0, f1, lo + b0, lo + b1))
            return parts
    return whole


def _join_skirts(
    runs: list[tuple[int, int]], excess: np.ndarray, mask: np.ndarray, axis: int, config: SegmentationConfig
) -> list[tuple[int, int]]:
    """Rejoin a weak part to its strong neighbour when it lives exactly where the strong one does.

    The spectral skirt of a strong burst (or the ramp of a long one) is weak and beside it, but it
    occupies the same frames (bins) as the burst itself; a separate weak emission has a support of its
    own along the other axis. A skirt also lies beside its burst, within two gaps of it: a part further off is
    an emission of its own even where it lies inside the other's frames (a short burst beside a long one).
    """
    if len(runs) < 2:
        return runs
    runs = list(runs)
    min_gap = config.min_gap_frames if axis == 0 else config.min_gap_bins
    supports = [_support(excess, mask, lo, hi, axis, config) for lo, hi in runs]
    levels = [excess[lo : hi + 1].mean() if axis == 0 else excess[:, lo : hi + 1].mean() for lo, hi in runs]
    i = 0
    while i < len(runs) - 1:
        weak, strong = (i, i + 1) if levels[i] < levels[i + 1] else (i + 1, i)
        inside = np.count_nonzero(supports[weak] & supports[strong])
        beside = runs[i + 1][0] - runs[i][1] - 1 <= 2 * min_gap
        if beside and (
            levels[weak] < config.split_fraction * levels[strong] * 2
            and inside >= 0.8 * max(np.count_nonzero(supports[weak]), 1)
        ):
            runs[i : i + 2] = [(runs[i][0], runs[i + 1][1])]
            supports[i : i + 2] = [supports[i] | supports[i + 1]]
            levels[i : i + 2] = [max(levels[i], levels[i + 1])]
        else:
            i += 1
    return runs


def _support(
    excess: np.ndarray, mask: np.ndarray, lo: int, hi: int, axis: int, config: SegmentationConfig
) -> np.ndarray:
    """Where along the other axis the part [lo, hi] of `axis` holds significant excess."""
    part = excess[lo : hi + 1] if axis == 0 else excess[:, lo : hi + 1]
    part_mask = mask[lo : hi + 1] if axis == 0 else mask[:, lo : hi + 1]
    profile = smooth3(part.sum(axis=axis))
    cells = np.maximum(part_mask.sum(axis=axis), 1)
    return profile > config.split_sigma * np.sqrt(2.0 * cells / 3.0)


def _active_runs(
    profile: np.ndarray, cells: np.ndarray, min_gap: int, config: SegmentationConfig
) -> list[tuple[int, int]]:
    """Parts of a component along one axis that are separate emissions: runs that each hold significant
    energy, separated by quiet gaps or by a fall of more than 1/`split_fraction` in level.

    The profile is the excess summed across the other axis over `cells` cells; its 3-point smoothed mean
    per cell is *significant* above `split_sigma` noise standard deviations (adjacent Hann bins are
    correlated: about twice the variance of independent ones) and *strong* above `split_fraction` of the
    peak. A significant but weak stretch at least `weak_part_factor` gaps long beside a strong one is a
    weaker emission in its own right (a weak wide PUSCH under a strong one-block PUSCH); shorter weak
    stretches are the skirts of the strong one.
    """
    mean = smooth3(profile / cells)
    noise_sigma = np.sqrt(2.0 / (3.0 * cells))
    significant = mean > config.split_sigma * noise_sigma
    level = np.where(significant, np.where(mean > config.split_fraction * mean.max(), 2, 1), 0)
    runs = _level_runs(level, min_gap, config.weak_part_factor * min_gap)
    runs = [
        (lo, hi)
        for lo, hi in runs
        if profile[lo : hi + 1].sum() > 2 * config.split_sigma * np.sqrt(2.0 * cells[lo : hi + 1].sum())
    ]
    return runs


def _stretch(runs: list[tuple[int, int]], length: int, min_gap: int) -> list[tuple[int, int]]:
    """Runs of a profile `length` long stretched across the gaps between them so that no energy falls between
    parts, but not across long quiet stretches: a short burst beside a long one would otherwise be measured
    over the noise of the long one's frames."""
    if len(runs) <= 1:
        return runs
    reach = 2 * min_gap
    edges = [0] + [(runs[i][1] + runs[i + 1][0] + 1) // 2 for i in range(len(runs) - 1)] + [length]
    return [(max(edges[i], lo - reach), min(edges[i + 1] - 1, hi + reach)) for i, (lo, hi) in enumerate(runs)]


def _level_runs(level: np.ndarray, min_gap: int, min_weak: int) -> list[tuple[int, int]]:
    """Runs of constant non-zero level; quiet gaps shorter than `min_gap` and weak (level 1) stretches
    shorter than `min_weak` are absorbed by their neighbours."""
    count, lows, highs = _absorbed_level_runs(level.astype(np.int64), min_gap, min_weak)
    return [(int(lows[i]), int(highs[i])) for i in range(count)]


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
    coarse_time = excess.sum(axis=1)
    if coarse_time.max() <= 0:
        return None
    core = core_frames(coarse_time)
    freq_profile = smooth3(excess[core].mean(axis=0))
    peak = int(np.argmax(freq_profile))
    if freq_profile[peak] <= 0:
        return None
    # an edge must stand clear of the profile's own noise (about 1/sqrt(frames) per bin, smoothed by 3)
    noise_level = config.edge_sigma / math.sqrt(3.0 * np.count_nonzero(core))
    edge_level = max(config.edge_fraction * plateau(freq_profile), noise_level)
    low_edge, high_edge = _crossings(freq_profile, peak, edge_level)
    k0 = max(0, math.floor(low_edge + 0.5))
    k1 = min(excess.shape[1] - 1, math.ceil(high_edge - 0.5))
    if k1 < k0:
        return None
    floors = floor_per_bin[b0 + k0 : b0 + k1 + 1]
    time_profile = (excess[:, k0 : k1 + 1] * floors).sum(axis=1)
    if time_profile.max() <= 0:
        return None
    start, end = _crossings(time_profile, int(np.argmax(time_profile)), 0.5 * plateau(time_profile))
    inside = slice(max(0, math.ceil(start)), min(len(time_profile), math.floor(end) + 1))
    if inside.stop <= inside.start:
        top = int(np.argmax(time_profile))
        inside = slice(top, top + 1)
    power = float(time_profile[inside].mean())
    cells = excess[inside, k0 : k1 + 1]
    return Measurement(
        start_frame=f0 + start,
        end_frame=f0 + end,
        low_bin=b0 + low_edge,
        high_bin=b0 + high_edge,
        power=max(power, 1e-30),
        noise_power=float(floors.sum()),
        peak_bin=b0 + peak,
        z_sum=float(cells.sum()) + cells.size,
        frames=cells.shape[0],
        bins=cells.shape[1],
    )


def widened_excess(region: Region, z: np.ndarray, config: SegmentationConfig) -> tuple[int, int, np.ndarray]:
    """First frame, first bin and Z - 1 (float64) of `region` widened by the segmentation margins."""
    f0 = max(0, region.frame0 - config.margin_frames)
    f1 = min(z.shape[0] - 1, region.frame1 + config.margin_frames)
    b0 = max(0, region.bin0 - config.margin_bins)
    b1 = min(z.shape[1] - 1, region.bin1 + config.margin_bins)
    return f0, b0, z[f0 : f1 + 1, b0 : b1 + 1].astype(np.float64) - 1.0


def core_frames(time_profile: np.ndarray) -> np.ndarray:
    """Frames well inside the burst: frames that straddle an abrupt start or end spread the burst's
    power over every bin (a click), so they would widen the measured band of a strong burst."""
    core = time_profile >= 0.7 * plateau(time_profile)
    if not core.any():  # no frame stands above the floor (no plateau): every frame is as much core as any
        return np.ones_like(core)
    inner = core.copy()
    inner[1:] &= core[:-1]
    inner[:-1] &= core[1:]
    return inner if inner.any() else core


def plateau(profile: np.ndarray) -> float:
    """Typical level of a burst's body in a profile: the median of the values above half of a robust
    maximum (the tenth-highest share of values), so a spike riding on the burst does not set it and
    the noise around a short burst does not dilute it."""
    return _plateau_kernel(np.asarray(profile, np.float64))


@njit(cache=True, nogil=True)
def _plateau_kernel(profile: np.ndarray) -> float:
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


def _crossings(profile: np.ndarray, peak: int, level: float, max_dip: int = 2) -> tuple[float, float]:
    """Fractional indices where `profile` crosses `level` on either side of `peak`, interpolated linearly.

    Dips below the level inside the span (a DMRS comb, a notched DC bin, the noise of a long weak burst)
    do not end it if they are at most `max_dip` cells or a quarter of the span found so far. Where the
    profile is still above the level at the end of the array, the edge is half a cell beyond it.
    """
    return _crossings_kernel(np.asarray(profile, np.float64), peak, float(level), max_dip)


@njit(cache=True, nogil=True)
def _crossings_kernel(profile: np.ndarray, peak: int, level: float, max_dip: int) -> tuple[float, float]:
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
