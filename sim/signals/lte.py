"""LTE uplink (3GPP TS 36.211): SC-FDMA PUSCH with DMRS, PUCCH at the carrier edges, SRS and PRACH.

15 kHz subcarriers shifted by half a spacing, 12 per resource block (180 kHz), 7 symbols per 0.5 ms
slot with normal cyclic prefix. PUSCH data is DFT-spread QPSK/16QAM on N = 2^a 3^b 5^c resource
blocks, with a Zadoff-Chu reference symbol in the middle of each slot. PUCCH occupies one resource
block at one edge of the carrier for a slot and hops to the other edge for the next. SRS fills every
other subcarrier of the last symbol of a subframe. PRACH format 0: an 839-long Zadoff-Chu sequence
at 1.25 kHz spacing, 0.8 ms plus a 0.1 ms cyclic prefix.
"""

from __future__ import annotations

import numpy as np

from sim.signals.ofdm import NATIVE_FFT, qam, symbol, to_capture_rate, zadoff_chu
from sim.signals.truth import BurstWave, Emission

SCS_HZ = 15e3
NATIVE_RATE_HZ = NATIVE_FFT * SCS_HZ  # 3.84 MS/s
RB_HZ = 180e3
SUBFRAME_S = 1e-3
SLOT_S = 0.5e-3
SYMBOL_S = SUBFRAME_S / 14
ALLOWED_RB = (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 25, 27, 30, 32, 36, 40, 45, 48, 50)  # 2^a 3^b 5^c


def rb_centre_offset_hz(carrier_rbs: int, first_rb: int, count: int) -> float:
    """Centre of resource blocks [first_rb, first_rb + count) relative to the carrier centre."""
    return (first_rb + count / 2 - carrier_rbs / 2) * RB_HZ


def _slot_symbols(values_per_symbol: list[np.ndarray], comb: int = 1) -> np.ndarray:
    return np.concatenate(
        [symbol(v, long_cp=(i % 7 == 0), half_subcarrier=True, comb=comb) for i, v in enumerate(values_per_symbol)]
    )


def pusch_samples(rbs: int, subframes: int, rng: np.random.Generator, bits_per_symbol: int = 4) -> np.ndarray:
    """Native-rate PUSCH over `subframes` subframes: DMRS on symbols 3 and 10, DFT-spread data elsewhere."""
    m = 12 * rbs
    dmrs = zadoff_chu(_prime_below(m), int(rng.integers(1, 20)), m)
    symbols = []
    for _ in range(subframes):
        for s in range(14):
            symbols.append(dmrs if s in (3, 10) else np.fft.fft(qam(m, bits_per_symbol, rng)) / np.sqrt(m))
    return _slot_symbols(symbols)


def pucch_slot_samples(rng: np.random.Generator) -> np.ndarray:
    """Native-rate PUCCH format 1a/2-like slot: a cyclically shifted 12-long base sequence per symbol,
    modulated by the (repeated) acknowledgement or CQI symbols."""
    base = zadoff_chu(11, int(rng.integers(1, 11)), 12)
    symbols = []
    for _ in range(7):
        shift = np.exp(2j * np.pi * int(rng.integers(0, 12)) * np.arange(12) / 12)
        symbols.append(base * shift * qam(1, 2, rng)[0])
    return _slot_symbols(symbols)


def srs_samples(rbs: int, rng: np.random.Generator) -> np.ndarray:
    """Native-rate SRS symbol: a Zadoff-Chu sequence on every other subcarrier of `rbs` resource blocks."""
    m = 6 * rbs
    return symbol(zadoff_chu(_prime_below(m), int(rng.integers(1, 20)), m), long_cp=False, half_subcarrier=True, comb=2)


def prach_samples(rng: np.random.Generator) -> np.ndarray:
    """Native-rate PRACH format 0 preamble (0.1 ms CP + 0.8 ms sequence) at 1.25 kHz spacing."""
    n = round(NATIVE_RATE_HZ / 1.25e3)  # 3072 samples = 0.8 ms
    grid = np.zeros(n, np.complex128)
    seq = np.fft.fft(zadoff_chu(839, int(rng.integers(1, 838))))
    grid[(np.arange(839) - 419) % n] = seq
    body = np.fft.ifft(grid) * np.sqrt(n)
    cp = round(103.13e-6 * NATIVE_RATE_HZ)
    return np.concatenate([body[-cp:], body])


def _prime_below(n: int) -> int:
    for candidate in range(max(n, 3), 1, -1):
        if candidate % 2 and all(candidate % d for d in range(3, int(candidate**0.5) + 1, 2)):
            return candidate
    return 3


def _wave(
    native: np.ndarray,
    start_s: float,
    offset_hz: float,
    bandwidth_hz: float,
    duration_s: float,
    channel: str,
    sample_rate_hz: float,
    gain_db: float = 0.0,
) -> BurstWave:
    return BurstWave(
        start_s,
        to_capture_rate(native, NATIVE_RATE_HZ, sample_rate_hz),
        offset_hz,
        bandwidth_hz,
        duration_s,
        channel,
        gain_db=gain_db,
    )


