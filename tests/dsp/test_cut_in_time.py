"""What a burst cut by the start or end of the stream may say about its technology.

A sensor restarts its detector for every dwell, so the first and last frames of each dwell cut whatever burst
is on the air then. Only part of such a burst is seen, so its measured duration is a lower bound (the time twin
of a burst cut by the capture's band edge), and a part seen in a frame or two has neither its envelope nor its
band measured as the whole burst's. A GSM burst cut to 40-120 us was labelled LTE: the part fitted LTE's 85 us
SRS symbol while GSM's 0.335/0.555 ms bursts scored at their floor.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cellward.bench_sensitivity import CLEAN_RECEIVER, FS, detect
from dsp.band_plan import BandPlan
from dsp.burst import Burst
from dsp.classify import Candidate, classify_candidates
from dsp.classify.base import Neighbours
from dsp.classify.evidence import GSM_FRAME_S, grid_matches
from dsp.subframes import split_into_subframes
from sim.signals import gsm, lte
from sim.signals.ofdm import to_capture_rate
from sim.signals.scene import Scene
from sim.signals.truth import BurstWave, Emission

CAPTURE_S = 0.03
B8_TUNER_HZ = 897.0e6  # GSM and LTE both deployed
B20_TUNER_HZ = 847.0e6  # LTE only: a PUCCH slot in B8 is as much a GSM burst's shape as LTE's
NORMAL_BURST_S = gsm.NORMAL_BITS * gsm.BIT_S


def gsm_burst(start_s: float, offset_hz: float, rng: np.random.Generator) -> BurstWave:
    samples, lead_s = gsm.gmsk(gsm.normal_burst_bits(rng), FS)
    return BurstWave(start_s, samples, offset_hz, gsm.CHANNEL_HZ, NORMAL_BURST_S, "TCH/F", lead_s)


def lte_burst(channel: str, start_s: float, offset_hz: float, rng: np.random.Generator) -> BurstWave:
    """A PUCCH slot (one resource block) or a PUSCH subframe on three."""
    if channel == "PUCCH":
        native, rbs, duration_s = lte.pucch_slot_samples(rng), 1, lte.SLOT_S
    else:
        native, rbs, duration_s = lte.pusch_samples(3, 1, rng), 3, lte.SUBFRAME_S
    samples = to_capture_rate(native, lte.NATIVE_RATE_HZ, FS)
    return BurstWave(start_s, samples, offset_hz, rbs * lte.RB_HZ, duration_s, channel)


def straddling(duration_s: float, inside_s: float, edge: str) -> float:
    """Start of a burst `duration_s` long of which `inside_s` lie inside the capture, at its `edge`."""
    return inside_s - duration_s if edge == "start" else CAPTURE_S - inside_s


def detect_emission(technology: str, tuner_hz: float, waves: list[BurstWave], snr_db: float, seed: int) -> list[Burst]:
    emission = Emission(technology, tuner_hz, tuple(waves), snr_db)
    scene = Scene(FS, tuner_hz, CAPTURE_S, CLEAN_RECEIVER, seed).add(emission)
    return detect(scene)[0]


def at_edge(bursts: list[Burst], edge: str, freq_hz: float) -> Burst:
    """The strongest burst reported at the capture's `edge` on the channel at `freq_hz`."""
    on_channel = [b for b in bursts if abs(b.freq_hz - freq_hz) < 150e3]
    near = [b for b in on_channel if (b.start_s < 0.1e-3 if edge == "start" else b.end_s > CAPTURE_S - 0.15e-3)]
    assert near, f"nothing reported at the capture's {edge} on {freq_hz / 1e6:.1f} MHz: {on_channel}"
    return max(near, key=lambda b: b.snr_db)


# 40 us at the end lie almost wholly in samples after the last whole frame: such a part is not detected at all
@pytest.mark.parametrize(
    ("edge", "inside_us"), [("start", 40), ("start", 80), ("start", 120), ("end", 80), ("end", 120)]
)
@pytest.mark.parametrize("snr_db", [20.0, 35.0])
@pytest.mark.parametrize("offset_hz", [-400e3, 600e3])
@pytest.mark.parametrize("in_call", [False, True], ids=["alone", "in-its-call"])
def test_a_gsm_burst_cut_by_the_capture_is_gsm(
    edge: str, inside_us: int, snr_db: float, offset_hz: float, in_call: bool
) -> None:
    rng = np.random.default_rng(inside_us + int(snr_db))
    cut_start = straddling(NORMAL_BURST_S, inside_us * 1e-6, edge)
    step = GSM_FRAME_S if edge == "start" else -GSM_FRAME_S  # the rest of its call, on the TDMA frame grid
    starts = [cut_start + k * step for k in range(6 if in_call else 1)]
    waves = [gsm_burst(start, offset_hz, rng) for start in starts]
    bursts = detect_emission("gsm", B8_TUNER_HZ, waves, snr_db, seed=inside_us)
    cut = at_edge(bursts, edge, B8_TUNER_HZ + offset_hz)
    assert cut.technology == "gsm", f"{inside_us} us of a GSM burst at the capture's {edge} labelled {cut}"
    assert (cut.cut_at_start, cut.cut_at_end) == (edge == "start", edge == "end"), cut
    whole = [b for b in bursts if b is not cut and abs(b.freq_hz - cut.freq_hz) < 150e3]
    assert len(whole) == len(starts) - 1, f"the rest of the call: {whole}"
    assert all(b.technology == "gsm" and not (b.cut_at_start or b.cut_at_end) for b in whole), whole


