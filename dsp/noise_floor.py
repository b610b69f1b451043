"""Per-bin noise floor that follows a slowly changing floor but not the bursts on top of it.

Each bin tracks the median of |X|^2 with a multiplicative quantile step (O(1) per bin per frame):
    ln L += step * (0.5 - [P < L])
A bin whose local mean (the cell, its two neighbours in frequency, and the same three in the previous
frame) is more than `gate_db` above the floor is taken as signal and moves the floor only at
`gated_step`, a slow leak that still lets a real rise in the floor (a gain change) through at about
`gated_step * 0.5 / hop_s` nepers per second, while a phone that transmits continuously above the gate
leaves it where it was. Gating on a six-cell mean rather than on the cell itself matters: a strong
signal's cells are exponentially distributed too, and a single-cell gate lets its low cells through.
Noise almost never reaches the gate on a six-cell mean, so the tracked level is the noise median,
ln 2 times the mean noise power per bin, the unit the detector normalises by.
A weak phone that transmits continuously is held off by a second, slow gate: the three-bin sum averaged
over about `slow_gate_frames` frames more than `slow_gate_db` above the floor. At 6-8 dB a phone's six-cell
means dip under the fast gate often enough (a third of its frames at 6 dB) for the floor to rise to meet it
within half a second; their average does not, while a burst's onset still closes the fast gate at once.
The first spectra of a stream seed the floor with a low per-bin quantile (`seed_quantile`, scaled to
the mean of exponential noise), robust to bursts that occupy a bin most of that time: a data session
under way when a dwell starts would otherwise seed its bins high, and the floor steps down only about
0.1 dB per millisecond, and not while bursts hold it gated.
A sensor restarts its detector every dwell, and a phone on through a dwell's first frames seeds it high
all the same. A `FloorMemory` kept per tuning remembers the seeds of its last dwells: a bin seeded well
above their median takes the median instead, so one busy start does not deafen the dwell, while a real
change of the floor is taken up once most of the remembered dwells have seen it. Elsewhere the seed is the
mean of the dwell's own and the remembered ones that agree: one 256-frame seed is about 14 % off in a bin,
and a bin seeded 20 % low (one in twenty) lets a long strip of noise there pass as a burst.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.ndimage import uniform_filter1d

from dsp.spectrum import shifted_power_row

SILENT_BIN_LEVEL = 1e-30  # stands in for a bin that read exactly zero (a dongle delivering zeros)
DROP_BINS = 5  # a fall of the floor is taken at once where these neighbouring bins, not one, saw it


@dataclass(frozen=True, slots=True)
class FloorConfig:
    step_nepers: float = 2e-3
    gate_db: float = 6.0
    slow_gate_db: float = 4.5  # on the three-bin sum averaged over about `slow_gate_frames`
    slow_gate_frames: int = 16
    gated_step_nepers: float = 2e-6  # about 0.08 dB/s at 2.4 MS/s: a gain change must reseed instead
    seed_frames: int = 256
    seed_quantile: float = 0.2


@dataclass
class FloorMemory:
    """The seeds of one tuning's last `depth` dwells (mean noise power per bin), for the next dwell's seed.

    A dwell is seeded with the mean of its own seed and the remembered ones within `margin` of their median, but
    at the median where its own stands over `margin` times it, and at its own where it and its neighbours fell
    under the median by that much (a fall of the floor is taken at once, and replaces what was remembered there:
    noise cannot be under the noise, so that held a signal; one bin seeded low is chance).
    A dwell's seed is remembered as it came, except in bins that stand out from the change the whole band saw
    (`band_change`): there the remembered level is kept. A rise of the floor itself (the receiver's noise,
    broadband interference) lifts every bin alike and is taken up once most remembered dwells hold it; a phone
    on for minutes (a video upload on a steady allocation) lifts only its own bins and is never learnt as
    floor: remembering its seeds as they came, a tuning went deaf to it from the fourth dwell on.

    For one centre frequency and sample rate. Seeds are in full-scale units, so they hold for one gain: after
    `gain_changed`, the next seed's change of the whole band rescales every remembered one (a phone close
    enough to make the sensor back its gain off is on when it does, and a memory started afresh learnt it).
    """

    depth: int = 5
    margin: float = 1.5  # 1.8 dB: about twice the spread of two 256-frame seeds of one bin
    _seeds: deque[np.ndarray] = field(default_factory=deque, repr=False)
    _rescale: bool = field(default=False, repr=False)

    def gain_changed(self) -> None:
        """The next seed is at another gain: rescale what is remembered by the change it shows."""
        self._rescale = True

    def recall(self, fresh: np.ndarray) -> np.ndarray:
        """The level to seed with, given this dwell's own `fresh` estimate, which is remembered (see above)."""
        level = remembered = fresh
        if self._seeds:
            seeds = np.stack(self._seeds)
            median = np.maximum(np.median(seeds, axis=0), SILENT_BIN_LEVEL)
            if self._rescale:
                scale = band_change(fresh / median, self.margin)
                seeds *= scale
                median = np.maximum(median * scale, SILENT_BIN_LEVEL)
            ratio = fresh / median
            dropped = uniform_filter1d(ratio, DROP_BINS, mode="nearest") * self.margin < 1.0
            level = np.where(
                ratio > self.margin, median, np.where(dropped, fresh, _pooled(fresh, seeds, median, self.margin))
            )
            remembered = np.where(ratio > self.margin * band_change(ratio, self.margin), median, fresh)
            seeds[:, dropped] = fresh[dropped]  # what was remembered there held a signal: power only adds to noise
            self._seeds = deque(seeds)
        self._rescale = False
        self._seeds.append(remembered)
        while len(self._seeds) > self.depth:
            self._seeds.popleft()
        return level


