"""Bursts across the tuner centre on a dongle with a DC offset. The offset is a tone at 0 Hz tens of dB over the
noise in the bins it fills: the detector notches those bins out of Z, and must measure a burst across them
against its neighbours' floor (the spike's own would swamp the burst's power profile with the notch's noise) and
leave the offset out of the samples its features read (a constant added to a constant envelope is not one)."""

from __future__ import annotations

import numpy as np
import pytest

from cellward.bench_sensitivity import FS, detect
from sim.signals import gsm, lte
from sim.signals.ofdm import to_capture_rate
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from sim.signals.scoring import match
from sim.signals.truth import BurstWave, Emission

BURSTS = 12
DONGLE = Receiver(noise_sigma_lsb=2.0, ppm=0.0, dc_offset_lsb=2.5, iq_gain_db=0.0, iq_phase_deg=0.0)


def across_dc(technology: str, snr_db: float, seed: int) -> Scene:
    """BURSTS bursts 8 ms apart whose band holds the tuner centre: a 3-RB PUSCH subframe from -360 to +180 kHz,
    or a GSM normal burst from -60 to +140 kHz."""
    rng = np.random.default_rng(seed)
    waves = []
    for k in range(BURSTS):
        start = 0.02 + 0.008 * k
        if technology == "lte":
            native = lte.pusch_samples(3, 1, rng)
            samples = to_capture_rate(native, lte.NATIVE_RATE_HZ, FS)
            waves.append(BurstWave(start, samples, -90e3, 3 * lte.RB_HZ, 1e-3, "PUSCH"))
        else:
            samples, lead = gsm.gmsk(gsm.normal_burst_bits(rng), FS)
            waves.append(BurstWave(start, samples, 40e3, gsm.CHANNEL_HZ, 148 * gsm.BIT_S, "TCH/F", lead))
    fc = {"lte": 847.0e6, "gsm": 897.0e6}[technology]
    return Scene(FS, fc, 0.03 + 0.008 * BURSTS, DONGLE, seed).add(Emission(technology, fc, tuple(waves), snr_db))


@pytest.mark.parametrize(("technology", "snr_db"), [("lte", 12.0), ("gsm", 15.0)])
def test_a_burst_across_the_dc_spike_is_measured_whole_and_named_right(technology: str, snr_db: float) -> None:
    bursts, truth = detect(across_dc(technology, snr_db, seed=11))
    matched = match(bursts, truth)
    assert len(matched) == BURSTS, f"{len(matched)} of {BURSTS} found"
    found = [bursts[j] for j in matched.values()]
    labels = [burst.technology for burst in found]
    assert labels.count(technology) == BURSTS, f"labels {labels}"
    for burst, (i, _) in zip(found, matched.items(), strict=True):
        assert burst.duration_s == pytest.approx(truth[i].duration_s, rel=0.2), f"{burst.duration_s * 1e3:.3f} ms"
        assert burst.snr_db == pytest.approx(truth[i].snr_db, abs=2.0), f"SNR {burst.snr_db:.1f} dB"
