"""5G NR uplink (3GPP TS 38.211): CP-OFDM PUSCH at 15 or 30 kHz subcarrier spacing.

A PRB is 12 subcarriers (180 kHz at 15 kHz, 360 kHz at 30 kHz); a slot is 14 symbols (1 ms at 15 kHz,
0.5 ms at 30 kHz) with the long cyclic prefix on the first symbol of each half subframe. Data is QAM
straight on the subcarriers (no DFT spreading); DMRS type 1 sits on every other subcarrier of symbols
2 and 11 (one CDM group, the other comb left empty).
"""

from __future__ import annotations

import numpy as np

from sim.signals.ofdm import NATIVE_FFT, qam, symbol, to_capture_rate, zadoff_chu
from sim.signals.truth import BurstWave, Emission

DMRS_SYMBOLS = (2, 11)


def prb_hz(scs_hz: float) -> float:
    return 12 * scs_hz


def slot_s(scs_hz: float) -> float:
    return 1e-3 * 15e3 / scs_hz


def pusch_samples(
    prbs: int, slots: int, scs_hz: float, rng: np.random.Generator, bits_per_symbol: int = 4
) -> np.ndarray:
    """Native-rate CP-OFDM PUSCH over `slots` slots."""
    m = 12 * prbs
    dmrs = zadoff_chu(_odd(m // 2), int(rng.integers(1, 10)), m // 2)
    symbols_per_half_subframe = round(7 * scs_hz / 15e3)
    out = []
    for _ in range(slots):
        for s in range(14):
            long_cp = s % symbols_per_half_subframe == 0
            if s in DMRS_SYMBOLS:
                out.append(symbol(dmrs * np.sqrt(2), long_cp, comb=2))
            else:
                out.append(symbol(qam(m, bits_per_symbol, rng), long_cp))
    return np.concatenate(out)


def _odd(n: int) -> int:
    return n if n % 2 else max(3, n - 1)


def data_session(
    sample_rate_hz: float,
    carrier_hz: float,
    carrier_prbs: int,
    scs_hz: float,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
    max_prbs: int = 9,
) -> Emission:
    """A UE with data: PUSCH slot runs of 1-9 PRB at random places in the carrier."""
    bursts: list[BurstWave] = []
    slot = slot_s(scs_hz)
    t = np.ceil(start_s / slot) * slot
    end = start_s + duration_s
    while t < end:
        if rng.random() < 0.4:
            prbs = int(rng.integers(1, min(max_prbs, carrier_prbs) + 1))
            first = int(rng.integers(0, carrier_prbs - prbs + 1))
            slots = int(min(rng.integers(1, 10), (end - t) // slot))
            if slots < 1:
                break
            native = pusch_samples(prbs, slots, scs_hz, rng)
            offset = (first + prbs / 2 - carrier_prbs / 2) * prb_hz(scs_hz)
            bursts.append(
                BurstWave(
                    t,
                    to_capture_rate(native, NATIVE_FFT * scs_hz, sample_rate_hz),
                    offset,
                    prbs * prb_hz(scs_hz),
                    slots * slot,
                    "PUSCH",
                )
            )
            t += (slots + int(rng.integers(1, 6))) * slot
        else:
            t += slot
    return Emission("nr", carrier_hz, tuple(bursts), snr_db)
