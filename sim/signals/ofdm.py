"""OFDM symbol synthesis shared by the LTE and NR generators.

Symbols are built at a native rate (an FFT of 256 subcarrier slots at the numerology's spacing),
with the allocation's subcarriers placed around 0 Hz, then resampled to the capture rate with a
polyphase filter. The caller shifts the result to the allocation's place in the carrier.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

NATIVE_FFT = 256
CP_FRACTION = (160 / 2048, 144 / 2048)  # long CP (first symbol of each 0.5 ms), normal CP


def qam(count: int, bits_per_symbol: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power QPSK (2), 16QAM (4) or 64QAM (6) symbols."""
    side = 2 ** (bits_per_symbol // 2)
    levels = 2 * np.arange(side) - side + 1
    points = rng.choice(levels, count) + 1j * rng.choice(levels, count)
    return (points / np.sqrt(np.mean(np.abs(levels) ** 2) * 2)).astype(np.complex128)


def zadoff_chu(length: int, root: int, count: int | None = None) -> np.ndarray:
    """A Zadoff-Chu sequence of odd `length`, cyclically extended or cut to `count`."""
    n = np.arange(length)
    seq = np.exp(-1j * np.pi * root * n * (n + 1) / length)
    count = length if count is None else count
    return seq[np.arange(count) % length]


def symbol(values: np.ndarray, long_cp: bool, half_subcarrier: bool = False, comb: int = 1) -> np.ndarray:
    """One CP-OFDM symbol (native rate) with `values` on consecutive (or every `comb`-th) subcarriers
    centred at 0 Hz; `half_subcarrier` shifts the grid by half a spacing (LTE uplink)."""
    grid = np.zeros(NATIVE_FFT, np.complex128)
    span = len(values) * comb
    first = -(span // 2)
    index = (first + comb * np.arange(len(values))) % NATIVE_FFT
    grid[index] = values
    body = np.fft.ifft(grid) * np.sqrt(NATIVE_FFT)
    if half_subcarrier:
        body = body * np.exp(1j * np.pi * np.arange(NATIVE_FFT) / NATIVE_FFT)
    cp = round(NATIVE_FFT * CP_FRACTION[0 if long_cp else 1])
    return np.concatenate([body[-cp:], body])


def to_capture_rate(native: np.ndarray, native_rate_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Resample native-rate samples to the capture rate, normalised to unit mean power."""
    ratio = Fraction(sample_rate_hz / native_rate_hz).limit_denominator(1000)
    out = resample_poly(native, ratio.numerator, ratio.denominator)
    power = np.mean(np.abs(out) ** 2)
    return (out / np.sqrt(power) if power > 0 else out).astype(np.complex64)