def _pooled(fresh: np.ndarray, seeds: np.ndarray, median: np.ndarray, margin: float) -> np.ndarray:
    """Per bin, the mean of `fresh` and the remembered `seeds` within `margin` of their `median`. Not scaled by the
    band's change: a heavy phone across most of a capture (LTE in a 2.4 MHz window) moves its median."""
    agreeing = (seeds <= margin * median) & (seeds * margin >= median)
    return (np.sum(seeds * agreeing, axis=0) + fresh) / (np.sum(agreeing, axis=0) + 1)


def band_change(ratio: np.ndarray, margin: float) -> float:
    """The change of the whole band from per-bin ratios (new / old level): their median, then the median again
    without the bins over `margin` times it. A phone across a fifth of the band lifts the plain median by a
    quarter of a dB."""
    first = float(np.median(ratio))
    kept = ratio[ratio <= margin * first]
    return float(np.median(kept)) if kept.size else first  # none kept: ratios that are not numbers


class NoiseFloor:
    """Streaming floor for `nfft` bins, in mean noise power per bin (linear, full-scale units).

    The state is kept as the reciprocal of the tracked median per bin (scaled to mean power), so the
    per-cell work is multiplications only: every update of the level is a multiplicative step anyway.
    """

    def __init__(self, nfft: int, config: FloorConfig = FloorConfig(), memory: FloorMemory | None = None) -> None:
        self.config = config
        self.memory = memory
        self._mean_per_tracked = 1.0 / math.log(2)
        self.inverse_mean = np.ones(nfft, np.float32)  # 1 / (mean noise power per bin)
        self.previous_sums = np.zeros(nfft, np.float32)  # last spectrum's three-bin sums, for the gate
        self.smoothed_sums = np.zeros(nfft, np.float32)  # the three-bin sums' running mean, for the slow gate
        self.seeded = False
        c = config
        self._kernel_arguments = (  # the state arrays change in place, so one tuple serves every call
            self.inverse_mean,
            self.previous_sums,
            self.smoothed_sums,
            np.float32(1.0 / c.slow_gate_frames),
            np.float32(3.0 * 10 ** (c.slow_gate_db / 10)),
            np.float32(math.exp(0.5 * c.step_nepers)),  # the level steps down: its reciprocal up
            np.float32(math.exp(-0.5 * c.step_nepers)),
            np.float32(math.exp(-0.5 * c.gated_step_nepers)),
            np.float32(6.0 * 10 ** (c.gate_db / 10)),
            np.float32(self._mean_per_tracked),
        )

    def seed(self, spectra: np.ndarray) -> None:
        """Start the floor from the first `seed_frames` power spectra (frames, nfft): the per-bin
        `seed_quantile` of exponential noise of mean m is m * -ln(1 - q); with a `memory`, checked against the
        tuning's last dwells.

        The quantile is the order statistic of rank q (n - 1), rounded: np.quantile's own answer whenever that is
        whole (256 frames), in a sixth of its time (np.quantile along the columns cost a sensor 1.2 ms a dwell)."""
        q = self.config.seed_quantile
        first = spectra[: self.config.seed_frames]
        rank = round(q * (first.shape[0] - 1))
        quantile = np.partition(np.ascontiguousarray(first.T), rank, axis=1)[:, rank]
        level = quantile.astype(np.float64) / -math.log1p(-q)
        if self.memory is not None:
            level = self.memory.recall(level)
        self.inverse_mean[:] = 1.0 / np.maximum(level, SILENT_BIN_LEVEL)
        self.previous_sums[:] = _three_bin_sums(spectra[0])
        self.smoothed_sums[:] = 3.0 * level  # noise: the slow gate starts open
        self.seeded = True

    def normalise(self, spectra: np.ndarray, out: np.ndarray) -> None:
        """Track the floor through power `spectra` (frames, nfft) and write spectra / floor into `out`.

        Seeds the floor from `spectra` first if it is not seeded yet.
        """
        if not self.seeded and spectra.shape[0] > 0:
            self.seed(spectra)
        _track_and_normalise(spectra, False, *self._kernel_arguments, out)

    def normalise_fft(self, fft_frames: np.ndarray, out: np.ndarray) -> None:
        """As `normalise`, straight from unshifted FFT frames (frames, nfft) complex64: the power
        |X|^2 / nfft^2, fftshifted as `dsp.spectrum.power_spectra` gives it, is formed one row at a
        time and never stored. The floor must be seeded."""
        if not self.seeded:
            raise ValueError("the noise floor must be seeded from power spectra before it normalises FFT frames")
        _track_and_normalise(fft_frames, True, *self._kernel_arguments, out)

    def mean_power_per_bin(self) -> np.ndarray:
        """Current floor, mean noise power per bin (linear)."""
        return 1.0 / self.inverse_mean.astype(np.float64)


