"""Frequency-error calibration on simulated downlink with a known crystal error."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.freq_calibration import (
    FCCH_OFFSET_HZ,
    CalibrationFailed,
    capture_tuning_hz,
    corrected_tuning_hz,
    measure_ppm_gsm_fcch,
    measure_ppm_lte_pss,
    pss_waveform,
)
from sim.signals import non_phone
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from sim.signals.truth import BurstWave, Emission

FS = 2.4e6
BCCH_HZ = 942.4e6  # a B8 downlink carrier


def _fcch_capture(ppm: float, seed: int, snr_db: float = 25.0) -> tuple[np.ndarray, float]:
    """0.5 s of a BCCH carrier's FCCH: a tone at +67.7 kHz in frames 0, 10, 20, ... (one in ten), plus a
    downlink LTE carrier 3 MHz away and a CW spur, through a dongle `ppm` fast."""
    tuned = capture_tuning_hz(BCCH_HZ)
    rng = np.random.default_rng(seed)
    frame_s = 120e-3 / 26
    burst_s = 148 / 270.833e3
    tone = np.ones(round(burst_s * FS), np.complex64)
    bursts = tuple(
        BurstWave(k * 10 * frame_s, tone, FCCH_OFFSET_HZ, 1e3, burst_s, "FCCH")
        for k in range(int(0.5 / (10 * frame_s)))
    )
    scene = Scene(FS, tuned, 0.5, Receiver(ppm=ppm), seed=seed)
    scene.add(Emission("gsm_downlink", BCCH_HZ, bursts, snr_db))
    scene.add(non_phone.cw(FS, tuned - 700e3, 0.0, 0.5, 15.0, rng))
    samples, _ = scene.render_complex()
    return samples, tuned


@pytest.mark.parametrize(("ppm", "seed"), [(31.4, 1), (-18.9, 2), (0.7, 3), (-55.0, 4)])
def test_fcch_measurement_recovers_the_crystal_error(ppm: float, seed: int) -> None:
    samples, tuned = _fcch_capture(ppm, seed)
    result = measure_ppm_gsm_fcch(samples, FS, tuned, BCCH_HZ)
    # the bound: at 942 MHz 0.1 ppm is 94 Hz, a quarter of a 73 Hz FFT bin after interpolation
    assert result.ppm == pytest.approx(ppm, abs=0.1), f"measured {result.ppm:.3f} ppm, dongle runs {ppm} ppm fast"
    assert result.method == "gsm_fcch"


def test_corrected_tuning_lands_on_the_wanted_frequency() -> None:
    ppm = 42.0
    asked = corrected_tuning_hz(900e6, ppm)
    assert asked * (1 + ppm * 1e-6) == pytest.approx(900e6, abs=1e-3), "a fast tuner asked for less lands right"


def test_no_reference_tone_is_a_clear_failure() -> None:
    samples = (np.random.default_rng(0).standard_normal(2 * 400_000).astype(np.float32).view(np.complex64)) * 0.01
    with pytest.raises(CalibrationFailed, match="stronger reference"):
        measure_ppm_gsm_fcch(samples, FS, capture_tuning_hz(BCCH_HZ), BCCH_HZ)


LTE_CARRIER_HZ = 806e6  # a B20 downlink carrier centre


def _pss_capture(ppm: float, seed: int, root: int, snr_db: float = 20.0) -> tuple[np.ndarray, float]:
    """40 ms of an LTE carrier's PSS (one symbol with its cyclic prefix every 5 ms) beside a CW spur,
    through a dongle `ppm` fast, tuned 200 kHz below the carrier."""
    tuned = capture_tuning_hz(LTE_CARRIER_HZ)
    pss = pss_waveform(root, FS)
    symbol = np.concatenate([pss[-round(4.69e-6 * FS) :], pss])
    bursts = tuple(BurstWave(k * 5e-3 + 0.3e-3, symbol, 0.0, 930e3, len(symbol) / FS, "PSS") for k in range(8))
    scene = Scene(FS, tuned, 0.04, Receiver(ppm=ppm), seed=seed)
    scene.add(Emission("lte_downlink", LTE_CARRIER_HZ, bursts, snr_db))
    scene.add(non_phone.cw(FS, tuned + 500e3, 0.0, 0.04, 20.0, np.random.default_rng(seed)))
    samples, _ = scene.render_complex()
    return samples, tuned


@pytest.mark.parametrize(("ppm", "seed", "root"), [(23.1, 1, 25), (-37.4, 2, 29), (0.4, 3, 34)])
def test_lte_pss_measurement_recovers_the_crystal_error(ppm: float, seed: int, root: int) -> None:
    samples, tuned = _pss_capture(ppm, seed, root)
    result = measure_ppm_lte_pss(samples, FS, tuned, LTE_CARRIER_HZ, max_ppm=60)
    # at 20 dB the half-symbol phase estimate over 8 PSS is good to ~100 Hz (0.12 ppm at 806 MHz)
    assert result.ppm == pytest.approx(ppm, abs=0.25), f"measured {result.ppm:.3f} ppm, dongle runs {ppm} ppm fast"
    assert result.method == "lte_pss"


def test_no_lte_carrier_is_a_clear_failure() -> None:
    samples = np.random.default_rng(1).standard_normal(2 * 96_000).astype(np.float32).view(np.complex64) * 0.01
    with pytest.raises(CalibrationFailed, match="no LTE PSS"):
        measure_ppm_lte_pss(samples, FS, capture_tuning_hz(LTE_CARRIER_HZ), LTE_CARRIER_HZ, max_ppm=60)
