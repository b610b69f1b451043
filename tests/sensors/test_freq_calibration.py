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
from sim.signals import gsm, non_phone
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from sim.signals.truth import BurstWave, Emission

FS = 2.4e6
BCCH_HZ = 942.4e6  # a B8 downlink carrier


def _bcch_capture(ppm: float, seed: int, snr_db: float, duration_s: float = 0.5) -> tuple[np.ndarray, float]:
    """A BCCH carrier as a base station sends it (a burst in every timeslot, FCCH on frames 0, 10, 20, 30, 40
    of each 51-multiframe), SNR in its 200 kHz channel, plus a CW spur, through a dongle `ppm` fast."""
    tuned = capture_tuning_hz(BCCH_HZ)
    rng = np.random.default_rng(seed)
    start_s = float(rng.uniform(0, 1))  # anywhere in the multiframe
    scene = Scene(FS, tuned, duration_s, Receiver(ppm=ppm), seed=seed, start_s=start_s)
    scene.add(gsm.bcch(FS, BCCH_HZ, start_s, duration_s, snr_db, rng))
    scene.add(non_phone.cw(FS, tuned - 700e3, start_s, duration_s, 15.0, rng))
    samples, _ = scene.render_complex()
    return samples, tuned


def _fcch_only_capture(
    ppm: float, seed: int, snr_db: float, duration_s: float, spur_hz: float | None = None
) -> tuple[np.ndarray, float]:
    """Only the FCCH tone bursts of a BCCH carrier, SNR in 1 kHz (the tone's own band: 23 dB harder than the
    same figure for the whole carrier), optionally a steady spur; through a dongle `ppm` fast."""
    tuned = capture_tuning_hz(BCCH_HZ)
    rng = np.random.default_rng(seed)
    start_s = float(rng.uniform(0, 1))
    tone, lead_s = gsm.gmsk(np.zeros(gsm.NORMAL_BITS, np.int8), FS)  # 148 zero bits: the FCCH
    frames = range(int(start_s / gsm.FRAME_S), int((start_s + duration_s) / gsm.FRAME_S) + 1)
    bursts = tuple(
        BurstWave(f * gsm.FRAME_S, tone, 0.0, 1e3, gsm.NORMAL_BITS * gsm.BIT_S, "FCCH", lead_s)
        for f in frames
        if f % gsm.CONTROL_MULTIFRAME in gsm.FCCH_FRAMES
    )
    scene = Scene(FS, tuned, duration_s, Receiver(ppm=ppm), seed=seed, start_s=start_s)
    scene.add(Emission("gsm_downlink", BCCH_HZ, bursts, snr_db))
    if spur_hz is not None:
        scene.add(non_phone.cw(FS, spur_hz, start_s, duration_s, 25.0, rng, drift_hz=0.0))
    samples, _ = scene.render_complex()
    return samples, tuned


@pytest.mark.parametrize(
    ("ppm", "seed", "snr_db"), [(31.4, 1, 25.0), (-18.9, 2, 10.0), (0.7, 3, 10.0), (-50.0, 4, 5.0), (48.0, 5, 10.0)]
)
def test_fcch_measurement_recovers_the_crystal_error(ppm: float, seed: int, snr_db: float) -> None:
    samples, tuned = _bcch_capture(ppm, seed, snr_db)
    result = measure_ppm_gsm_fcch(samples, FS, tuned, BCCH_HZ)
    # at 942 MHz 0.05 ppm is 47 Hz; ten FCCH bursts at >= 5 dB in 200 kHz measure far better than that
    assert result.ppm == pytest.approx(ppm, abs=0.05), f"measured {result.ppm:.3f} ppm, dongle runs {ppm} ppm fast"
    assert result.method == "gsm_fcch"


@pytest.mark.parametrize(("ppm", "seed", "snr_db", "duration_s"), [(25.0, 6, 20.0, 0.5), (-44.0, 7, 10.0, 1.0)])
def test_weak_fcch_tone_alone_is_found(ppm: float, seed: int, snr_db: float, duration_s: float) -> None:
    """The FCCH bursts alone at 10 dB in 1 kHz (the carrier 13 dB below the noise in 200 kHz) over 1 s."""
    samples, tuned = _fcch_only_capture(ppm, seed, snr_db, duration_s)
    result = measure_ppm_gsm_fcch(samples, FS, tuned, BCCH_HZ)
    # about 20 bursts of 0.45 ms at 10 dB in 1 kHz: the frequency is good to ~150 Hz (0.16 ppm) rms
    assert result.ppm == pytest.approx(ppm, abs=0.5), f"measured {result.ppm:.3f} ppm, dongle runs {ppm} ppm fast"


def test_steady_spur_where_the_fcch_should_be_is_not_taken_for_it() -> None:
    """A CW spur is as strong at every multiframe phase: it is no FCCH, whatever its frequency."""
    samples, tuned = _fcch_only_capture(0.0, 8, -100.0, 0.5, spur_hz=BCCH_HZ + FCCH_OFFSET_HZ + 3e3)
    with pytest.raises(CalibrationFailed, match="no FCCH found"):
        measure_ppm_gsm_fcch(samples, FS, tuned, BCCH_HZ)


def test_short_capture_is_a_clear_failure() -> None:
    samples, tuned = _bcch_capture(10.0, 9, 20.0, duration_s=0.2)
    with pytest.raises(CalibrationFailed, match=r"0\.33 s"):
        measure_ppm_gsm_fcch(samples, FS, tuned, BCCH_HZ)


def test_corrected_tuning_lands_on_the_wanted_frequency() -> None:
    ppm = 42.0
    asked = corrected_tuning_hz(900e6, ppm)
    assert asked * (1 + ppm * 1e-6) == pytest.approx(900e6, abs=1e-3), "a fast tuner asked for less lands right"


def test_no_reference_tone_is_a_clear_failure() -> None:
    samples = (np.random.default_rng(0).standard_normal(2 * 1_200_000).astype(np.float32).view(np.complex64)) * 0.01
    with pytest.raises(CalibrationFailed, match="stronger BCCH carrier"):
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
