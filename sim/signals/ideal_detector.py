"""The ideal energy detector the detector's sensitivity is held against.

It knows the burst's exact duration T, band B and position, and sums |x|^2 over those N = T*B complex
samples of unit-power noise. Under noise the sum is Gamma(N, 1); with a deterministic signal of SNR s
the doubled sum is non-central chi-square with 2N degrees of freedom and non-centrality 2*N*s.
"""

from __future__ import annotations

from scipy.optimize import brentq
from scipy.stats import gamma, ncx2


def ideal_pd(snr_db: float, duration_s: float, bandwidth_hz: float, false_alarm_probability: float) -> float:
    n = max(1.0, duration_s * bandwidth_hz)
    threshold = gamma.isf(false_alarm_probability, n)
    snr = 10 ** (snr_db / 10)
    return float(ncx2.sf(2 * threshold, 2 * n, 2 * n * snr))


def ideal_snr_db_at(pd: float, duration_s: float, bandwidth_hz: float, false_alarm_probability: float) -> float:
    """SNR (dB) at which the ideal energy detector reaches detection probability `pd`."""
    return brentq(lambda snr_db: ideal_pd(snr_db, duration_s, bandwidth_hz, false_alarm_probability) - pd, -30.0, 30.0)
