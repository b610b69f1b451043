"""Shared pieces of evidence the classifiers weigh: soft likelihoods, measurement noise, timing grids."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from dsp.classify.base import Candidate, Neighbours

GSM_FRAME_S = 120e-3 / 26  # 4.615 ms TDMA frame
LTE_SLOT_S = 0.5e-3
# ranges over which the broad models spread their probability evenly; shared so that no model gains
# by the width of its own range: nothing measured can be wider than the capture or longer than a dwell
MAX_BANDWIDTH_KHZ = 2.56e3
MAX_DURATION_MS = 250.0
KURTOSIS_RANGE = 5.0
KURTOSIS_FLOOR = -16.0
PRB_KHZ = 180.0  # one resource block at 15 kHz: no LTE or NR uplink burst is narrower (a PUCCH slot is one)
WIDTH_FLOOR = -10.0
DURATION_FLOOR = -10.0
BRIEF_PART_S = 0.15e-3  # 2.4-2.8 frame hops at 2.048-2.4 MS/s
BRIEF_PART_WIDTH_SPREAD_KHZ = 40.0


def log_uniform(width: float) -> float:
    return -math.log(width)


def log_gauss(x: float, mean: float, sigma: float, floor: float = -10.0, sigma_below: float | None = None) -> float:
    """log N(x; mean, sigma) without the constant, bounded below by `floor` so one odd feature can't veto
    alone (measurements have outliers: a burst cut by another, an impulse inside the window).

    `sigma_below`, when given, is the spread below the mean (measurements that can only fall short,
    such as the width of a weak burst).
    """
    if math.isnan(x):
        return 0.0
    spread = sigma_below if sigma_below is not None and x < mean else sigma
    return max(-0.5 * ((x - mean) / spread) ** 2 - math.log(spread), floor)


def log_mixture(
    x: float, components: tuple[tuple[float, float], ...], floor: float = -10.0, sigma_below: float | None = None
) -> float:
    """Best of several Gaussian components (e.g. GSM normal and access burst durations)."""
    return max(log_gauss(x, m, s, floor, sigma_below) for m, s in components)


def width_shortfall_khz(candidate: Candidate) -> float:
    """How far under its true width a burst may be measured (the spread below it): a weak burst's -10 dB
    edges sink into the noise, or only a fragment of it passes.

    Measured on the detector with 1-RB LTE PUSCH, PUCCH slots and 1-PRB NR at 15 kHz (180 kHz; 4680 bursts
    at 3-15 dB truth SNR, the sensitivity bench's clean receiver, 2026-12-05): from 8 dB measured SNR up,
    2120 of 2122 measured 195 kHz or more (the -10 dB width, median 219); 2 % measured under 183 kHz at
    6-7 dB, under 92 kHz at 5-6 dB and under 51 kHz at 3-5 dB. With 5 kHz + 400 kHz / SNR^2 at most 3 % of
    any 1 dB of measured SNR fall more than two spreads under 180 kHz (docs/benchmarks.md, "Bandwidth evidence").
    """
    return 5.0 + 400.0 / max(candidate.snr, 0.3) ** 2


def log_short_of(candidate: Candidate, min_khz: float) -> float:
    """Log-likelihood that a burst at least `min_khz` wide is measured as narrow as the candidate: 0 from
    `min_khz` up, a Gaussian tail of `width_shortfall_khz` below it, never under WIDTH_FLOOR."""
    short = max(min_khz - candidate.bandwidth_hz / 1e3, 0.0) / width_shortfall_khz(candidate)
    return max(-0.5 * short**2, WIDTH_FLOOR)


def width_within(candidate: Candidate, low_khz: float, high_khz: float = MAX_BANDWIDTH_KHZ) -> float:
    """Likelihood (per kHz) of the measured width for bursts spread evenly over `low_khz`..`high_khz`,
    measured up to `width_shortfall_khz` narrower than they are.

    The width of a burst cut by the capture edge is only a lower bound: its likelihood is the probability
    that the burst is at least as wide as the part seen.
    """
    measured = candidate.bandwidth_hz / 1e3
    if candidate.touches_capture_edge:
        at_least = (high_khz - max(measured, low_khz)) / (high_khz - low_khz)
        return max(at_least, math.exp(WIDTH_FLOOR))
    sigma = width_shortfall_khz(candidate)
    tail = sigma * math.sqrt(math.pi / 2) * math.erf(low_khz / (sigma * math.sqrt(2)))  # the tail's mass above 0
    return math.exp(log_short_of(candidate, low_khz)) / (high_khz - low_khz + tail)


def log_width_near(
    candidate: Candidate,
    mean_khz: float,
    sigma_khz: float,
    sigma_below_khz: float | None = None,
    floor: float = -10.0,
    min_khz: float = 0.0,
) -> float:
    """`log_gauss` of the measured width for bursts `mean_khz` wide (as measured: the -10 dB width), with the
    odds of a burst at least `min_khz` wide measured that narrow (`log_short_of`); for a burst cut by the
    capture edge, the log-probability that it is at least as wide as the part seen.

    A part `seen_briefly` is measured wider, by the spread of its edges in the frames it is seen in (GSM bursts
    cut to under 0.15 ms at 12-35 dB measured up to 310 kHz, 95 % under 291; cut parts seen longer, 297 and 275).
    """
    measured = candidate.bandwidth_hz / 1e3
    if candidate.touches_capture_edge:
        at_least = 0.5 * math.erfc((measured - mean_khz) / (sigma_khz * math.sqrt(2)))
        return max(math.log(at_least), floor) if at_least > 0 else floor
    if seen_briefly(candidate):
        sigma_khz = math.hypot(sigma_khz, BRIEF_PART_WIDTH_SPREAD_KHZ)
    near = log_gauss(measured, mean_khz, sigma_khz, floor, sigma_below_khz)
    return max(near + log_short_of(candidate, min_khz), floor)


def seen_briefly(candidate: Candidate) -> bool:
    """True for a burst cut in time and seen for less than BRIEF_PART_S, in a frame or two that each hold an edge
    of the part: neither its band nor its envelope is then measured as a whole burst's."""
    return candidate.cut_in_time and candidate.duration_s < BRIEF_PART_S


def longer_than(seen_ms: float, mean_ms: float, sigma_ms: float) -> float:
    """Probability that a burst `mean_ms` long, measured with `sigma_ms` of noise, lasts at least `seen_ms`."""
    return 0.5 * math.erfc((seen_ms - mean_ms) / (sigma_ms * math.sqrt(2)))


def duration_near(candidate: Candidate, mean_ms: float, sigma_ms: float) -> float:
    """Likelihood (per ms) of the measured duration for bursts `mean_ms` long, measured with `sigma_ms` of noise.

    A burst cut by the start or end of the stream shows only part of its duration, which is then a lower bound
    (the time twin of `width_within`'s cut branch): its likelihood is the probability that the burst is at least
    as long as the part seen. Every duration model below does the same, so all technologies judge a cut burst
    by probabilities, none by a density.
    """
    measured = candidate.duration_s * 1e3
    if candidate.cut_in_time:
        return longer_than(measured, mean_ms, sigma_ms)
    return math.exp(log_gauss(measured, mean_ms, sigma_ms, floor=-50.0)) / math.sqrt(2 * math.pi)


def log_duration_near(
    candidate: Candidate, components_ms: tuple[tuple[float, float], ...], sigma_below_ms: float
) -> float:
    """`log_mixture` of the measured duration (ms) over `components_ms` (mean, sigma); for a burst cut in time,
    the log-probability that the likeliest component is at least as long as the part seen."""
    measured = candidate.duration_s * 1e3
    if candidate.cut_in_time:
        at_least = max(longer_than(measured, mean, sigma) for mean, sigma in components_ms)
        return max(math.log(at_least), DURATION_FLOOR) if at_least > 0 else DURATION_FLOOR
    return log_mixture(measured, components_ms, DURATION_FLOOR, sigma_below_ms)


def slot_runs(candidate: Candidate, slot_ms: float, sigma_ms: float, max_slots: int = 40) -> float:
    """Likelihood (per ms) of the measured duration for runs of 1..max_slots whole slots, all as likely, measured
    with `sigma_ms` of noise; for a burst cut in time, the probability that the run is at least as long."""
    measured = candidate.duration_s * 1e3
    if candidate.cut_in_time:
        return sum(longer_than(measured, k * slot_ms, sigma_ms) for k in range(1, max_slots + 1)) / max_slots
    k = max(1, min(max_slots, round(measured / slot_ms)))
    return math.exp(-0.5 * ((measured - k * slot_ms) / sigma_ms) ** 2) / (sigma_ms * math.sqrt(2 * math.pi) * max_slots)


def duration_anywhere(candidate: Candidate) -> float:
    """Likelihood (per ms) of the measured duration for bursts of any length up to MAX_DURATION_MS, all as
    likely; for a burst cut in time, the share of them at least as long as the part seen."""
    if candidate.cut_in_time:
        at_least = 1.0 - candidate.duration_s * 1e3 / MAX_DURATION_MS
        return max(at_least, math.exp(DURATION_FLOOR))
    return 1.0 / MAX_DURATION_MS


def envelope_kurtosis(candidate: Candidate) -> float:
    """The burst's envelope kurtosis, or nan if only a narrow part of it is seen: part of a band has another
    envelope than the whole (a GMSK burst cut by the capture edge to 60-140 kHz measured 1.4-2.4, not 1).
    A cut burst seen wider than two resource blocks keeps it: that is an LTE or NR allocation of many
    subcarriers, and without it LTE runs at the edge of the development recordings were taken for NR.

    Nor is it read of a part `seen_briefly`: the one edge measured inside the stream is then uncertain by about
    a frame, so the samples read hold noise or a power ramp besides the burst (GMSK bursts cut to 40-80 us
    measured 1.2-3.1).
    """
    narrow_part = candidate.touches_capture_edge and candidate.bandwidth_hz < 2 * PRB_KHZ * 1e3
    if narrow_part or seen_briefly(candidate):
        return math.nan
    return candidate.features.get("envelope_kurtosis", math.nan)


def kurtosis_sigma(candidate: Candidate) -> float:
    """Standard deviation of the noise-corrected envelope kurtosis, from SNR and time-bandwidth product.

    Measured on simulated constant-envelope bursts: about 0.03 at high SNR, growing as 1/SNR at low SNR
    and as 1/sqrt(T*B) for short or narrow bursts.
    """
    samples = max(candidate.duration_s * candidate.bandwidth_hz, 20.0)
    return 0.04 + 0.7 / max(candidate.snr, 0.3) / math.sqrt(samples / 100.0)


def log_kurtosis(candidate: Candidate, mean: float, model_sigma: float = 0.0) -> float:
    """Evidence from the envelope kurtosis for a waveform whose kurtosis is `mean` (spread
    `model_sigma` across its modulations), measured with the noise of `kurtosis_sigma`. No phone
    waveform has a peaked envelope, so this floor is lower than other features' (impulses)."""
    return log_gauss(envelope_kurtosis(candidate), mean, kurtosis_sigma(candidate) + model_sigma, floor=KURTOSIS_FLOOR)


def grid_matches(
    candidate: Candidate,
    neighbours: Neighbours,
    period_s: float,
    tolerance_s: float,
    max_periods: int,
    same_shape: bool = True,
) -> int:
    """How many neighbours start a whole number (1..max_periods) of `period_s` away from the candidate (and with
    `same_shape`, last as long, within 0.15 ms).

    A burst cut at the stream's start has the stream's start, not its own, but its own end: it is timed by its end
    against theirs (bursts of one kind end on the grid as they start), one cut at both ends not at all. Its shape
    is a lower bound: neighbours at least as long as the part seen have it.
    """
    if candidate.cut_at_start and candidate.cut_at_end:
        return 0
    if candidate.cut_at_start:
        times, own_s = neighbours.end_s, candidate.end_s
    else:
        times, own_s = neighbours.start_s, candidate.start_s
    shape = (2 if candidate.cut_in_time else 1) if same_shape else 0
    return _grid_matches(
        times, own_s, neighbours.duration_s, candidate.duration_s, period_s, tolerance_s, max_periods, shape
    )


@njit(cache=True, nogil=True)
def _grid_matches(
    times_s: np.ndarray,
    own_s: float,
    durations_s: np.ndarray,
    own_duration_s: float,
    period_s: float,
    tolerance_s: float,
    max_periods: int,
    shape: int,
) -> int:
    """`grid_matches` on the neighbours' start (or end) times; `shape` 0 ignores their durations, 1 wants them as
    long within 0.15 ms, 2 at least as long less 0.15 ms."""
    count = 0
    for i in range(times_s.shape[0]):
        delta = abs(times_s[i] - own_s)
        periods = np.rint(delta / period_s)
        on_grid = periods >= 1 and periods <= max_periods and abs(delta - periods * period_s) <= tolerance_s
        longer = durations_s[i] - own_duration_s
        if shape == 1:
            on_grid = on_grid and abs(longer) <= 0.15e-3
        elif shape == 2:
            on_grid = on_grid and longer >= -0.15e-3
        count += on_grid
    return count


def same_channel(candidate: Candidate, others: Neighbours, min_overlap: float = 0.5) -> np.ndarray:
    """Which of `others` belong to the candidate's emission: their common band is at least `min_overlap`
    of the wider one (a GSM ARFCN, a PUCCH resource block, the same PUSCH allocation), or one lies inside
    the other in frequency while they overlap in time (a fragment of a burst cut up by segmentation)."""
    overlap = np.minimum(others.high_hz, candidate.high_hz) - np.maximum(others.low_hz, candidate.low_hz)
    wider = np.maximum(np.maximum(others.bandwidth_hz, candidate.bandwidth_hz), 1.0)
    narrower = np.minimum(others.bandwidth_hz, candidate.bandwidth_hz)
    common_s = np.minimum(others.end_s, candidate.end_s) - np.maximum(others.start_s, candidate.start_s)
    concurrent = common_s >= 0.5 * np.minimum(others.duration_s, candidate.duration_s)
    return (overlap >= min_overlap * wider) | (concurrent & (overlap >= 0.9 * narrower))
