"""Measuring the tuner's frequency error against a downlink carrier whose frequency is known exactly.

A GSM BCCH carrier sends a frequency-correction burst (FCCH) on timeslot 0 of frames 0, 10, 20, 30 and
40 of every 51-frame multiframe: 148 zero bits, which GMSK turns into a pure tone at carrier + 1625/24
kHz (67.708 kHz). Tuned to the carrier with no correction, a tuner whose crystal runs fast by e sees
that tone at 67.708 kHz - e * f_tuned, so
    ppm = (f_expected_offset - f_measured_offset) / f_tuned * 1e6.
The FCCH is found by its timing (the spectrogram averaged over the FCCH instants of every multiframe
phase: only the tone's bin at the right phase stands out; a spur or the carrier's other bursts are the
same at every phase), then measured finely from the found bursts. A steady carrier of known frequency
(a beacon, a signal generator) is measured from its strongest bin and phase advance instead.

An LTE carrier sends its primary synchronisation signal (PSS) every 5 ms: a length-63 Zadoff-Chu
sequence (root 25, 29 or 34) on the 62 subcarriers around the carrier centre, one OFDM symbol
(66.7 us) long. The capture is correlated with the three PSS replicas shifted over a grid of trial
frequency errors; at the best peaks the phase turn between the two halves of the symbol gives the
residual: df = arg(sum c2 c1*) / (2 pi (T/2)), unambiguous within +-7.5 kHz, far wider than the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FCCH_OFFSET_HZ = 1625e3 / 24  # 67.708 kHz above the BCCH carrier
GSM_FRAME_S = 120e-3 / 26  # TDMA frame, 4.615 ms
CONTROL_MULTIFRAME = 51  # frames
FCCH_FRAMES = (0, 10, 20, 30, 40)  # of each control multiframe (3GPP TS 45.002 clause 7)
FCCH_WINDOW_S = 0.45e-3  # a window shorter than the 546 us burst fits inside it


class CalibrationFailed(RuntimeError):  # noqa: N818 - an outcome the node reports, not a bug
    """No usable reference tone was found; the message says what was looked for."""


@dataclass(frozen=True, slots=True)
class PpmMeasurement:
    ppm: float
    reference_hz: float
    tone_offset_hz: float  # where the tone appeared, relative to the tuned frequency
    peak_to_median_db: float
    method: str


def measure_ppm_from_tone(
    samples: np.ndarray,
    sample_rate_hz: float,
    tuned_hz: float,
    tone_hz: float,
    max_ppm: float = 100.0,
    min_peak_db: float = 6.0,  # above the strongest noise maximum, which sits ~9 dB over the mean
    method: str = "tone",
) -> PpmMeasurement:
    """Frequency error from a tone whose true frequency is `tone_hz`, in samples tuned (uncorrected) to `tuned_hz`.

    Coarse: spectra of 1024 samples (2.3 kHz bins, about one FCCH burst long), the maximum over time of
    each bin, and the strongest bin inside +-max_ppm of where the tone should be. Fine: mix the capture
    down by the coarse frequency, smooth it to +-4 kHz, and take the mean phase advance over a lag of L
    samples where the tone is on: f = arg(sum z[n+L] z*[n]) * fs / (2 pi L).
    """
    nfft = 1024
    expected = tone_hz - tuned_hz
    search = max_ppm * 1e-6 * tuned_hz
    if abs(expected) + search > 0.45 * sample_rate_hz:
        raise CalibrationFailed(
            f"tone at {tone_hz / 1e6:.4f} MHz lies outside the capture tuned to {tuned_hz / 1e6:.4f} MHz"
        )
    frames = (len(samples) - nfft) // (nfft // 2) + 1
    if frames < 8:
        raise CalibrationFailed(f"need at least {9 * nfft // 2} samples to measure the tone, got {len(samples)}")
    index = np.arange(nfft)[None, :] + (nfft // 2) * np.arange(frames)[:, None]
    spectra = np.abs(np.fft.fftshift(np.fft.fft(samples[index] * np.hanning(nfft), axis=1), axes=1)) ** 2
    # the maximum over time keeps a tone that is on only part of the time
    level_db = 10 * np.log10(np.maximum(spectra.max(axis=0), 1e-30))
    freqs = (np.arange(nfft) - nfft // 2) * sample_rate_hz / nfft
    # the dongle's DC spike is a tone too: never take it for the reference (the capture is tuned off the tone)
    inside = np.flatnonzero((np.abs(freqs - expected) <= search) & (np.abs(freqs) > 2 * sample_rate_hz / nfft))
    peak = inside[np.argmax(level_db[inside])]
    contrast = float(level_db[peak] - np.median(level_db[inside]))
    if contrast < min_peak_db:
        raise CalibrationFailed(
            f"no tone near {tone_hz / 1e6:.4f} MHz stands {min_peak_db:.0f} dB above its surroundings "
            f"(best {contrast:.1f} dB); pick a stronger reference carrier"
        )
    coarse = float(freqs[peak])
    lag = max(8, round(sample_rate_hz / 8e3))
    n = np.arange(len(samples))
    mixed = samples * np.exp(-2j * np.pi * coarse / sample_rate_hz * n)
    summed = np.cumsum(np.concatenate([[0], mixed]))
    smooth = (summed[lag:] - summed[:-lag]) / lag
    power = np.abs(smooth) ** 2
    on = power > 0.25 * power.max()
    both = on[lag:] & on[:-lag]
    if not both.any():
        raise CalibrationFailed(f"the tone near {tone_hz / 1e6:.4f} MHz is too short to measure")
    advance = np.sum(smooth[lag:][both] * np.conj(smooth[:-lag][both]))
    measured = coarse + float(np.angle(advance)) * sample_rate_hz / (2 * np.pi * lag)
    ppm = (expected - measured) / tuned_hz * 1e6
    return PpmMeasurement(float(ppm), tone_hz, measured, contrast, method)


LTE_SUBCARRIER_HZ = 15e3
PSS_ROOTS = (25, 29, 34)


def pss_sequence(root: int) -> np.ndarray:
    """d_u(n), n = 0..61 (3GPP TS 36.211 6.11.1.1)."""
    n = np.arange(62)
    m = np.where(n < 31, n * (n + 1), (n + 1) * (n + 2))
    return np.exp(-1j * np.pi * root * m / 63)


def pss_waveform(root: int, sample_rate_hz: float) -> np.ndarray:
    """One PSS symbol (no cyclic prefix) at `sample_rate_hz`, subcarriers -31..-1 and 1..31, unit power."""
    count = round(sample_rate_hz / LTE_SUBCARRIER_HZ)
    k = np.concatenate([np.arange(-31, 0), np.arange(1, 32)])
    t = np.arange(count) / sample_rate_hz
    wave = pss_sequence(root)[None, :] * np.exp(2j * np.pi * k[None, :] * LTE_SUBCARRIER_HZ * t[:, None])
    wave = wave.sum(axis=1)
    return (wave / np.sqrt(np.mean(np.abs(wave) ** 2))).astype(np.complex64)


def measure_ppm_lte_pss(
    samples: np.ndarray,
    sample_rate_hz: float,
    tuned_hz: float,
    carrier_hz: float,
    max_ppm: float = 100.0,
    step_hz: float = 2e3,
    min_peak_ratio: float = 8.0,  # noise alone peaks near 5x its median over these trials
) -> PpmMeasurement:
    """Frequency error from an LTE carrier's PSS, in samples tuned (uncorrected) to `tuned_hz` (>= 10 ms)."""
    expected = carrier_hz - tuned_hz
    search = max_ppm * 1e-6 * tuned_hz
    if abs(expected) + search + 0.5e6 > sample_rate_hz / 2:
        raise CalibrationFailed(f"LTE carrier {carrier_hz / 1e6:.3f} MHz lies outside the capture")
    n = len(samples)
    size = 1 << math.ceil(math.log2(n + 4096))
    spectrum = np.fft.fft(samples, size)
    t = np.arange(round(sample_rate_hz / LTE_SUBCARRIER_HZ)) / sample_rate_hz
    # Zadoff-Chu correlation tolerates a wrong frequency by moving its peak in time, so the trial is
    # chosen by the highest peak (not by peak over median, which favours wrong trials in noise).
    best = (0.0, 0.0, 0, None)  # (peak, trial offset, root, correlation)
    for root in PSS_ROOTS:
        base = pss_waveform(root, sample_rate_hz)
        for trial in np.arange(-search, search + step_hz, step_hz):
            replica = base * np.exp(2j * np.pi * (expected + trial) * t)
            corr = np.abs(np.fft.ifft(spectrum * np.conj(np.fft.fft(replica, size)))[: n - len(base)])
            if corr.max() > best[0]:
                best = (float(corr.max()), float(trial), root, corr)
    _, trial, root, corr = best
    ratio = float(corr.max() / np.median(corr)) if corr is not None else 0.0
    if corr is None or ratio < min_peak_ratio:
        raise CalibrationFailed(
            f"no LTE PSS found near {carrier_hz / 1e6:.3f} MHz (best peak {ratio:.1f}x the median correlation); "
            "pick a stronger LTE carrier or a GSM reference"
        )
    base = pss_waveform(root, sample_rate_hz)
    half = len(base) // 2
    period = round(5e-3 * sample_rate_hz)
    estimate = expected + trial
    # A frequency error moves a Zadoff-Chu peak in time, and a peak taken at the wrong sample biases
    # the half-symbol phase: so re-correlate at the refined frequency and measure again.
    for _ in range(3):
        replica = base * np.exp(2j * np.pi * estimate * t)
        corr = np.abs(np.fft.ifft(spectrum * np.conj(np.fft.fft(replica, size)))[: n - len(base)])
        turn = 0j
        for start in range(0, len(corr) - period + 1, period):  # the strongest peak of every 5 ms
            peak = start + int(np.argmax(corr[start : start + period]))
            if corr[peak] < 0.5 * corr.max():
                continue
            segment = samples[peak : peak + len(replica)] * np.conj(replica)
            turn += np.sum(segment[half:]) * np.conj(np.sum(segment[:half]))
        estimate += float(np.angle(turn)) * sample_rate_hz / (2 * np.pi * half)
    residual = estimate - expected - trial
    measured = expected + trial + residual
    ppm = (expected - measured) / tuned_hz * 1e6
    return PpmMeasurement(float(ppm), carrier_hz, measured, 20 * math.log10(ratio), "lte_pss")


