"""Measuring the tuner's frequency error against a downlink carrier whose frequency is known exactly.

A GSM BCCH carrier sends a frequency-correction burst (FCCH) every 10 TDMA frames: 148 zero bits,
which GMSK turns into a pure tone at carrier + 1625/24 kHz (67.708 kHz). Tuned to the carrier with no
correction, a tuner whose crystal runs fast by e sees that tone at 67.708 kHz - e * f_tuned, so
    ppm = (f_expected_offset - f_measured_offset) / f_tuned * 1e6.
The tone is found coarsely as the strongest short-spectrum bin over time (an FCCH burst concentrates
into one 2.3 kHz bin while the normal bursts spread over 200 kHz), then finely from its phase advance.
A steady carrier of known frequency (a beacon, a signal generator) can be measured the same way.
LTE PSS correlation is not implemented yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FCCH_OFFSET_HZ = 1625e3 / 24  # 67.708 kHz above the BCCH carrier


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
    # the maximum over time keeps a tone that is on only part of the time (FCCH: 1 frame in 10)
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


def measure_ppm_gsm_fcch(
    samples: np.ndarray, sample_rate_hz: float, tuned_hz: float, bcch_carrier_hz: float, max_ppm: float = 100.0
) -> PpmMeasurement:
    """Frequency error from a GSM BCCH carrier's FCCH tone (capture >= 0.1 s so that several FCCH fall in it)."""
    return measure_ppm_from_tone(
        samples, sample_rate_hz, tuned_hz, bcch_carrier_hz + FCCH_OFFSET_HZ, max_ppm, method="gsm_fcch"
    )


def capture_tuning_hz(reference_hz: float) -> float:
    """Where to tune for a measurement: 200 kHz below the tone's carrier, so no ppm error puts it on DC."""
    return reference_hz - 200e3


def corrected_tuning_hz(freq_hz: float, ppm: float) -> float:
    """What to ask a tuner running `ppm` fast for, so that it really tunes to `freq_hz`."""
    return freq_hz / (1 + ppm * 1e-6)
