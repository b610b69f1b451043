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
from numba import njit
from rocket_fft import c2c, good_size

from dsp.bursts import Measurement, core_profile, pairwise_sum

#  useful symbol length and normal cyclic prefix (36.211 / 38.211), seconds
MIN_CP_BURST_S = 0.6e-3
NUMEROLOGIES_S = {"cp15": (1 / 15e3, 144 / 30.72e6), "cp30": (1 / 30e3, 72 / 30.72e6)}
_ONE_AXIS = np.zeros(1, np.int64)


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
    peak, bins_3db, bins_10db = _profile_widths(z_region)
    if peak <= 0:
        return {"bw_3db_hz": 0.0, "flatness": 0.0}
    width_3db = float(bins_3db) * bin_hz
    width_10db = float(bins_10db) * bin_hz
    return {"bw_3db_hz": width_3db, "flatness": width_3db / width_10db}


@njit(cache=True, nogil=True)
def _profile_widths(z_region: np.ndarray) -> tuple[float, int, int]:
    """The peak of the region's core profile (`core_profile` of Z - 1) and how many bins stand at half and at a
    tenth of it."""
    profile, _ = core_profile(z_region.astype(np.float64) - 1.0)
    peak = profile.max()
    return peak, np.count_nonzero(profile >= 0.5 * peak), np.count_nonzero(profile >= 0.1 * peak)


def band_limited(samples: np.ndarray, sample_rate_hz: float, low_hz: float, high_hz: float) -> np.ndarray:
    """The part of `samples` between low_hz and high_hz (tuner offsets), left at its frequency: the
    features read only magnitudes and the magnitude of lag products, which a frequency shift keeps.

    The FFT is zero-padded to a length with small prime factors: burst lengths are arbitrary and a
    prime length would cost a Bluestein transform several times slower.
    """
    if samples.shape[0] == 0:
        return samples
    return _band_limited(samples.astype(np.complex64, copy=False), 1 / sample_rate_hz, low_hz, high_hz)


@njit(cache=True, nogil=True)
def _band_limited(samples: np.ndarray, sample_spacing_s: float, low_hz: float, high_hz: float) -> np.ndarray:
    """`band_limited` by pocketfft in place (rocket-fft): half the time of scipy.fft's two calls on a burst."""
    n = samples.shape[0]
    padded = good_size(n)
    spectrum = np.zeros(padded, np.complex64)
    spectrum[:n] = samples
    c2c(spectrum, spectrum, _ONE_AXIS, True, 1.0, 1)
    _zero_outside(spectrum, sample_spacing_s, low_hz, high_hz)
    c2c(spectrum, spectrum, _ONE_AXIS, False, 1.0 / padded, 1)
    return spectrum[:n]


@njit(cache=True, nogil=True)
def _zero_outside(spectrum: np.ndarray, sample_spacing_s: float, low_hz: float, high_hz: float) -> None:
    """Zero the bins of an FFT whose frequencies (as np.fft.fftfreq computes them) lie outside [low_hz, high_hz]."""
    n = spectrum.shape[0]
    hz_per_bin = 1.0 / (n * sample_spacing_s)
    for k in range(n):
        freq_hz = (k if k < (n + 1) // 2 else k - n) * hz_per_bin
        if freq_hz < low_hz or freq_hz > high_hz:
            spectrum[k] = 0


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
    # numpy's |z| (its own vectorised hypot, which numba's abs does not reproduce to the last bit)
    power = np.abs(inner[: chunks * chunk].astype(np.complex128)) ** 2
    # noise_power**2 as Python's pow gives it (not always the product numba would form)
    return _chunked_kurtosis(power.reshape(chunks, chunk), noise_power, 2 * noise_power**2)


@njit(cache=True, nogil=True)
def _chunked_kurtosis(power: np.ndarray, noise_power: float, twice_noise_squared: float) -> float:
    """`envelope_kurtosis` from the envelope's power (chunks x samples), its means summed as numpy sums them."""
    chunks, chunk = power.shape
    s = np.empty(chunks, np.float64)
    m4 = np.empty(chunks, np.float64)
    for c in range(chunks):
        s[c] = pairwise_sum(power[c]) / chunk - noise_power
        m4[c] = pairwise_sum(power[c] * power[c]) / chunk
    usable = s > 0.5 * noise_power
    if not usable.any():
        return math.nan
    s, m4 = s[usable], m4[usable]
    corrected = (m4 - 4 * s * noise_power - twice_noise_squared) / (s * s)
    weights = s * s
    # E|s|^4 >= (E|s|^2)^2 for any signal: a value below 1 is noise in the estimate, not the signal
    kurtosis = pairwise_sum(corrected * weights) / pairwise_sum(weights)
    return kurtosis if kurtosis > 1.0 else 1.0


def cyclic_prefix_score(band: np.ndarray, sample_rate_hz: float, useful_s: float, cp_s: float) -> float:
    """Peak-to-RMS of the CP correlation folded on the OFDM symbol period (see module docstring)."""
    lag = round(useful_s * sample_rate_hz)
    period = (useful_s + cp_s) * sample_rate_hz
    cp_len = max(1, round(cp_s * sample_rate_hz))
    if band.shape[0] - lag < 4 * period:
        return math.nan
    # floor(i mod period) without a floating-point remainder per sample: with period = num / 2^shift exactly,
    # it is ((i * 2^shift) mod num) >> shift, the remainder kept in integers from one sample to the next
    num, den = float(period).as_integer_ratio()
    shift = den.bit_length() - 1
    return _folded_cp_peak_to_rms(band.astype(np.complex64, copy=False), lag, num, shift, round(period), cp_len)


@njit(cache=True, nogil=True)
def _folded_cp_peak_to_rms(band: np.ndarray, lag: int, num: int, shift: int, phases: int, cp_len: int) -> float:
    n = band.shape[0] - lag
    folded = np.zeros(phases, np.complex128)
    step = np.int64(1) << shift
    remainder = np.int64(0)
    for i in range(n):
        phase = remainder >> shift
        if phase >= phases:  # under period: at most phases
            phase -= phases
        folded[phase] += complex(band[i]) * np.conj(complex(band[i + lag]))
        remainder += step
        if remainder >= num:
            remainder -= num
    # sum over every CP-long window of the fold, wrapping round the symbol period
    window = 0j
    for i in range(cp_len):
        window += folded[i % phases]
    peak = 0.0
    power = 0.0
    for start in range(phases):
        magnitude = abs(window)
        peak = max(peak, magnitude)
        power += magnitude * magnitude
        window += folded[(start + cp_len) % phases] - folded[start]
    rms = math.sqrt(power / phases)
    return peak / rms if rms > 0 else math.nan
