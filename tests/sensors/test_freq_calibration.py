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
