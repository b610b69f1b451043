"""Signals that are not phone uplink and must not be reported as phones.

LoRa chirp spread spectrum (125 kHz), 2-GFSK telemetry, a drifting CW spur with phase noise, damped
wideband impulses, and a continuous LTE downlink-like OFDM carrier (a base station, not a phone).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from sim.signals.ofdm import NATIVE_FFT, qam, symbol, to_capture_rate
from sim.signals.truth import BurstWave, Emission


def lora(
    sample_rate_hz: float,
    carrier_hz: float,
    spreading_factor: int,
    start_s: float,
    payload_symbols: int,
    snr_db: float,
    rng: np.random.Generator,
    bandwidth_hz: float = 125e3,
) -> Emission:
    """One LoRa frame: 8 up-chirps, 2 sync symbols, 2.25 down-chirps, then the payload."""
    n = round(2**spreading_factor * sample_rate_hz / bandwidth_hz)
    t = np.arange(n) / sample_rate_hz
    symbol_s = n / sample_rate_hz

    def chirp(value: int, down: bool = False) -> np.ndarray:
        f0 = -bandwidth_hz / 2 + bandwidth_hz * value / 2**spreading_factor
        inst = f0 + bandwidth_hz / symbol_s * t
        inst = np.where(inst > bandwidth_hz / 2, inst - bandwidth_hz, inst)
        phase = 2 * np.pi * np.cumsum(-inst if down else inst) / sample_rate_hz
        return np.exp(1j * phase)

    parts = [chirp(0)] * 8 + [chirp(8), chirp(16)] + [chirp(0, True)] * 2 + [chirp(0, True)[: n // 4]]
    parts += [chirp(int(v)) for v in rng.integers(0, 2**spreading_factor, payload_symbols)]
    samples = np.concatenate(parts).astype(np.complex64)
    burst = BurstWave(start_s, samples, 0.0, bandwidth_hz, len(samples) / sample_rate_hz, f"SF{spreading_factor}")
    return Emission("lora", carrier_hz, (burst,), snr_db)


def gfsk(
    sample_rate_hz: float,
    carrier_hz: float,
    start_s: float,
    payload_bits: int,
    snr_db: float,
    rng: np.random.Generator,
    bit_rate: float = 50e3,
    deviation_hz: float = 25e3,
    bt: float = 0.5,
) -> Emission:
    """A 2-GFSK telemetry packet: preamble, sync word 0x2DD4, random payload."""
    preamble = np.tile([1, 0], 16)
    sync = np.array([int(b) for b in f"{0x2DD4:016b}"])
    bits = np.concatenate([preamble, sync, rng.integers(0, 2, payload_bits)])
    sps = sample_rate_hz / bit_rate
    nrz = np.repeat(2.0 * bits - 1, round(sps))
    span = np.arange(-2 * round(sps), 2 * round(sps) + 1) / sps
    gauss = np.exp(-2 * (np.pi * bt * span) ** 2 / np.log(2))
    freq = lfilter(gauss / gauss.sum(), 1, nrz) * deviation_hz
    samples = np.exp(2j * np.pi * np.cumsum(freq) / sample_rate_hz).astype(np.complex64)
    burst = BurstWave(start_s, samples, 0.0, 2 * deviation_hz + bit_rate, len(samples) / sample_rate_hz, "FSK")
    return Emission("fsk", carrier_hz, (burst,), snr_db)


def cw(
    sample_rate_hz: float,
    carrier_hz: float,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
    drift_hz: float = 600.0,
    drift_period_s: float = 20.0,
) -> Emission:
    """A spur drifting sinusoidally by +-`drift_hz` over `drift_period_s`, with a little phase jitter.

    Its phase is a function of absolute time, so captures rendered back to back join without a click.
    """
    n = round(duration_s * sample_rate_hz)
    t = start_s + np.arange(n) / sample_rate_hz
    phase = -drift_hz * drift_period_s * np.cos(2 * np.pi * t / drift_period_s) + rng.normal(0, 0.01, n)
    burst = BurstWave(start_s, np.exp(1j * phase).astype(np.complex64), 0.0, max(1e3, 2 * drift_hz), duration_s, "CW")
    return Emission("cw", carrier_hz, (burst,), snr_db)


def impulses(
    sample_rate_hz: float, centre_hz: float, times_s: list[float], snr_db: float, rng: np.random.Generator
) -> Emission:
    """Damped wideband transients of 2-25 us (switching, ignition, relays)."""
    bursts = []
    for start in times_s:
        length_s = float(rng.uniform(2e-6, 25e-6))
        n = max(4, round(length_s * sample_rate_hz))
        decay = np.exp(-np.arange(n) / (n / 3))
        samples = (decay * (rng.normal(size=n) + 1j * rng.normal(size=n))).astype(np.complex64)
        bursts.append(BurstWave(start, samples, 0.0, sample_rate_hz, length_s, "impulse"))
    return Emission("impulse", centre_hz, tuple(bursts), snr_db)


def lte_downlink(
    sample_rate_hz: float,
    carrier_hz: float,
    carrier_rbs: int,
    start_s: float,
    duration_s: float,
    snr_db: float,
    rng: np.random.Generator,
) -> Emission:
    """A continuous base-station carrier: every subcarrier of every symbol occupied (no half shift)."""
    symbols_needed = int(np.ceil(duration_s / (1e-3 / 14))) + 1
    native = np.concatenate(
        [symbol(qam(12 * carrier_rbs, 2, rng), long_cp=(i % 7 == 0)) for i in range(symbols_needed)]
    )
    samples = to_capture_rate(native, NATIVE_FFT * 15e3, sample_rate_hz)[: round(duration_s * sample_rate_hz)]
    burst = BurstWave(start_s, samples, 0.0, carrier_rbs * 180e3, duration_s, "DL")
    return Emission("lte_dl", carrier_hz, (burst,), snr_db)
