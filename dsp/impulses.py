"""Impulse blanking: frames where an impulse lights up the whole band are returned to the noise floor.

Switching transients, ignition and relays put a few microseconds of energy across every bin. A phone
never fills the whole usable band for less than a slot, so a run of at most `max_frames` frames in
which energy stands over the floor across the usable band, reaching both band edges, is an impulse
(see `_full_band_frames`): those
frames (and one on each side, for the receiver filter's ringing) are set to the floor before CFAR, so
an impulse can neither become a burst nor split into narrow fragments that look like one. A run at a
buffer's edge mid-stream may go on beyond it, and waits; at the stream's own first or last frame (a
sensor's dwell) nothing lies beyond, so it is judged there, by its samples alone (a strong burst cut by the
stream's edge splatters over the whole band).

A frame lifted across the band with one side that looks quiet is still an impulse if its samples say
so: a transient puts its energy into at most `max_transient_s` (25 us plus the receiver filter's
ringing) and leaves the samples around at noise, while the shortest phone transmission, an SRS symbol,
spreads it evenly over 71 us, more than two such windows (see `is_transient`). The spectrogram's 125 us
frames cannot tell the two apart; the samples can.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True, slots=True)
class ImpulseConfig:
    full_band_share: float = 0.6  # noise alone puts about 13 % of bins above 2x the floor
    # a side holds 34 bins and the band 225: over noise their means vary by about 0.2 and 0.08
    min_mean_excess: float = 0.5
    max_frames: int = 3
    max_transient_s: float = 32e-6
    # a transient leaves the windows beside its own at noise; an SRS symbol (71 us) puts more there than in it
    max_energy_beside_transient: float = 0.35
    min_transient_sigma: float = 8.0  # the strongest of about 450 windows of noise reaches 6 sigma once in 2000
    # an impulse stands out of the frames around it; a short run of full frames inside a long burst that fills
    # most of the band (its level wanders about the full-band test) does not
    max_beside_share: float = 0.5


def blank_impulses(
    z: np.ndarray,
    usable: slice,
    samples: np.ndarray,
    hop: int,
    sample_rate_hz: float,
    band_mean: np.ndarray,
    hot: np.ndarray,
    config: ImpulseConfig = ImpulseConfig(),
    stream_start: bool = False,
    stream_end: bool = False,
) -> list[tuple[int, int]]:
    """Blank completed short full-band runs in `z` (frames, bins) in place; returns the frames blanked, as
    ranges [lo, hi).

    `samples` are the complex samples the frames were computed from (frame t starts at sample t * hop);
    `band_mean` and `hot` are `band_statistics` of z's rows over `usable` (the caller forms them while the rows
    are in cache, and forms them again for the frames blanked here). Runs touching the first or last frame
    are left alone, as they may continue beyond the buffer, unless that frame is the `stream_start`'s
    (`stream_end`'s): nothing comes before (after) it, so such a run is as complete as it will ever be. Its
    frames are blanked only if their samples hold a transient, even those full across the band: a strong burst
    cut there by the stream's edge splatters over the whole band in its first (last) frame.
    """
    full, lifted = _full_band_frames(
        z,
        usable.start,
        usable.stop,
        band_mean,
        hot,
        config.full_band_share,
        config.min_mean_excess,
        stream_start,
        stream_end,
    )
    nfft = z.shape[1]
    strong = hot > config.full_band_share * (usable.stop - usable.start)
    # only short runs can be blanked: the frames of a wide burst's body, lifted too, cost no sample reads
    for start, stop in _short_runs(lifted, config.max_frames, stream_start, stream_end):
        at_stream_edge = start == 0 or stop == len(lifted)
        for t in range(start, stop):
            # a frame full by its band mean alone is judged by its samples too: a long emission in part of the
            # band lifts the band mean by itself, and its own ebb can make a frame look alone between quiet ones
            if lifted[t] and (at_stream_edge or not full[t] or not strong[t]):
                full[t] = is_transient(_frame_span(samples, t, hop, nfft), sample_rate_hz, config)
    blanked = []
    for start, stop in _short_runs(full, config.max_frames, stream_start, stream_end):
        if not _stands_out(band_mean, start, stop, config.max_beside_share):
            continue
        lo, hi = max(0, start - 1), min(len(full), stop + 1)
        z[lo:hi] = 1.0
        blanked.append((lo, hi))
    return blanked


def _stands_out(band_mean: np.ndarray, start: int, stop: int, share: float) -> bool:
    """Whether the run [start, stop) of frames stands out of the frames around it: on one side at least (past the
    frame the receiver filter's ringing lifts, or where the stream ends) the band's mean excess over the floor is
    under `share` of the run's."""
    excess = float(band_mean[start:stop].max()) - 1.0
    before = band_mean[start - 2] - 1.0 if start >= 2 else None
    after = band_mean[stop + 1] - 1.0 if stop + 1 < len(band_mean) else None
    return any(side is None or side < share * excess for side in (before, after))


def _short_runs(mask: np.ndarray, max_frames: int, from_start: bool, to_end: bool) -> list[tuple[int, int]]:
    """Runs [start, stop) of True in `mask`, at most `max_frames` long, touching its start only `from_start`
    and its end only `to_end`."""
    if not mask.any():  # the usual case, at a fraction of the cost of finding no edges
        return []
    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return [
        (int(start), int(stop))
        for start, stop in zip(starts, stops, strict=True)
        if stop - start <= max_frames and (start > 0 or from_start) and (stop < len(mask) or to_end)
    ]


def _frame_span(samples: np.ndarray, t: int, hop: int, nfft: int) -> np.ndarray:
    """Frame t's samples and a hop either side, which hold the whole of any phone symbol that lights the frame.
    Where the samples end short of a hop (the stream's first and last frames) the span keeps its length and
    reaches further the other way: `is_transient` needs six of its longer windows."""
    length = nfft + 2 * hop
    first = min(max(0, (t - 1) * hop), max(0, samples.shape[0] - length))
    return samples[first : first + length]


def is_transient(span: np.ndarray, sample_rate_hz: float, config: ImpulseConfig = ImpulseConfig()) -> bool:
    """True when `span` (complex samples) holds a transient of at most `config.max_transient_s`, tried with
    windows of that length and half of it: a 4 us transient is half lost in 32 us of noise."""
    return any(
        _transient_in_window(
            span,
            max(1, round(config.max_transient_s * sample_rate_hz / 2**k)),
            config.max_energy_beside_transient,
            config.min_transient_sigma,
        )
        for k in range(2)
    )


def _transient_in_window(span: np.ndarray, window: int, max_beside: float, min_sigma: float) -> bool:
    """True when the strongest `window` samples of `span` (complex) hold energy that the windows on either
    side of them do not: a transient no longer than the window. The caller's span reaches at least a
    window beyond the frame under test on both sides.

    Energy is the excess of |x|^2 (DC offset removed) over the typical power of the span outside those
    three windows (its median over ln 2, the mean of exponential noise), which steady signals and the
    noise set; a symbol under the strongest window lies almost wholly inside the three, so it does not
    lift that level. The strongest window must stand `min_sigma` standard deviations of noise
    (sqrt(window) times the level) above it, and the two windows beside it must hold together at most
    `max_beside` of its excess. A symbol longer than two windows cannot pass: wherever the strongest
    window lies inside it, the windows beside it hold the rest of the symbol, more than the window holds.
    """
    if span.shape[0] < 6 * window:
        return False
    return _transient_kernel(span, window, max_beside, min_sigma)


@njit(cache=True, nogil=True)
def _transient_kernel(span: np.ndarray, window: int, max_beside: float, min_sigma: float) -> bool:
    n = span.shape[0]
    mean = span.astype(np.complex128).mean()
    power = np.empty(n)
    for i in range(n):
        centred = complex(span[i]) - mean
        power[i] = centred.real * centred.real + centred.imag * centred.imag
    # only windows with a whole window of the span on either side: at the span's ends the start of a
    # long burst would look short
    total = power[window : 2 * window].sum()
    best, peak = total, window  # samples peak .. peak + window - 1
    for start in range(window + 1, n - 2 * window + 1):
        total += power[start + window - 1] - power[start - 1]
        if total > best:
            best, peak = total, start
    low, high = peak - window, peak + 2 * window
    level = np.median(np.concatenate((power[:low], power[high:]))) / math.log(2.0)
    strongest = power[peak : peak + window].sum() - window * level
    before = power[low:peak].sum() - (peak - low) * level
    after = power[peak + window : high].sum() - (high - peak - window) * level
    beside = max(before, 0.0) + max(after, 0.0)
    return strongest >= min_sigma * math.sqrt(window) * level and beside <= max_beside * strongest


@njit(cache=True, nogil=True)
def _full_band_frames(
    z: np.ndarray,
    low: int,
    high: int,
    band_mean: np.ndarray,
    hot: np.ndarray,
    full_band_share: float,
    min_mean_excess: float,
    stream_start: bool,
    stream_end: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames where bins [low, high) stand over the floor across the band, reaching both sides of it
    (short of the roll-off at the very edges): a wide phone burst such as an SRS symbol leaves one side
    quiet. Across the band means either more than `full_band_share` of bins 3 dB up (a strong impulse),
    or a weak impulse, which lifts every bin a little (too little for each bin to stand out, enough for
    a wide box to seed): a band mean `min_mean_excess` floors up, both sides half that, in a frame
    that stands alone (the band quiet again three frames before and after, as inside no burst).
    Returned with them, for their samples to judge: the frames lifted across the band, whatever their sides
    (the full ones among them). One lifted in its band mean alone must stand alone more loosely: the band three
    frames away back down to a quarter of its excess where that is above quiet (beside a strong impulse, noise
    can stand over quiet), or the stream beginning or ending there (`stream_start`, `stream_end`).

    The side test misses many impulses: a transient of duration T has a random spectrum (a sum of
    independent samples) whose power is exponentially distributed from bin to bin and correlated only
    over about 1/T (100 kHz for 10 us), so a 270 kHz side holds a few independent looks and is often
    mostly under 3 dB. It cannot be loosened on the spectrogram alone: the first and last frames of a
    strong wide burst splatter over the whole band too. The lifted frames are judged on their samples.
    """
    n = high - low
    near_low = (low + n // 20, low + n // 5)
    near_high = (low + n - n // 5, low + n - n // 20)
    side = near_low[1] - near_low[0]
    frames = z.shape[0]
    quiet = 1.0 + 0.5 * min_mean_excess
    full = np.zeros(frames, np.bool_)
    lifted = np.zeros(frames, np.bool_)
    for t in range(frames):
        row = z[t]
        if hot[t] > full_band_share * n:
            lifted[t] = True
            full[t] = (
                _hot_bins(row, near_low[0], near_low[1]) > 0.5 * side
                and _hot_bins(row, near_high[0], near_high[1]) > 0.5 * side
            )
        elif band_mean[t] > 1.0 + min_mean_excess:
            settled = max(quiet, 1.0 + 0.25 * (band_mean[t] - 1.0))
            alone_before = _below(band_mean, t - 3, settled, stream_start)
            lifted[t] = alone_before and _below(band_mean, t + 3, settled, stream_end)
            full[t] = (
                3 <= t < frames - 3
                and band_mean[t - 3] < quiet
                and band_mean[t + 3] < quiet
                and _sum(row, near_low[0], near_low[1]) > quiet * side
                and _sum(row, near_high[0], near_high[1]) > quiet * side
            )
    return full, lifted


@njit(cache=True, nogil=True, inline="always")
def _below(band_mean: np.ndarray, t: int, level: float, beyond_the_stream: bool) -> bool:
    """Frame t's band mean under `level`; outside z, True only `beyond_the_stream`, where nothing is on the air."""
    if t < 0 or t >= band_mean.shape[0]:
        return beyond_the_stream
    return band_mean[t] < level


@njit(cache=True, nogil=True, inline="always")
def _hot_bins(row: np.ndarray, low: int, high: int) -> int:
    """Bins of row[low:high] 3 dB over the floor (a count the compiler vectorises)."""
    part = row[low:high]
    hot = 0
    for k in range(part.shape[0]):
        hot += part[k] > 2.0
    return hot


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def band_statistics(z: np.ndarray, low: int, high: int, mean: np.ndarray, hot: np.ndarray) -> None:
    """mean[t] = mean of z[t, low:high], summed in whatever order the compiler vectorises (a running float sum
    is one long chain of dependent additions, the costliest part of the impulse test on noise), and hot[t]
    its bins 3 dB over the floor, in the same pass: what `blank_impulses` judges frames by."""
    for t in range(z.shape[0]):
        part = z[t, low:high]
        total = np.float32(0.0)
        count = 0
        for k in range(part.shape[0]):
            total += part[k]
            count += part[k] > 2.0
        mean[t] = total / part.shape[0]
        hot[t] = count


@njit(cache=True, nogil=True, inline="always")
def _sum(row: np.ndarray, low: int, high: int) -> float:
    part = row[low:high]
    total = np.float32(0.0)
    for k in range(part.shape[0]):
        total += part[k]
    return total
