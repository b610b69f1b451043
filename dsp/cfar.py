"""CFAR detection on the floor-normalised spectrogram with a bank of matched time-frequency boxes.

The normalised spectrogram Z = |X|^2 / floor is unit-mean exponential where there is only noise.
The ideal energy detector for a burst of duration T and bandwidth B sums about T*B such cells; a
single-cell threshold would need far more SNR. So Z is summed over a small bank of boxes matched to the
shapes phones transmit (GSM slots, LTE/NR slots and subframes, 1..8 resource blocks), each box compared
with the threshold that gives the configured false-alarm probability per test for that box's sum under
noise. Sums are built from 1-frame x `tile_bins` tiles with running sums, so each box costs O(1) per tile.

Adjacent Hann-windowed bins and 50 %-overlapped frames are correlated, so a box of n cells behaves like
n/c independent ones; c is computed from the window, and the sum's tail is taken as a Gamma with the
same mean and variance.

Besides the seeds, lower thresholds on small boxes give the region a seed may grow into (hysteresis);
a grown region is kept only if its own sum passes `verify_false_alarm_probability` for its size
(`large_region_false_alarm_probability` for regions too large to be a noise blob).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import gammainccinv  # not scipy.stats: importing it costs a sensor 45 MB of RSS

from dsp.spectrum import SpectrumGeometry

SEARCH_ROWS = 128  # start frames whose time sums are searched together (33 KB at 64 tiles: in cache)


@dataclass(frozen=True, slots=True)
class CfarConfig:
    false_alarm_probability: float = 1e-10
    low_false_alarm_probability: float = 0.02
    tile_bins: int = 4
    box_durations_s: tuple[float, ...] = (0.00015, 0.0003, 0.00055, 0.001, 0.002)
    box_bandwidths_hz: tuple[float, ...] = (180e3, 360e3, 720e3, 1.44e6)
    # region (hysteresis) boxes: (duration_s, bandwidth_hz, false-alarm probability); a box over its
    # threshold marks its whole footprint as region a seed may grow into
    region_boxes: tuple[tuple[float, float, float], ...] = ((0.0001, 75e3, 0.02), (0.0003, 150e3, 1e-3))
    verify_false_alarm_probability: float = 1e-5
    # Seeds of big boxes can land on small noise blobs beside a strong burst; a region the size of a
    # resource block over a subframe cannot be such a blob, so it is held to a looser test.
    large_region_cells: int = 400
    large_region_false_alarm_probability: float = 1e-3
    # the per-bin floor is an estimate, a few per cent off in any bin and up to about a fifth where a dwell's
    # seed or the tracker's walk has it low; a region whose mean excess is under this could be that error
    floor_uncertainty: float = 0.25


@dataclass(frozen=True)
class BoxBank:
    """Box sizes in frames x tiles and their thresholds on the sum of Z."""

    frames: np.ndarray  # int64 (n_boxes,)
    tiles: np.ndarray  # int64 (n_boxes,)
    thresholds: np.ndarray  # float32 (n_boxes,)
    is_seed: np.ndarray  # bool (n_boxes,): seed box (marks its centre) or region box (marks its footprint)
    tile_bins: int

    @classmethod
    def build(cls, geometry: SpectrumGeometry, config: CfarConfig = CfarConfig()) -> BoxBank:
        frame_s = geometry.nfft / geometry.sample_rate_hz
        tile_hz = geometry.bin_hz * config.tile_bins
        ntiles = geometry.nfft // config.tile_bins
        shapes: list[tuple[int, int, float, bool]] = []
        wanted = [
            (d, b, config.false_alarm_probability, True)
            for d in config.box_durations_s
            for b in config.box_bandwidths_hz
        ]
        wanted += [(d, b, p, False) for d, b, p in config.region_boxes]
        for duration_s, bandwidth_hz, probability, is_seed in wanted:
            kt = max(1, round((duration_s - frame_s) / geometry.hop_s) + 1)
            kf = min(ntiles, max(1, round(bandwidth_hz / tile_hz)))
            if all((kt, kf, is_seed) != (s[0], s[1], s[3]) for s in shapes):
                shapes.append((kt, kf, probability, is_seed))
        return cls(
            np.array([s[0] for s in shapes], np.int64),
            np.array([s[1] for s in shapes], np.int64),
            np.array(
                [box_sum_threshold(geometry, kt, kf * config.tile_bins, p) for kt, kf, p, _ in shapes],
                np.float32,
            ),
            np.array([s[3] for s in shapes], np.bool_),
            config.tile_bins,
        )

    @property
    def max_frames(self) -> int:
        return int(self.frames.max())


def correlation_inflation(geometry: SpectrumGeometry, frames: int, bins: int) -> float:
    """Var(sum of Z over frames x bins) / (frames * bins) for white noise through the Hann STFT.

    |X|^2 of two cells correlate by |rho|^2, where rho is the window's normalised overlap (in time)
    or the normalised DFT of w^2 (in frequency).
    """
    w = geometry.window().astype(np.float64)
    w2 = w * w
    energy = w2.sum()
    freq_rho2 = np.abs(np.fft.fft(w2) / energy) ** 2
    time_rho2 = np.array(
        [
            np.dot(w[: len(w) - h * geometry.hop], w[h * geometry.hop :]) ** 2 / energy**2
            for h in range(len(w) // geometry.hop)
        ]
    )

    def along(rho2: np.ndarray, n: int) -> float:
        lags = np.arange(1, min(n, len(rho2)))
        return 1.0 + 2.0 * float(np.sum((1 - lags / n) * rho2[lags]))

    return along(freq_rho2, bins) * along(time_rho2, frames)


@functools.lru_cache(maxsize=4096)  # a sensor builds a detector per dwell: the Gamma quantiles are the costly part
def box_sum_threshold(geometry: SpectrumGeometry, frames: int, bins: int, false_alarm_probability: float) -> float:
    """Threshold on a box sum of Z with the given false-alarm probability under noise."""
    n = frames * bins
    c = correlation_inflation(geometry, frames, bins)
    return float(c * gammainccinv(n / c, false_alarm_probability))  # Gamma(n/c, scale c) upper quantile


@njit(cache=True, nogil=True)
def tile_sums(z: np.ndarray, tile_bins: int, out: np.ndarray) -> None:
    """out[t, j] = sum of z[t, j*tile_bins : (j+1)*tile_bins]."""
    if tile_bins == 4:  # the default, spelled out so that the compiler vectorises the strided loads
        for t in range(out.shape[0]):
            row, tiles = z[t], out[t]
            for j in range(out.shape[1]):
                tiles[j] = (row[4 * j] + row[4 * j + 1]) + (row[4 * j + 2] + row[4 * j + 3])
        return
    for t in range(out.shape[0]):
        row, tiles = z[t], out[t]
        for j in range(out.shape[1]):
            acc = np.float32(0.0)
            for k in range(j * tile_bins, (j + 1) * tile_bins):
                acc += row[k]
            tiles[j] = acc


@njit(cache=True, nogil=True)
def box_detections(
    tiles_map: np.ndarray,
    box_frames: np.ndarray,
    box_tiles: np.ndarray,
    thresholds: np.ndarray,
    is_seed: np.ndarray,
    seeds: np.ndarray,
    region: np.ndarray,
) -> None:
    """Mark seeds (centre tile of every seed box whose sum exceeds its threshold) and the region
    (footprint of every region box over its threshold, and every seed).

    Box sums come from one integral image (float64, so long buffers keep their precision). Boxes are
    placed on a grid of a quarter of their own size, and a seed box over its threshold marks the
    centres of all the positions its grid cell stands for. For each box duration and start frame the
    difference of two integral rows is the running sum along frequency of that duration's time sums,
    so a box costs one subtraction per position, and a block of start frames is searched for a crossing at
    every position (vectorised) before its rows and the grid's positions are looked at. The region only
    matters around seeds, so without a seed it is left empty.
    tiles_map: float32 (frames, ntiles), non-negative (sums of Z). seeds, region: bool (frames, ntiles),
    cleared by the caller.
    """
    integral = _integral_image(tiles_map)
    if _search_boxes(integral, box_frames, box_tiles, thresholds, is_seed, True, seeds, region):
        _search_boxes(integral, box_frames, box_tiles, thresholds, is_seed, False, seeds, region)


@njit(cache=True, nogil=True)
def _integral_image(tiles_map: np.ndarray) -> np.ndarray:
    """integral[t, j] = the sum of tiles_map[:t, :j], in float64 (so long buffers keep their precision).

    A row's running sum along frequency is one chain of dependent additions; four rows are summed side by side
    so that their chains overlap (1.7x faster than row by row, with the same additions in the same order). Each
    row is written whole in one go: a first pass down the zero column, over memory just allocated, cost the
    detector more than the overlap saves."""
    frames, ntiles = tiles_map.shape
    integral = np.empty((frames + 1, ntiles + 1), np.float64)
    integral[0, :] = 0.0
    grouped = frames - frames % 4
    for t in range(0, grouped, 4):
        above, row0, row1, row2, row3 = integral[t], integral[t + 1], integral[t + 2], integral[t + 3], integral[t + 4]
        tiles0, tiles1, tiles2, tiles3 = tiles_map[t], tiles_map[t + 1], tiles_map[t + 2], tiles_map[t + 3]
        row0[0] = row1[0] = row2[0] = row3[0] = 0.0
        acc0 = acc1 = acc2 = acc3 = 0.0
        for j in range(ntiles):
            acc0 += tiles0[j]
            acc1 += tiles1[j]
            acc2 += tiles2[j]
            acc3 += tiles3[j]
            sum0 = above[j + 1] + acc0
            sum1 = sum0 + acc1
            sum2 = sum1 + acc2
            row0[j + 1], row1[j + 1], row2[j + 1], row3[j + 1] = sum0, sum1, sum2, sum2 + acc3
    for t in range(grouped, frames):
        integral[t + 1, 0] = 0.0
        acc = 0.0
        for j in range(ntiles):
            acc += tiles_map[t, j]
            integral[t + 1, j + 1] = integral[t, j + 1] + acc
    return integral


@njit(cache=True, nogil=True)
def _search_boxes(
    integral: np.ndarray,
    box_frames: np.ndarray,
    box_tiles: np.ndarray,
    thresholds: np.ndarray,
    is_seed: np.ndarray,
    seed_boxes: bool,
    seeds: np.ndarray,
    region: np.ndarray,
) -> bool:
    """Search the seed boxes (or the region boxes) of the bank; returns whether any crossed.

    The time sums of `SEARCH_ROWS` start frames are laid out as one flat float32 array, so that a box is
    tested at every position of all those rows in one long vectorised loop: loops over one row's few dozen
    positions spend most of their time outside their vector body, and float32 fills twice the lanes of
    float64. Those sums are within 2^-22 of the largest time sum of the exact ones, so the block is tested
    against the threshold lowered by more than that; only rows of a block that passes are tested exactly
    (float64 sums, formed once per block for all the boxes of its duration), one by one, so the result is
    the float64 test's.
    """
    frames, ntiles = integral.shape[0] - 1, integral.shape[1] - 1
    width = ntiles + 1
    block = np.empty((SEARCH_ROWS, width), np.float32)
    exact = np.empty((SEARCH_ROWS, width), np.float64)
    hits = np.empty(ntiles, np.uint8)  # uint8 rather than bool, so that ORs of them vectorise
    footprints = np.empty(ntiles, np.bool_)
    # the seed centres of a block's rows, from every box of its duration, laid over seeds and region once
    centres = np.zeros((SEARCH_ROWS, ntiles), np.uint8)
    centred = np.zeros(SEARCH_ROWS, np.bool_)
    rounding = 1e-12 * integral[frames, ntiles]  # the float64 sums' own error, far above it
    crossed = False
    nboxes = box_frames.shape[0]
    for first in range(nboxes):
        kt = box_frames[first]
        if kt > frames or _seen_before(box_frames, first, kt):
            continue  # each duration is searched once, with every box of that duration
        # a box is tried every quarter of its size: at most 1/8 of it falls outside a burst it matches
        step_t = max(1, kt // 4)
        starts = (frames - kt) // step_t + 1
        for row0 in range(0, starts, SEARCH_ROWS):
            rows = min(SEARCH_ROWS, starts - row0)
            _time_sums(integral, kt, row0 * step_t, step_t, block[:rows])
            flat = block[:rows].reshape(rows * width)
            exact_ready = False  # the float64 sums, formed once for every box of this duration that needs them
            largest = 0.0  # time sums grow along frequency: the last of each row is its largest
            for r in range(rows):
                t0 = (row0 + r) * step_t
                largest = max(largest, integral[t0 + kt, ntiles] - integral[t0, ntiles])
            for b in range(first, nboxes):
                kf = box_tiles[b]
                if box_frames[b] != kt or kf > ntiles or is_seed[b] != seed_boxes:
                    continue
                thr = thresholds[b]
                lowered = np.float32(thr - 2.0**-18 * (largest + thr) - rounding)
                # positions that straddle two rows are tested too: they only cost a closer look at the block
                if not _any_exceeds(flat, kf, lowered):
                    continue
                if not exact_ready:
                    _time_sums(integral, kt, row0 * step_t, step_t, exact[:rows])
                    exact_ready = True
                positions = ntiles - kf + 1
                step_f = max(1, kf // 4)
                for r in range(rows):
                    t0 = (row0 + r) * step_t
                    if not _row_exceeds(exact[r], kf, positions, thr, hits):
                        continue
                    if not seed_boxes:
                        crossed |= _mark_footprints(hits, positions, step_f, kf, footprints, region, t0, kt)
                        continue
                    if step_f == 1:  # every position is on the grid: a plain OR, which the compiler vectorises
                        row = centres[r, kf // 2 : kf // 2 + positions]
                        for j in range(positions):
                            row[j] |= hits[j]
                        crossed = centred[r] = True
                        continue
                    for j in range(0, positions, step_f):
                        if hits[j]:
                            # the centres of the step x step positions this one stands for
                            crossed = centred[r] = True
                            for k in range(j + kf // 2, min(j + kf // 2 + step_f, ntiles)):
                                centres[r, k] = 1
            for r in range(rows):
                if centred[r]:
                    t0 = (row0 + r) * step_t + kt // 2
                    for t in range(t0, min(t0 + step_t, frames)):
                        for k in range(ntiles):
                            seeds[t, k] |= centres[r, k] != 0
                            region[t, k] |= centres[r, k] != 0
                    centres[r] = 0
                    centred[r] = False
    return crossed


@njit(cache=True, nogil=True)
def _time_sums(integral: np.ndarray, frames: int, t0: int, step: int, out: np.ndarray) -> None:
    """out[r, j] = integral[t0 + r*step + frames, j] - integral[t0 + r*step, j]: the sums over `frames` frames
    from each start, cumulated along frequency, rounded to out's type. Consecutive starts are one flat loop
    over contiguous rows."""
    width = integral.shape[1]
    rows = out.shape[0]
    if step == 1:
        ahead = integral[t0 + frames : t0 + frames + rows].reshape(rows * width)
        behind = integral[t0 : t0 + rows].reshape(rows * width)
        flat = out.reshape(rows * width)
        for i in range(rows * width):
            flat[i] = ahead[i] - behind[i]
        return
    for r in range(rows):
        ahead, behind, row = integral[t0 + r * step + frames], integral[t0 + r * step], out[r]
        for j in range(width):
            row[j] = ahead[j] - behind[j]


@njit(cache=True, nogil=True, inline="always")
def _mark_footprints(
    hits: np.ndarray,
    positions: int,
    step: int,
    tiles: int,
    footprints: np.ndarray,
    cells: np.ndarray,
    t0: int,
    frames: int,
) -> bool:
    """cells[t0 : t0+frames, j : j+tiles] = True for every j < positions on the `step` grid with hits[j];
    whether there was any. The footprints of one start frame share their frames, so their union along
    frequency is formed once and laid over those frames (overlapping boxes marked one by one cost 16x)."""
    footprints[:] = False
    ntiles = footprints.shape[0]
    any_hit = False
    for j in range(0, positions, step):
        if hits[j]:
            any_hit = True
            for k in range(j, min(j + tiles, ntiles)):
                footprints[k] = True
    if any_hit:
        for t in range(t0, min(t0 + frames, cells.shape[0])):
            row = cells[t]
            for k in range(ntiles):
                row[k] |= footprints[k]
    return any_hit


@njit(cache=True, nogil=True, inline="always")
def _seen_before(values: np.ndarray, index: int, value: int) -> bool:
    return bool(np.any(values[:index] == value))


@njit(cache=True, nogil=True, inline="always")
def _any_exceeds(running: np.ndarray, width: int, threshold: float) -> bool:
    """Whether running[j + width] - running[j] > threshold for any j."""
    ahead = running[width:]
    behind = running[: running.shape[0] - width]
    any_hit = False
    for j in range(ahead.shape[0]):
        any_hit |= ahead[j] - behind[j] > threshold
    return any_hit


@njit(cache=True, nogil=True, inline="always")
def _row_exceeds(running: np.ndarray, width: int, positions: int, threshold: float, hits: np.ndarray) -> bool:
    """hits[j] = running[j + width] - running[j] > threshold for j < positions; whether any is.

    Written as an OR over slices so that the compiler vectorises it (a running maximum does not)."""
    ahead = running[width : width + positions]
    behind = running[:positions]
    any_hit = False
    for j in range(positions):
        hit = ahead[j] - behind[j] > threshold
        hits[j] = hit
        any_hit |= hit
    return any_hit
