"""A PUCCH slot sent in the frames of a long PUSCH elsewhere in the band is found whole, as LTE.

Its columns of the spectrogram carry the slot for a tenth of the component's frames, so against the PUSCH's level
the slot sits near the line between strong and weak, and was cut in two along frequency: two half-width pieces, the
narrower one labelled `unknown`.
"""

from __future__ import annotations

import numpy as np
import pytest

from cellward.bench_sensitivity import CLEAN_RECEIVER, FS, detect
from sim.signals import lte
from sim.signals.ofdm import to_capture_rate
from sim.signals.scene import Scene
from sim.signals.scoring import match
from sim.signals.truth import BurstWave, Emission

CARRIER_HZ = 847.0e6
SLOTS = 12


def one_block(native: np.ndarray, start_s: float, offset_hz: float, duration_s: float, channel: str) -> BurstWave:
    samples = to_capture_rate(native, lte.NATIVE_RATE_HZ, FS)
    return BurstWave(start_s, samples, offset_hz, lte.RB_HZ, duration_s, channel)


def pusch_with_pucch_slots(seed: int) -> Scene:
    """Twelve 5 ms one-block PUSCH runs at +270 kHz, each with a PUCCH slot at -450 kHz one to four ms in."""
    rng = np.random.default_rng(seed)
    waves = []
    for k in range(SLOTS):
        start = 0.02 + 0.012 * k
        waves.append(one_block(lte.pusch_samples(1, 5, rng), start, 270e3, 5e-3, "PUSCH"))
        slot_start = start + 1e-3 * (1 + k % 4)
        waves.append(one_block(lte.pucch_slot_samples(rng), slot_start, -450e3, lte.SLOT_S, "ACK"))
    emission = Emission("lte", CARRIER_HZ, tuple(waves), 20.0)
    return Scene(FS, CARRIER_HZ, 0.18, CLEAN_RECEIVER, seed).add(emission)


@pytest.mark.parametrize("seed", [1, 2])
def test_each_pucch_slot_in_a_long_puschs_frames_is_found_whole_as_lte(seed: int) -> None:
    bursts, truth = detect(pusch_with_pucch_slots(seed))
    slots = [t for t in truth if t.channel == "ACK"]
    matched = match(bursts, slots, 0.0)
    assert len(matched) == SLOTS, f"{len(matched)} of {SLOTS} slots found"
    for j in matched.values():
        burst = bursts[j]
        assert burst.technology == "lte" and burst.bandwidth_hz > 150e3, burst
    pieces = [b for b in bursts if b.freq_hz < CARRIER_HZ - 300e3]
    assert len(pieces) == SLOTS, f"{len(pieces)} detections about the slots' block, {SLOTS} slots sent"
