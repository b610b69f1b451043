"""Detection and classification of real air-interface waveforms from sim.signals, against the physics.

Sensitivity is held against the ideal energy detector (which knows each burst's exact duration, band
and position) at the detector's configured false-alarm probability per test: the detector must reach
Pd = 0.9 within 2 dB of the SNR the ideal needs. Technologies must come out right on >= 98 % of the
matched bursts at 10 dB SNR or more.
"""

from __future__ import annotations

import numpy as np
import pytest

from cellward.bench_sensitivity import FS, SENSITIVITY_CASES, SNR_POINTS_DB, detect, pd_curve, snr_at
from dsp.cfar import CfarConfig
from sim.signals import gsm, lte, nr
from sim.signals.ideal_detector import ideal_snr_db_at
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from sim.signals.scoring import match
from sim.signals.truth import TruthBurst


def sensitivity_gap_db(technology: str) -> tuple[float, str]:
    """How many dB more than the ideal energy detector the detector needs for Pd = 0.9, and the curve."""
    _, duration_s, bandwidth_hz = SENSITIVITY_CASES[technology]
    pds = pd_curve(technology)
    ideal = ideal_snr_db_at(0.9, duration_s, bandwidth_hz, CfarConfig().false_alarm_probability)
    curve = ", ".join(f"{s:+.0f} dB: {p:.2f}" for s, p in zip(SNR_POINTS_DB, pds, strict=True))
    return snr_at(0.9, pds) - ideal, f"ideal {ideal:.1f} dB; Pd curve {curve}"


@pytest.mark.slow
@pytest.mark.parametrize("technology", ["gsm", "lte", "nr"])
def test_detection_within_2db_of_the_ideal_energy_detector(technology: str) -> None:
    gap, detail = sensitivity_gap_db(technology)
    assert gap <= 2.0, f"{technology}: Pd 0.9 needs {gap:.1f} dB more than the ideal (limit 2 dB); {detail}"


def mixed_traffic(seed: int) -> list[Scene]:
    """Calls, sessions and access attempts of every technology at 10-25 dB, each in its own band."""
    rng = np.random.default_rng(seed)
    receiver = Receiver.varied(rng)

    def snr() -> float:
        return float(rng.uniform(12, 25))

    gsm_fc = 897.1e6
    gsm_scene = Scene(FS, gsm_fc, 0.3, receiver, seed).add(
        gsm.call(FS, gsm.uplink_arfcn_hz(33), 4, 0.0, 0.3, snr(), rng),
        gsm.call(FS, [gsm.uplink_arfcn_hz(n) for n in (36, 38, 40)], 1, 0.0, 0.3, snr(), rng),
        gsm.access(FS, gsm.uplink_arfcn_hz(35), [0.05, 0.12, 0.2], snr(), rng),
    )
    lte_fc = 847.0e6
    lte_scene = Scene(FS, lte_fc, 0.3, receiver, seed + 1).add(
        lte.data_session(FS, 847.0e6, 6, 0.0, 0.3, snr(), rng, max_rbs=4),  # a 1.4 MHz carrier, all of it seen
        lte.volte(FS, 847.4e6, 15, 0.0, 0.3, snr(), rng),  # a 3 MHz carrier: its upper edge is outside
        lte.random_access(FS, 847.0e6, 6, 0.15, snr(), rng),
    )
    nr_scene = Scene(FS, 718.0e6, 0.3, receiver, seed + 2).add(
        nr.data_session(FS, 718.0e6, 11, 15e3, 0.0, 0.15, snr(), rng, max_prbs=8),
        nr.data_session(FS, 718.0e6, 5, 30e3, 0.15, 0.15, snr(), rng, max_prbs=5),
    )
    return [gsm_scene, lte_scene, nr_scene]


def inside_usable_band(truth: TruthBurst, scene: Scene) -> bool:
    """Bursts the receiver sees whole: the outer 6 % each side of the capture is the decimator's roll-off."""
    offset = truth.freq_hz - scene.center_freq_hz
    return abs(offset) + truth.bandwidth_hz / 2 <= 0.44 * scene.sample_rate_hz


def confusion_at_10db() -> tuple[float, int, str]:
    """Share of matched bursts at >= 10 dB (whole in the usable band) given the right technology."""
    confusion: dict[tuple[str, str], int] = {}
    for seed in (1, 2):
        for scene in mixed_traffic(seed):
            bursts, truth = detect(scene)
            strong = [t for t in truth if t.snr_db >= 10 and t.is_phone_uplink and inside_usable_band(t, scene)]
            for i, j in match(bursts, strong, abs(scene.receiver.apparent_shift_hz(scene.center_freq_hz))).items():
                key = (strong[i].technology, bursts[j].technology)
                confusion[key] = confusion.get(key, 0) + 1
    total = sum(confusion.values())
    right = sum(n for (t, d), n in confusion.items() if t == d)
    table = ", ".join(f"{t}->{d}: {n}" for (t, d), n in sorted(confusion.items()))
    return right / total, total, table


@pytest.mark.slow
def test_technologies_are_right_on_98_percent_of_bursts_at_10db_or_more() -> None:
    share, total, table = confusion_at_10db()
    assert total > 300, f"too few matched bursts to judge: {total}"
    assert share >= 0.98, f"technology right on {share:.4f} of {total}; {table}"