def data_session(
    sample_rate_hz: float,
    carrier_hz: float,
    carrier_rbs: int,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
    max_rbs: int = 12,
    srs_period_subframes: int = 10,
) -> Emission:
    """A UE with data: PUSCH runs on varying allocations, PUCCH acknowledgements 4 ms later at the
    carrier edges, and periodic SRS in the last symbol of a subframe."""
    bursts: list[BurstWave] = []
    subframe = int(np.ceil(start_s / SUBFRAME_S))
    end = int((start_s + duration_s) / SUBFRAME_S)
    busy_until = subframe
    while subframe < end:
        if subframe >= busy_until and rng.random() < 0.3:
            rbs = int(rng.choice([n for n in ALLOWED_RB if n <= min(max_rbs, carrier_rbs - 2)]))
            first = int(rng.integers(1, carrier_rbs - rbs))
            run = int(min(rng.integers(1, 8), end - subframe))
            bursts.append(
                _wave(
                    pusch_samples(rbs, run, rng),
                    subframe * SUBFRAME_S,
                    rb_centre_offset_hz(carrier_rbs, first, rbs),
                    rbs * RB_HZ,
                    run * SUBFRAME_S,
                    "PUSCH",
                    sample_rate_hz,
                )
            )
            ack = subframe + run - 1 + 4
            if ack < end:
                bursts.extend(pucch(sample_rate_hz, carrier_rbs, ack, rng, "ACK"))
            busy_until = subframe + run + 1
        if subframe % srs_period_subframes == 0 and subframe >= busy_until:
            rbs = min(carrier_rbs - 2, 4 * int(rng.integers(1, 4)))
            bursts.append(
                _wave(
                    srs_samples(rbs, rng),
                    (subframe + 1) * SUBFRAME_S - SYMBOL_S,
                    rb_centre_offset_hz(carrier_rbs, 1, rbs),
                    rbs * RB_HZ,
                    SYMBOL_S,
                    "SRS",
                    sample_rate_hz,
                )
            )
        subframe += 1
    bursts = [b for b in bursts if b.start_s < start_s + duration_s]
    return Emission("lte", carrier_hz, tuple(sorted(bursts, key=lambda b: b.start_s)), snr_db)


def pucch(
    sample_rate_hz: float, carrier_rbs: int, subframe: int, rng: np.random.Generator, channel: str
) -> list[BurstWave]:
    """The two slots of one PUCCH transmission: lower edge, then upper edge (slot hopping)."""
    return [
        _wave(
            pucch_slot_samples(rng),
            subframe * SUBFRAME_S + slot * SLOT_S,
            rb_centre_offset_hz(carrier_rbs, 0 if slot == 0 else carrier_rbs - 1, 1),
            RB_HZ,
            SLOT_S,
            channel,
            sample_rate_hz,
        )
        for slot in (0, 1)
    ]


def volte(
    sample_rate_hz: float,
    carrier_hz: float,
    carrier_rbs: int,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
) -> Emission:
    """A VoLTE call: a small PUSCH every 20 ms and its acknowledgement on PUCCH 4 ms later."""
    bursts: list[BurstWave] = []
    first = int(np.ceil(start_s / SUBFRAME_S))
    for subframe in range(first, int((start_s + duration_s) / SUBFRAME_S) - 5, 20):
        bursts.append(
            _wave(
                pusch_samples(3, 1, rng, 2),
                subframe * SUBFRAME_S,
                rb_centre_offset_hz(carrier_rbs, carrier_rbs // 3, 3),
                3 * RB_HZ,
                SUBFRAME_S,
                "PUSCH",
                sample_rate_hz,
            )
        )
        bursts.extend(pucch(sample_rate_hz, carrier_rbs, subframe + 4, rng, "ACK"))
    return Emission("lte", carrier_hz, tuple(bursts), snr_db)


def random_access(
    sample_rate_hz: float, carrier_hz: float, carrier_rbs: int, start_s: float, snr_db: float, rng: np.random.Generator
) -> Emission:
    """PRACH preamble, then Msg3 on PUSCH 5 ms later."""
    subframe = int(np.ceil(start_s / SUBFRAME_S))
    prach = _wave(
        prach_samples(rng),
        subframe * SUBFRAME_S,
        rb_centre_offset_hz(carrier_rbs, 2, 6),
        1.0475e6,
        0.9031e-3,
        "PRACH",
        sample_rate_hz,
    )
    msg3 = _wave(
        pusch_samples(3, 1, rng, 2),
        (subframe + 5) * SUBFRAME_S,
        rb_centre_offset_hz(carrier_rbs, 10, 3),
        3 * RB_HZ,
        SUBFRAME_S,
        "PUSCH",
        sample_rate_hz,
    )
    return Emission("lte", carrier_hz, (prach, msg3), snr_db)
