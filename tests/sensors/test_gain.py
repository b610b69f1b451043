"""Gain per band: clipping backs the gain off, clean dwells bring it back, and dBm follows the gain."""

from __future__ import annotations

import numpy as np

from sensors.gain import (
    GainConfig,
    GainController,
    PowerCalibration,
    clipped_fraction,
    noise_sigma_lsb,
    peak_dbfs,
)
from sensors.sources.base import R820T_GAINS_DB
from sensors.sources.scene import SceneConfig, SceneEmitter, SceneSource


def noisy() -> float:
    return 3.0  # receiver noise well above the ADC's step: backing off is never held


def test_clipping_is_counted_on_full_scale_components() -> None:
    x = np.full(1000, 0.1 + 0.1j, np.complex64)
    x[:10] = 1.0 + 0.0j
    assert clipped_fraction(x) == 10 / 2000


def test_the_clipped_share_and_the_peak_are_numpys_figures_exactly() -> None:
    """The node's one-pass kernels against numpy's definitions on dongle samples (8-bit steps), at every length
    parity, scaled so that some dwells clip and some do not, and on a strided view and complex128."""
    rng = np.random.default_rng(3)
    clipping = 0
    for trial in range(60):
        steps = rng.integers(0, 256, size=2 * int(rng.integers(1, 5000))).astype(np.float32)
        scale = np.float32(1.0 if trial % 3 == 0 else rng.uniform(0.2, 1.0))
        x = ((steps - 127.5) / 127.5 * scale).view(np.complex64)
        components = x.view(np.float32)
        assert clipped_fraction(x) == np.count_nonzero(np.abs(components) >= 0.99) / components.size, trial
        clipping += clipped_fraction(x) > 0
        power = x.real**2 + x.imag**2
        assert peak_dbfs(x) == float(10 * np.log10(max(float(power.max()), 1e-20))), trial
    assert clipping >= 20, "a third of the dwells reach full scale"
    strided = x[::3]
    assert clipped_fraction(strided) == clipped_fraction(strided.copy())
    assert peak_dbfs(x.astype(np.complex128)) == peak_dbfs(x)
    assert clipped_fraction(np.zeros(0, np.complex64)) == 0.0
    assert peak_dbfs(np.zeros(0, np.complex64)) == -200.0
    assert peak_dbfs(np.zeros(8, np.complex64)) == -200.0, "silence reads as the floor of the scale"


def test_a_phone_close_by_drives_the_gain_down_until_it_stops_clipping() -> None:
    source = SceneSource(
        SceneConfig(realtime=False, emitters=[SceneEmitter(technology="gsm_call", freq_hz=897.4e6, snr_db=48)])
    )
    source.open()
    source.tune(897e6)
    gains = GainController(GainConfig(initial_db=49.6), R820T_GAINS_DB)
    history = []
    for _ in range(8):
        gain = source.set_gain(gains.gain_for("B8"))
        samples = source.read(120_000)
        clipped = clipped_fraction(samples)
        history.append((gain, clipped))
        gains.observe("B8", clipped, 0.0, lambda x=samples: noise_sigma_lsb(x))
    assert history[0][1] > 1e-3, f"at full gain the close phone clips: {history[0]}"
    assert history[-1][1] <= 1e-4, f"the controller backs off until clipping stops: {history}"
    assert history[-1][0] < history[0][0] - 10


def test_clean_dwells_let_the_gain_creep_back_up_and_manual_gain_stays_put() -> None:
    gains = GainController(GainConfig(initial_db=20, recover_after_dwells=3, recover_step_db=3), R820T_GAINS_DB)
    start = gains.gain_for("B20")
    for _ in range(3):
        gains.observe("B20", 0.0, -40.0, noisy)
    assert gains.gain_for("B20") > start
    gains.set_manual("B20", 10.0, ["B20"])
    for _ in range(10):
        gains.observe("B20", 0.5, 0.0, noisy)
    assert gains.gain_for("B20") == 8.7, "a fixed gain (snapped to a tuner step) ignores clipping"
    gains.set_manual(None, None, ["B20"])
    gains.observe("B20", 0.5, 0.0, noisy)
    assert gains.gain_for("B20") < 8.7, "released to automatic, it backs off again"


def test_power_in_dbm_does_not_depend_on_the_gain_used() -> None:
    calibration = PowerCalibration(dbfs_to_dbm_at_0db=-12.0, extra_db=1.5)
    # a -70 dBm signal reads -29.5 dBFS at 30 dB gain and -49.5 dBFS at 10 dB gain
    assert -29.5 + calibration.calibration_db(30.0) == -70.0
    assert -49.5 + calibration.calibration_db(10.0) == -70.0


def test_the_noise_estimate_reads_the_receivers_noise_through_bursts_and_dc() -> None:
    rng = np.random.default_rng(3)
    lsb = 1 / 127.5
    noise = (rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)) * 2.5 * lsb + (3 + 2j) * lsb
    noise[(np.arange(noise.size) // 1385) % 8 == 0] += 0.5  # a strong GSM call: one 577 us slot in eight
    assert abs(noise_sigma_lsb(noise.astype(np.complex64)) - 2.5) < 0.25


def test_the_gain_stops_backing_off_where_the_noise_would_sink_below_the_adcs_step() -> None:
    """An impulsive emitter that clips at any gain must not take a whole band's sensitivity with it."""
    gains = GainController(GainConfig(initial_db=40.2, min_noise_lsb=0.7), R820T_GAINS_DB)
    noise_at_40_db = 2.3  # LSB per I and Q at 40.2 dB, moving dB for dB with the gain (the tuner's noise)
    steps = []
    for _ in range(10):
        gain = gains.gain_for("B8")
        gains.observe("B8", 0.01, 3.0, lambda g=gain: noise_at_40_db * 10 ** ((g - 40.2) / 20))
        steps.append(gains.gain_for("B8"))
    final = steps[-1]
    assert noise_at_40_db * 10 ** ((final - 40.2) / 20) >= 0.7, f"the noise stays above 0.7 LSB: {steps}"
    assert final < 40.2 and steps[-3:] == [final] * 3, f"it backs off, then holds: {steps}"
    assert gains.noise_floor_holds == 1, "the hold is counted once, not per dwell"