@pytest.mark.parametrize(("edge", "inside_us"), [("start", 60), ("start", 120), ("end", 80), ("end", 120)])
@pytest.mark.parametrize("snr_db", [20.0, 35.0])
@pytest.mark.parametrize(
    ("channel", "tuner_hz", "offset_hz"),
    [
        ("PUSCH", B8_TUNER_HZ, -300e3),
        ("PUSCH", B8_TUNER_HZ, 250e3),
        ("PUCCH", B20_TUNER_HZ, -600e3),
        ("PUCCH", B20_TUNER_HZ, 250e3),
    ],
)
def test_an_lte_burst_cut_by_the_capture_is_still_lte(
    edge: str, inside_us: int, snr_db: float, channel: str, tuner_hz: float, offset_hz: float
) -> None:
    # a 3-RB PUSCH subframe in B8 (too wide for GSM) and a PUCCH slot in B20
    rng = np.random.default_rng(inside_us + int(snr_db))
    duration_s = lte.SLOT_S if channel == "PUCCH" else lte.SUBFRAME_S
    wave = lte_burst(channel, straddling(duration_s, inside_us * 1e-6, edge), offset_hz, rng)
    cut = at_edge(detect_emission("lte", tuner_hz, [wave], snr_db, seed=inside_us), edge, tuner_hz + offset_hz)
    assert cut.technology == "lte", f"{inside_us} us of an LTE {channel} at the capture's {edge} labelled {cut}"


def cut_part(duration_s: float, kurtosis: float, **cut: bool) -> Candidate:
    """A burst 210 kHz wide at 20 dB, 300 kHz from the B8 tuner, cut at the stream's start or end."""
    return Candidate(
        start_s=0.0,
        duration_s=duration_s,
        freq_hz=B8_TUNER_HZ + 300e3,
        bandwidth_hz=210e3,
        power=1e-4,
        snr=100.0,
        offset_from_tuner_hz=300e3,
        capture_half_width_hz=FS / 2,
        features={"envelope_kurtosis": kurtosis, "cp15": math.nan, "cp30": math.nan},
        **cut,
    )


def classify_alone(candidate: Candidate) -> Burst:
    (burst,) = classify_candidates([candidate], [candidate], B8_TUNER_HZ, BandPlan.load(), 0.03)
    return burst


@pytest.mark.parametrize("edge", ["cut_at_start", "cut_at_end"])
@pytest.mark.parametrize("duration_s", [0.05e-3, 0.085e-3, 0.2e-3, 0.4e-3])
def test_a_cut_part_of_a_gsm_burst_is_no_shorter_burst_of_another_technology(edge: str, duration_s: float) -> None:
    # as long as an SRS symbol or a PUCCH slot's part: a cut GMSK burst is as likely as any that long or longer
    assert classify_alone(cut_part(duration_s, 1.04, **{edge: True})).technology == "gsm"


def test_a_cut_burst_is_at_least_as_long_as_its_visible_part() -> None:
    # 1.2 ms seen of a constant-envelope burst 210 kHz wide: no GSM burst is that long, however it was cut
    assert classify_alone(cut_part(1.2e-3, 1.04, cut_at_end=True)).technology != "gsm"


def test_a_burst_cut_at_its_start_is_timed_on_the_frame_grid_by_its_end() -> None:
    # its start is the stream's, not on the grid; its end and the ends of its call's bursts are
    call = [cut_part(NORMAL_BURST_S, 1.04) for _ in range(3)]
    for k, burst in enumerate(call, start=1):
        burst.start_s = 0.08e-3 + k * GSM_FRAME_S - NORMAL_BURST_S
    neighbours = Neighbours.of(call)
    assert grid_matches(cut_part(0.08e-3, 1.04, cut_at_start=True), neighbours, GSM_FRAME_S, 25e-6, 8) == 3
    timed_by_its_start = cut_part(0.08e-3, 1.04, cut_at_end=True)
    assert grid_matches(timed_by_its_start, neighbours, GSM_FRAME_S, 25e-6, 8) == 0


@pytest.mark.parametrize("edge", ["cut_at_start", "cut_at_end"])
def test_only_the_piece_of_a_cut_lte_run_at_the_cut_is_marked(edge: str) -> None:
    run = Burst(0.0, 3.0e-3, B20_TUNER_HZ, 540e3, -40.0, 15.0, -65.2, technology="lte", **{edge: True})
    pieces = split_into_subframes(run)
    marks = [getattr(piece, edge) for piece in pieces]
    assert marks == ([True, False, False] if edge == "cut_at_start" else [False, False, True]), marks