def _three_bin_sums(row: np.ndarray) -> np.ndarray:
    padded = np.concatenate((row[:1], row, row[-1:])).astype(np.float32)
    return padded[:-2] + padded[1:-1] + padded[2:]


@njit(cache=True, nogil=True)
def _track_and_normalise(
    frames_in: np.ndarray,
    from_fft: bool,
    inverse_mean: np.ndarray,
    previous_sums: np.ndarray,
    smoothed_sums: np.ndarray,
    smoothing: float,
    slow_gate_sum: float,
    inverse_step_down: float,
    inverse_step_up: float,
    inverse_gated_step_up: float,
    gate_sum: float,
    mean_per_tracked: float,
    out: np.ndarray,
) -> None:
    """z = P / floor per cell; the floor steps toward the median, or leaks when the six-cell sum (three
    bins in this frame and the last) exceeds `gate_sum` floors or the three-bin sum's running mean (weight
    `smoothing` on each new frame) exceeds `slow_gate_sum`. Edge bins repeat themselves.

    frames_in: power spectra (float32), or with `from_fft` unshifted FFT frames (complex64) whose
    shifted |X|^2 / nfft^2 is the power."""
    frames, nbins = out.shape
    values = frames_in.view(np.float32)  # for `from_fft`, each row's real and imaginary parts interleaved
    padded = np.empty(nbins + 2, np.float32)  # the row's power with its edge bins repeated beyond it
    row = padded[1 : nbins + 1]
    # the loop indexes slices by its counter alone, so that the compiler vectorises it
    before, after = padded[:nbins], padded[2:]
    for t in range(frames):
        if from_fft:
            shifted_power_row(values[t], row)
        else:
            source = frames_in[t]
            for k in range(nbins):
                row[k] = source[k].real
        padded[0], padded[nbins + 1] = row[0], row[nbins - 1]
        z_row = out[t]
        for k in range(nbins):
            three_bin_sum = before[k] + row[k] + after[k]
            inverse = inverse_mean[k]
            z = row[k] * inverse
            z_row[k] = z
            smoothed_sums[k] += smoothing * (three_bin_sum - smoothed_sums[k])
            fast_gate = (three_bin_sum + previous_sums[k]) * inverse >= gate_sum
            gated = fast_gate or smoothed_sums[k] * inverse >= slow_gate_sum
            below = z * mean_per_tracked < np.float32(1.0)
            step = inverse_gated_step_up if gated else (inverse_step_down if below else inverse_step_up)
            inverse_mean[k] = inverse * step
            previous_sums[k] = three_bin_sum
