"""Features of one burst that tell the air interfaces apart, from its samples and its spectrogram cells.

- `bw_3db_hz`, `flatness` (3 dB over 10 dB width): SC-FDMA/OFDM allocations are flat-topped with
  steep edges (flatness near 1); GMSK's spectrum is bell-shaped (about 0.6); a CW spur is one bin.
- `envelope_kurtosis` = E|s|^4 / (E|s|^2)^2 of the band-limited signal, with the noise's share removed
  using the measured noise power N and signal power S:  E|y|^4 = k S^2 + 4 S N + 2 N^2.
  Constant-envelope GMSK gives 1, SC-FDMA about 1.4-1.8, CP-OFDM (a Gaussian sum) about 2.
- `cp15`, `cp30`: cyclic-prefix evidence for 15 and 30 kHz subcarrier spacing. The product
  y[n] conj(y[n + 1/SCS]) is coherent only inside cyclic prefixes, which recur every symbol period;
  folding the product on that period and taking the strongest CP-long window over the fold, divided by
  the RMS over all fold phases, is large for OFDM-family signals of that numerology and about 2 for
  anything else (noise, GMSK, chirps).
"""

from __future__ import annotations

import math

import numpy as np

from dsp.bursts import Measurement, core_frames, smooth3

#  useful symbol length and normal cyclic prefix (36.211 / 38.211), seconds
MIN_CP_BURST_S = 0.6e-3
NUMEROLOGIES_S = {"cp15": (1 / 15e3, 144 / 30.72e6), "cp30": (1 / 30e3, 72 / 30.72e6)}


def burst_features(
    samples: np.ndarray,
    sample_rate_hz: float,
    low_hz: float,
    high_hz: float,
    measurement: Measurement,
    z_region: np.ndarray,
    bin_hz: float,
) -> dict[str, float]:
    """Features of a burst (see module docstring); `samples` span the burst, offsets relative to the tuner."""
    features = _spectral_shape(z_region, bin_hz)
    band = band_limited(samples, sample_rate_hz, low_hz, high_hz)
    noise = measurement.noise_power
    features["envelope_kurtosis"] = envelope_kurtosis(band, noise, sample_rate_hz)
    for name, (useful_s, cp_s) in NUMEROLOGIES_S.items():
        # OFDM evidence only decides between LTE and NR, whose data bursts last a slot or more
        long_enough = samples.shape[0] >= MIN_CP_BURST_S * sample_rate_hz
        features[name] = cyclic_prefix_score(band, sample_rate_hz, useful_s, cp_s) if long_enough else math.nan
    return features


def _spectral_shape(z_region: np.ndarray, bin_hz: float) -> dict[str, float]:
    excess = z_region.astype(np.float64) - 1.0
    profile = smooth3(excess[core_frames(excess.sum(axis=1))].mean(axis=0))
    peak = float(profile.max())
    if peak <= 0:
        return {"bw_3db_hz": 0.0, "flatness": 0.0}
    width_3db = float(np.count_nonzero(profile >= 0.5 * peak)) * bin_hz
    width_10db = float(np.count_nonzero(profile >= 0.1 * peak)) * bin_hz
    return {"bw_3db_hz": width_3db, "flatness": width_3db / width_10db}


def band_limited(samples: np.ndarray, sample_rate_hz: float, low_hz: float, high_hz: float) -> np.ndarray:
    """The part of `samples` between low_hz and high_hz (tuner offsets), shifted to 0 Hz."""
    n = samples.shape[0]
    if n == 0:
        return samples
    spectrum = np.fft.fft(samples)
    freqs = np.fft.fftfreq(n, 1 / sample_rate_hz)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    centre = 0.5 * (low_hz + high_hz)
    shift = np.exp(-2j * np.pi * centre / sample_rate_hz * np.arange(n))
    return (np.fft.ifft(spectrum) * shift).astype(np.complex64)


def envelope_kurtosis(band: np.ndarray, noise_power: float, sample_rate_hz: float) -> float:
    """Noise-corrected E|s|^4 / (E|s|^2)^2 of the burst's signal; nan if too weak to tell.

    Computed over 100 us chunks, each normalised by its own power, so that a step in level (a PUCCH
    slot next to an SRS symbol, power control) does not read as a peaked envelope; only peaks shorter
    than a chunk do (impulses).
    """
    inner = band[band.shape[0] // 10 : band.shape[0] - band.shape[0] // 10]
    if inner.shape[0] < 32:
        return math.nan
    chunk = min(inner.shape[0], max(32, round(100e-6 * sample_rate_hz)))
    chunks = inner.shape[0] // chunk
    p = (np.abs(inner[: chunks * chunk].astype(np.complex128)) ** 2).reshape(chunks, chunk)
    m2, m4 = p.mean(axis=1), (p * p).mean(axis=1)
    s = m2 - noise_power
    usable = s > 0.5 * noise_power
    if not usable.any():
        return math.nan
    s, m4 = s[usable], m4[usable]
    corrected = (m4 - 4 * s * noise_power - 2 * noise_power**2) / (s * s)
    weights = s * s
    # E|s|^4 >= (E|s|^2)^2 for any signal: a value below 1 is noise in the estimate, not the signal
    return max(1.0, float((corrected * weights).sum() / weights.sum()))


def cyclic_prefix_score(band: np.ndarray, sample_rate_hz: float, useful_s: float, cp_s: float) -> float:
    """Peak-to-RMS of the CP correlation folded on the OFDM symbol period (see module docstring)."""
    lag = round(useful_s * sample_rate_hz)
    period = (useful_s + cp_s) * sample_rate_hz
    cp_len = max(1, round(cp_s * sample_rate_hz))
    n = band.shape[0] - lag
    if n < 4 * period:
        return math.nan
    product = band[:n].astype(np.complex128) * np.conj(band[lag : lag + n])
    phases = round(period)
    bins = np.floor(np.arange(n) % period).astype(np.int64) % phases
    folded = np.bincount(bins, weights=product.real, minlength=phases) + 1j * np.bincount(
        bins, weights=product.imag, minlength=phases
    )
    wrapped = np.concatenate((folded, folded[: cp_len - 1]))
    window_sums = np.convolve(wrapped, np.ones(cp_len), mode="valid")[:phases]
    magnitude = np.abs(window_sums)
    rms = float(np.sqrt(np.mean(magnitude**2)))
    return float(magnitude.max() / rms) if rms > 0 else math.nan