def _fcch_spectrogram(
    samples: np.ndarray, window: int, hop: int, nfft: int, bins: np.ndarray, chunk: int = 256
) -> np.ndarray:
    """|X|^2 of rectangular windows of `window` samples every `hop`, only at FFT bins `bins` (frames x bins)."""
    frames = (len(samples) - window) // hop + 1
    power = np.empty((frames, len(bins)), np.float32)
    for first in range(0, frames, chunk):
        count = min(chunk, frames - first)
        index = (first + np.arange(count))[:, None] * hop + np.arange(window)[None, :]
        power[first : first + count] = np.abs(np.fft.fft(samples[index], nfft, axis=1)[:, bins]) ** 2
    return power


def measure_ppm_gsm_fcch(
    samples: np.ndarray,
    sample_rate_hz: float,
    tuned_hz: float,
    bcch_carrier_hz: float,
    max_ppm: float = 100.0,
    min_score: float = 12.0,
) -> PpmMeasurement:
    """Frequency error from a GSM BCCH carrier's FCCH bursts (capture >= 0.3 s; 0.5-1 s measures better).

    An FCCH burst is a tone for 546 us, on timeslot 0 of frames 0, 10, 20, 30 and 40 of every 51-frame
    multiframe. Detection uses that timing: the spectrogram (windows of ~0.45 ms, shorter than a burst,
    so one window holds nothing but tone) is whitened per bin by its median over time, then averaged
    over the FCCH instants of every candidate multiframe phase. At the right bin and phase the average
    is tone plus noise; anywhere else it is noise, a steady spur, or the carrier's GMSK bursts, which
    are as strong at every phase. score = (best - median) / (1.4826 MAD) over all hypotheses; it must
    reach `min_score` (noise alone peaks near 6-7 over the ~300 000 hypotheses of 0.5 s at 2.4 MS/s).
    Fine: the incoherent sum over the found bursts of |DFT|^2 on a 16x finer grid, peak interpolated.
    The burst phase is not kept across bursts (the GMSK bursts between them turn it), so bursts add in power.
    """
    tone_hz = bcch_carrier_hz + FCCH_OFFSET_HZ
    expected = tone_hz - tuned_hz
    search = max_ppm * 1e-6 * tuned_hz
    if abs(expected) + search > 0.45 * sample_rate_hz:
        raise CalibrationFailed(
            f"FCCH of {bcch_carrier_hz / 1e6:.4f} MHz lies outside the capture tuned to {tuned_hz / 1e6:.4f} MHz"
        )
    frame = GSM_FRAME_S * sample_rate_hz  # samples
    window = round(FCCH_WINDOW_S * sample_rate_hz)
    hop = max(1, window // 4)
    nfft = 1 << math.ceil(math.log2(2 * window))
    if len(samples) < CONTROL_MULTIFRAME * frame + 2 * FCCH_FRAMES[1] * frame:
        raise CalibrationFailed(
            f"need at least {round(0.33 * sample_rate_hz)} samples (0.33 s) to find FCCH bursts, got {len(samples)}"
        )
    freqs = np.fft.fftfreq(nfft, 1 / sample_rate_hz)
    bins = np.flatnonzero((np.abs(freqs - expected) <= search) & (np.abs(freqs) > 2 * sample_rate_hz / window))
    power = _fcch_spectrogram(samples, window, hop, nfft, bins)
    power /= np.maximum(np.median(power, axis=0), 1e-30)
    # a burst of 546 us holds a whole window at one of two neighbouring window positions
    raw, power = power, np.maximum(power[:-1], power[1:])
    phases = round(CONTROL_MULTIFRAME * frame / hop)
    cycles = math.ceil(len(power) * hop / (CONTROL_MULTIFRAME * frame))
    offsets = [round((cycle * CONTROL_MULTIFRAME + f) * frame / hop) for cycle in range(cycles) for f in FCCH_FRAMES]
    total = np.zeros((phases, len(bins)), np.float64)
    count = np.zeros(phases)
    for offset in offsets:
        last = min(phases, len(power) - offset)
        if last > 0:
            total[:last] += power[offset : offset + last]
            count[:last] += 1
    usable = count >= 4
    folded = total[usable] / count[usable, None]
    centre = float(np.median(folded))
    spread = 1.4826 * float(np.median(np.abs(folded - centre)))
    phase, column = np.unravel_index(int(np.argmax(folded)), folded.shape)
    score = (float(folded[phase, column]) - centre) / max(spread, 1e-30)
    if score < min_score:
        raise CalibrationFailed(
            f"no FCCH found near {tone_hz / 1e6:.4f} MHz (best {score:.1f} against {min_score:.0f} needed); "
            "pick a stronger BCCH carrier or capture longer"
        )
    coarse = float(freqs[bins[column]])
    start = int(np.flatnonzero(usable)[phase])
    # of the two window positions, the one that held the burst
    starts = [
        (t + int(raw[t + 1, column] > raw[t, column])) * hop for t in (start + o for o in offsets) if t < len(power)
    ]
    measured = _fine_tone_hz(samples, starts, window, coarse, sample_rate_hz, sample_rate_hz / nfft)
    ppm = (expected - measured) / tuned_hz * 1e6
    return PpmMeasurement(float(ppm), tone_hz, measured, 20 * math.log10(max(score, 1e-3)), "gsm_fcch")


def _fine_tone_hz(
    samples: np.ndarray, starts: list[int], window: int, coarse_hz: float, sample_rate_hz: float, bin_hz: float
) -> float:
    """The tone's frequency from the sum over bursts of |DFT|^2, on a 16x grid around `coarse_hz`, interpolated."""
    oversample = 16
    nfft = oversample * (1 << math.ceil(math.log2(window)))
    n = np.arange(window)
    mix = np.exp(-2j * np.pi * coarse_hz / sample_rate_hz * n)
    segments = np.stack([samples[s : s + window] * mix for s in starts if s + window <= len(samples)])
    spectrum = (np.abs(np.fft.fft(segments, nfft, axis=1)) ** 2).sum(axis=0)
    grid = np.fft.fftfreq(nfft, 1 / sample_rate_hz)
    near = np.flatnonzero(np.abs(grid) <= 1.5 * bin_hz)
    k = int(near[np.argmax(spectrum[near])])
    left, mid, right = np.log(spectrum[[(k - 1) % nfft, k, (k + 1) % nfft]])
    delta = 0.5 * (left - right) / (left - 2 * mid + right)
    return coarse_hz + float(grid[k]) + float(delta) * sample_rate_hz / nfft


def capture_tuning_hz(reference_hz: float) -> float:
    """Where to tune for a measurement: 200 kHz below the tone's carrier, so no ppm error puts it on DC."""
    return reference_hz - 200e3


def corrected_tuning_hz(freq_hz: float, ppm: float) -> float:
    """What to ask a tuner running `ppm` fast for, so that it really tunes to `freq_hz`."""
    return freq_hz / (1 + ppm * 1e-6)
