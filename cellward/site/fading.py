"""Per-burst small-scale fading: Rician (or Rayleigh) power gain in dB, averaged over the signal's bandwidth."""

from __future__ import annotations

import numpy as np


def fading_db(
    rng: np.random.Generator,
    size: int | tuple[int, ...],
    k_factor_db: float | None = None,
    bandwidth_hz: float = 200e3,
    coherence_bandwidth_hz: float = 5e6,
) -> np.ndarray:
    """Independent fading draws (dB, mean power gain 1 in linear terms) for `size` bursts.

    The channel gain is h = sqrt(K/(K+1)) + sqrt(1/(K+1)) * CN(0, 1) (Rician with factor K; Rayleigh when
    `k_factor_db` is None). A signal wider than the coherence bandwidth sees about bandwidth/Bc independent
    branches whose powers average (frequency diversity), so a 10 MHz LTE burst fades less than a 200 kHz GSM
    burst. Indoor delay spreads of 30-50 ns give Bc ~ 1/(5 tau) = 4-7 MHz, hence the 5 MHz default.
    """
    branches = max(1, round(bandwidth_hz / coherence_bandwidth_hz))
    shape = (*np.atleast_1d(size), branches)
    k = 0.0 if k_factor_db is None else 10.0 ** (k_factor_db / 10.0)
    scatter = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5 / (k + 1.0))
    power = np.abs(np.sqrt(k / (k + 1.0)) + scatter) ** 2
    return 10.0 * np.log10(power.mean(axis=-1))
