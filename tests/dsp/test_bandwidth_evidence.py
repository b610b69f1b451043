"""What a burst's measured width may say about its technology.

No LTE or NR uplink allocation is narrower than one resource block (180 kHz; a PUCCH slot is one block
too), so a burst measured well under that is no LTE or NR burst unless it is too weak to measure whole.
A burst cut by the capture edge shows only part of its band: its measured width is a lower bound, and
neither its width nor the envelope of that part of the band may be read as the whole burst's.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from cellward.bench_sensitivity import CLEAN_RECEIVER, FS, detect
from dsp.band_plan import BandPlan
from dsp.burst import Burst
from dsp.classify import Candidate, classify_candidates
from sim.signals import gsm, lte
from sim.signals.ofdm import to_capture_rate
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from sim.signals.scoring import match
from sim.signals.truth import BurstWave, Emission

B8_TUNER_HZ = 897.0e6  # GSM and LTE both deployed (the demo's burner phone is a GSM phone in B8)
B20_TUNER_HZ = 847.0e6  # LTE only: a lone PUCCH slot in B8 is as much a GSM burst's shape as LTE's
USABLE_EDGE_HZ = 0.44 * FS  # the detector sets the outer 6 % of the capture either side to the floor


def classify_alone(candidate: Candidate) -> Burst:
    (burst,) = classify_candidates([candidate], [candidate], B8_TUNER_HZ, BandPlan.load(), 0.03)
    return burst


def burst_like(
    offset_hz: float, bandwidth_hz: float, duration_s: float, snr_db: float, kurtosis: float = math.nan
) -> Candidate:
    return Candidate(
        start_s=0.1,
        duration_s=duration_s,
        freq_hz=B8_TUNER_HZ + offset_hz,
        bandwidth_hz=bandwidth_hz,
        power=1e-4,
        snr=10 ** (snr_db / 10),
        offset_from_tuner_hz=offset_hz,
        capture_half_width_hz=FS / 2,
        features={"envelope_kurtosis": kurtosis, "cp15": math.nan, "cp30": math.nan},
    )


@pytest.mark.parametrize("snr_db", [10.0, 15.0, 20.0])
@pytest.mark.parametrize("kurtosis", [1.0, 1.2])
@pytest.mark.parametrize("duration_s", [0.335e-3, 0.555e-3, 1.0e-3])
def test_a_constant_envelope_burst_measured_100khz_wide_at_10db_or_more_is_never_lte_or_nr(
    snr_db: float, kurtosis: float, duration_s: float
) -> None:
    # a GSM burst (or other narrow energy) well inside the capture: at 10 dB and more the detector measures
    # a 180 kHz allocation 195-230 kHz wide, so 100 kHz is no LTE or NR burst
    candidate = burst_like(300e3, 100e3, duration_s, snr_db, kurtosis)
    assert not candidate.touches_capture_edge
    burst = classify_alone(candidate)
    assert burst.technology in ("gsm", "unknown"), f"a 100 kHz burst labelled {burst.technology}: {burst.features}"


def cut_by_the_edge(visible_hz: float, duration_s: float, kurtosis: float = math.nan) -> Candidate:
    """A burst whose band runs past the upper usable edge: `visible_hz` of it are measured."""
    return burst_like(USABLE_EDGE_HZ - visible_hz / 2, visible_hz, duration_s, 15.0, kurtosis)


@pytest.mark.parametrize("duration_s", [0.555e-3, 1.0e-3])
def test_the_visible_width_of_a_cut_burst_does_not_choose_its_technology(duration_s: float) -> None:
    # 60-170 kHz seen of a burst cut by the edge: a GSM channel and any LTE/NR allocation can show that
    bursts = [classify_alone(cut_by_the_edge(visible, duration_s)) for visible in (60e3, 100e3, 140e3, 170e3)]
    assert all(c.touches_capture_edge for c in (cut_by_the_edge(v, duration_s) for v in (60e3, 170e3)))
    assert len({b.technology for b in bursts}) == 1, [(b.bandwidth_hz, b.technology) for b in bursts]
    for technology in ("gsm", "lte", "nr"):
        shares = [b.features[f"p_{technology}"] for b in bursts]
        assert max(shares) - min(shares) <= 0.1, f"p_{technology} moves with the visible width: {shares}"


def test_a_cut_burst_is_at_least_as_wide_as_its_visible_part() -> None:
    # 600 kHz seen of a 0.555 ms burst: no GSM channel is that wide, however it was cut
    assert classify_alone(cut_by_the_edge(600e3, 0.555e-3)).technology != "gsm"


def test_a_cut_one_subframe_burst_seen_narrow_is_still_lte() -> None:
    # a PUSCH subframe of a carrier running past the capture edge, 100 kHz of it seen
    assert classify_alone(cut_by_the_edge(100e3, 1.0e-3, kurtosis=1.45)).technology == "lte"


def matched_labels(scene: Scene) -> tuple[Counter[str], int]:
    bursts, truth = detect(scene)
    pairs = match(bursts, truth, abs(scene.receiver.apparent_shift_hz(scene.center_freq_hz)))
    return Counter(bursts[j].technology for j in pairs.values()), len(truth)


@pytest.mark.parametrize("offset_hz", [-1080e3, -1050e3, 1020e3, 1050e3, 1080e3])
def test_a_gsm_call_cut_by_the_capture_edge_is_never_labelled_lte_or_nr(offset_hz: float) -> None:
    # the ARFCN's 200 kHz reach past the usable band's edge at 1056 kHz by 64-180 kHz: 60-140 kHz are seen,
    # and the envelope of part of a GMSK band is not constant (kurtosis 1.4-2.4 measured)
    labels: Counter[str] = Counter()
    transmitted = 0
    for seed, snr_db in ((1, 12.0), (2, 20.0)):
        rng = np.random.default_rng(seed)
        arfcn_hz = gsm.uplink_arfcn_hz(40)
        scene = Scene(FS, arfcn_hz - offset_hz, 0.15, Receiver.varied(rng), seed)
        got, count = matched_labels(scene.add(gsm.call(FS, arfcn_hz, 3, 0.0, 0.15, snr_db, rng)))
        labels += got
        transmitted += count
    assert labels.total() >= 0.9 * transmitted, f"only {labels.total()} of {transmitted} bursts found"
    assert set(labels) <= {"gsm", "unknown"}, f"GSM bursts cut by the capture edge labelled {dict(labels)}"
    assert labels["gsm"] >= 0.9 * labels.total(), f"duration and frame timing still tell GSM: {dict(labels)}"


@pytest.mark.parametrize("channel", ["PUCCH", "PUSCH"])
def test_weak_one_resource_block_lte_bursts_are_still_lte(channel: str) -> None:
    # at 5-7 dB a 180 kHz burst is often measured narrower (its edges sink into the noise): 5 % of them
    # under 168 kHz and 2 % under 92 kHz at 5-6 dB measured
    rng = np.random.default_rng(3)
    waves = []
    for k in range(60):
        if channel == "PUCCH":
            native, duration_s = lte.pucch_slot_samples(rng), lte.SLOT_S
        else:
            native, duration_s = lte.pusch_samples(1, 1, rng), lte.SUBFRAME_S
        samples = to_capture_rate(native, lte.NATIVE_RATE_HZ, FS)
        waves.append(
            BurstWave(0.02 + 0.008 * k, samples, (-400e3, 100e3, 500e3)[k % 3], lte.RB_HZ, duration_s, channel)
        )
    labels: Counter[str] = Counter()
    for seed, snr_db in ((4, 5.0), (5, 6.0), (6, 7.0)):
        emission = Emission("lte", B20_TUNER_HZ, tuple(waves), snr_db)
        scene = Scene(FS, B20_TUNER_HZ, 0.52, CLEAN_RECEIVER, seed).add(emission)
        labels += matched_labels(scene)[0]
    assert labels["lte"] >= 0.95 * labels.total(), f"{channel} at 5-7 dB labelled {dict(labels)}"
