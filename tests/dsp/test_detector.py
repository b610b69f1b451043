"""The detector's mechanics on plain energy rectangles: measurement, streaming, segmentation.

The tuner sits outside every uplink band (600 MHz), so the rectangles come out `unknown` and whole;
technology rules (LTE reported per subframe, say) are tested with real waveforms elsewhere.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsp.burst import Burst
from dsp.detector import Detector, DetectorConfig, dc_fill_weight
from tests.dsp.synthetic import Rect, scene

FS = 2.4e6
FC = 600.0e6
UPLINK_FC = 897.0e6
NOISE = 1e-4


def detect(x: np.ndarray, block: int = 1 << 16, fs: float = FS, fc: float = FC) -> list[Burst]:
    detector = Detector(fs, fc)
    bursts: list[Burst] = []
    for i in range(0, len(x), block):
        bursts += detector.process(x[i : i + block])
    return bursts + detector.flush()


def overlaps(b: Burst, r: Rect) -> bool:
    t = min(b.end_s, r.start_s + r.duration_s) - max(b.start_s, r.start_s)
    f = min(b.freq_hz + b.bandwidth_hz / 2, FC + r.offset_hz + r.bandwidth_hz / 2) - max(
        b.freq_hz - b.bandwidth_hz / 2, FC + r.offset_hz - r.bandwidth_hz / 2
    )
    return t > 0.5 * min(b.duration_s, r.duration_s) and f > 0


def test_strong_burst_is_measured_to_a_fraction_of_a_frame() -> None:
    rect = Rect(0.0400, 0.000546, 300e3, 200e3, 20.0)
    (burst,) = detect(scene(FS, 0.1, [rect], NOISE, seed=1))
    # a frame hop is 53 us, a bin 9.4 kHz. A noise-like burst 200 kHz wide fluctuates by about 20 %
    # from frame to frame, which limits its edges to about a hop (a constant-envelope GSM burst does
    # far better: see test_technologies); the band is the -10 dB width, a bin or two wider than a flat
    # allocation
    assert burst.start_s == pytest.approx(rect.start_s, abs=60e-6), "start within 60 us"
    assert burst.duration_s == pytest.approx(rect.duration_s, abs=80e-6), "duration within 80 us"
    assert burst.freq_hz == pytest.approx(FC + rect.offset_hz, abs=10e3), "centre within a bin"
    assert rect.bandwidth_hz <= burst.bandwidth_hz <= rect.bandwidth_hz + 45e3, "-10 dB bandwidth"
    assert burst.snr_db == pytest.approx(rect.snr_db, abs=1.5), "in-band SNR within 1.5 dB"
    expected_dbfs = 10 * math.log10(NOISE * rect.bandwidth_hz / FS) + rect.snr_db
    assert burst.power_dbfs == pytest.approx(expected_dbfs, abs=1.0), "power relative to full scale"
    assert burst.energy_dbfs_s == pytest.approx(burst.power_dbfs + 10 * math.log10(burst.duration_s), abs=0.01)


def test_noise_alone_gives_no_bursts() -> None:
    assert detect(scene(FS, 1.0, [], NOISE, seed=2)) == []


def test_burst_across_a_block_boundary_is_reported_once() -> None:
    boundary_s = (1 << 16) / FS
    rect = Rect(boundary_s - 0.002, 0.004, -200e3, 540e3, 15.0)
    bursts = detect(scene(FS, 0.1, [rect], NOISE, seed=3), block=1 << 16)
    assert len(bursts) == 1 and overlaps(bursts[0], rect)
    assert bursts[0].duration_s == pytest.approx(0.004, abs=50e-6)


def test_block_size_does_not_change_the_answer() -> None:
    rects = [Rect(0.01 + 0.0046 * i, 0.00055, 150e3 * (i % 3), 200e3, 12.0) for i in range(15)]
    x = scene(FS, 0.1, rects, NOISE, seed=4)
    reference = detect(x, block=len(x))
    assert len(reference) == len(rects)
    for block in (4096, 50_000, 1 << 17):
        got = detect(x, block=block)
        assert len(got) == len(reference), f"block size {block} changed the number of bursts"
        for a, b in zip(got, reference, strict=True):
            # the floor evolves block by block, so levels differ in the last digits, not more
            assert a.start_s == pytest.approx(b.start_s, abs=10e-6)
            assert a.freq_hz == pytest.approx(b.freq_hz, abs=3e3)


def test_samples_filled_straight_into_the_detector_give_the_same_bursts() -> None:
    rects = [Rect(0.01 + 0.0046 * i, 0.00055, 150e3 * (i % 3), 200e3, 12.0) for i in range(15)]
    x = scene(FS, 0.1, rects, NOISE, seed=4)
    reference = detect(x, block=50_000)
    assert len(reference) == len(rects)
    detector = Detector(FS, FC)
    got: list[Burst] = []
    for i in range(0, len(x), 50_000):
        block = x[i : i + 50_000]
        got += detector.process_into(len(block), lambda out, block=block: np.copyto(out, block))
    assert got + detector.flush() == reference


def test_a_restarted_detector_answers_as_a_new_one_would() -> None:
    first = scene(FS, 0.2, [Rect(0.17, 0.004, 200e3, 540e3, 15.0)], NOISE, seed=6)  # still held when cut off
    second = scene(FS, 0.1, [Rect(0.05, 0.00055, -300e3, 200e3, 12.0)], NOISE * 4, seed=7)
    detector = Detector(FS, FC)
    detector.process(first)
    detector.restart(UPLINK_FC)  # mid-stream: nothing of the first stream may reach the second
    got = detector.process(second) + detector.flush()
    fresh = Detector(FS, UPLINK_FC)
    expected = fresh.process(second) + fresh.flush()
    assert len(expected) == 1 and got == expected


def test_bursts_come_out_in_time_order_with_band_and_operator() -> None:
    rects = [Rect(0.03, 0.001, 0.0, 540e3, 15.0), Rect(0.01, 0.001, -500e3, 360e3, 15.0)]
    bursts = detect(scene(FS, 0.06, rects, NOISE, seed=5), fc=UPLINK_FC)
    assert [b.start_s for b in bursts] == sorted(b.start_s for b in bursts)
    assert all(b.band == "B8" for b in bursts)
    assert all(b.operators == ("Vodafone",) for b in bursts)


def test_empty_and_tiny_blocks_are_harmless() -> None:
    detector = Detector(FS, FC)
    assert detector.process(np.zeros(0, np.complex64)) == []
    assert detector.process(np.zeros(7, np.complex64)) == []
    assert detector.flush() == []


@st.composite
def separated_rects(draw: st.DrawFn) -> list[Rect]:
    count = draw(st.integers(1, 3))
    rects = []
    for i in range(count):
        bandwidth_hz = draw(st.sampled_from([180e3, 360e3, 540e3, 900e3]))
        # clear of the tuner's DC notch: straddling DC is its own known case below
        side = draw(st.sampled_from([-1.0, 1.0]))
        offset_hz = side * draw(st.floats(bandwidth_hz / 2 + 20e3, 700e3))
        rects.append(
            Rect(
                start_s=0.01 + 0.012 * i + draw(st.floats(0, 0.003)),
                duration_s=draw(st.floats(0.0004, 0.006)),
                offset_hz=offset_hz,
                bandwidth_hz=bandwidth_hz,
                snr_db=draw(st.floats(12, 30)),
            )
        )
    return rects


# derandomized: CI must not depend on which 25 of the examples a run happens to draw (the known weakness
# below is kept as an explicit regression case instead)
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rects=separated_rects(), seed=st.integers(0, 2**16))
def test_each_separate_burst_is_found_once_and_nothing_else(rects: list[Rect], seed: int) -> None:
    bursts = detect(scene(FS, 0.05, rects, NOISE, seed=seed))
    for r in rects:
        hits = [b for b in bursts if overlaps(b, r)]
        assert len(hits) == 1, f"{r} found {len(hits)} times in {bursts}"
        assert hits[0].duration_s == pytest.approx(r.duration_s, rel=0.1, abs=80e-6)
    assert len(bursts) == len(rects), "no burst may appear where nothing was transmitted"


def test_noise_joined_to_a_burst_is_not_reported_as_a_burst_of_its_own() -> None:
    # noise cells 785 kHz from the burst, joined to its component by the low-threshold map and cut off as a
    # part: measured at their highest they passed the verification (197.5 against 196.4), not the seeds' test
    rect = Rect(start_s=0.012329610580401842, duration_s=0.005859375, offset_hz=210837.0, bandwidth_hz=180e3, snr_db=12)
    bursts = detect(scene(FS, 0.05, [rect], NOISE, seed=42568))
    assert len(bursts) == 1, f"one burst was transmitted, {len(bursts)} reported: {bursts}"


@pytest.mark.parametrize(
    "long_one",
    [Rect(0.05, 0.4, -300e3, 540e3, 15.0), Rect(0.05, 0.05, -300e3, 540e3, 15.0)],
    ids=["400ms", "50ms"],
)
def test_short_bursts_beside_a_long_emission_are_each_found(long_one: Rect) -> None:
    # a long emission's component grows through the noise beside it, over hundreds of frames, to take in short
    # bursts elsewhere in the band; they were taken for its spectral skirt (inside its frames) and lost
    shorts = [
        Rect(long_one.start_s + long_one.duration_s * (k + 0.5) / 10, 0.000577, 600e3, 200e3, 15.0) for k in range(10)
    ]
    bursts = detect(scene(FS, 0.5, [long_one, *shorts], NOISE, seed=6), block=1 << 18)
    for r in shorts:
        hits = [b for b in bursts if overlaps(b, r)]
        assert len(hits) == 1 and hits[0].duration_s == pytest.approx(r.duration_s, abs=80e-6), (r, hits)
    assert sum(overlaps(b, long_one) for b in bursts) == 1, bursts


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("bandwidth_hz", [1.44e6, 1.62e6, 1.8e6])
def test_a_long_burst_filling_most_of_the_band_has_no_holes(bandwidth_hz: float, seed: int) -> None:
    # its band mean wanders about the full-band test, and the short runs of frames that pass it were blanked as
    # impulses (holes in an 18 ms 19.9 dB PUSCH of the devset's B20 clip)
    rect = Rect(0.02, 0.018, 0.0, bandwidth_hz, 20.0)
    bursts = detect(scene(FS, 0.06, [rect], NOISE, seed=seed))
    assert len(bursts) == 1 and bursts[0].duration_s == pytest.approx(rect.duration_s, abs=150e-6), bursts


@pytest.mark.parametrize("seed", [5, 6])
def test_a_long_weak_emission_comes_out_in_few_pieces(seed: int) -> None:
    # one resource block at 6 dB for 0.4 s: its component takes in noise cells up to half a wide box off it (1.7 MHz
    # in all), over which its frames dipped to noise by chance, and the cut in time left it in 38-47 pieces
    rect = Rect(0.2, 0.4, -300e3, 180e3, 6.0)
    bursts = detect(scene(FS, 0.6, [rect], NOISE, seed=seed))
    assert all(overlaps(b, rect) for b in bursts), bursts
    assert len(bursts) <= 3 and sum(b.duration_s for b in bursts) > 0.95 * rect.duration_s, bursts


def test_a_short_wide_burst_across_dc_keeps_its_duration() -> None:
    rect = Rect(start_s=0.011953125, duration_s=0.0004, offset_hz=0.0, bandwidth_hz=900e3, snr_db=26.0)
    bursts = detect(scene(FS, 0.05, [rect], NOISE, seed=2))
    assert len(bursts) == 1 and bursts[0].duration_s == pytest.approx(rect.duration_s, rel=0.1, abs=80e-6), bursts


def test_spectrum_tap_sees_every_frames_power_before_and_after_the_floor_is_seeded() -> None:
    from dsp.spectrum import SpectrumGeometry, power_spectra

    x = scene(FS, 0.3, [Rect(0.2, 0.001, 100e3, 360e3, 15.0)], noise_power=NOISE, seed=11)
    tapped: list[np.ndarray] = []
    detector = Detector(FS, FC, spectrum_tap=lambda spectra: tapped.append(spectra.copy()))
    for i in range(0, len(x), 20_000):  # the first blocks arrive before the floor is seeded
        detector.process(x[i : i + 20_000])
    detector.flush()
    geometry = SpectrumGeometry.for_rate(FS)
    expected = np.empty((geometry.frames_in(len(x)), geometry.nfft), np.float32)
    power_spectra(x, geometry.window(), geometry.hop, expected)
    seen = np.concatenate(tapped)
    assert seen.shape == expected.shape, "every frame is tapped once"
    np.testing.assert_allclose(seen, expected, rtol=1e-5, atol=1e-12, err_msg="tapped spectra are the power spectra")


@pytest.mark.parametrize("notch_bins", [1, 2, 3])
def test_the_dc_notchs_copies_weighted_for_cfar_vary_like_independent_noise_cells(notch_bins: int) -> None:
    """The notch fills its 2n - 1 bins with the mean of the two bins beside it; at `dc_fill_weight` the notch
    and those two sum (in floor units, noise |X|^2 exponential) with the variance of 2n + 1 independent
    cells, as the box thresholds assume. At full weight they vary far more (noise blips crossed DC)."""
    rng = np.random.default_rng(5)
    below, above = rng.exponential(size=(2, 400_000))
    copies = 2 * notch_bins - 1
    fill = 0.5 * (below + above)

    def box_sum(weight: float) -> np.ndarray:
        return below + above + copies * (1.0 + weight * (fill - 1.0))

    independent = 2 * notch_bins + 1  # variance of a sum of that many exponential cells
    weighted = box_sum(dc_fill_weight(notch_bins))
    assert weighted.mean() == pytest.approx(independent, rel=0.01), "the weight keeps the mean"
    assert weighted.var() == pytest.approx(independent, rel=0.03)
    assert box_sum(1.0).var() > 1.4 * independent


def test_bursts_on_at_the_streams_first_or_last_frame_are_marked_cut_in_time() -> None:
    # on from the first sample and to the last; 0.3 ms clear of either; in the middle
    rects = [
        Rect(0.0, 0.002, -600e3, 180e3, 15.0),
        Rect(0.0003, 0.002, 300e3, 180e3, 15.0),
        Rect(0.02, 0.002, -300e3, 360e3, 15.0),
        Rect(0.0377, 0.002, 300e3, 180e3, 15.0),
        Rect(0.038, 0.002, -600e3, 180e3, 15.0),
    ]
    x = scene(FS, 0.04, rects, NOISE, seed=8)
    detector = Detector(FS, FC)
    for stream in range(2):  # a sensor's detector is restarted for every dwell: each has its own first frame
        bursts = sorted(detector.process(x) + detector.flush(), key=lambda b: (b.start_s, b.freq_hz))
        assert len(bursts) == len(rects), f"stream {stream}: {bursts}"
        marks = [(b.cut_at_start, b.cut_at_end) for b in bursts]
        assert marks == [(True, False), (False, False), (False, False), (False, False), (False, True)], marks
        detector.restart(FC)


def test_a_burst_longer_than_the_buffer_is_reported_in_pieces_that_do_not_overlap() -> None:
    # each forced flush reports what the buffer holds of it; the next piece starts where that one ended (it
    # started again from the lookback kept before the flush, 2 ms of it reported twice)
    rect = Rect(0.02, 0.2, -300e3, 540e3, 15.0)
    x = scene(FS, 0.25, [rect], NOISE, seed=3)
    detector = Detector(FS, FC, DetectorConfig(max_buffer_s=0.05))
    bursts = [b for i in range(0, len(x), 1 << 14) for b in detector.process(x[i : i + (1 << 14)])]
    pieces = sorted((b for b in bursts + detector.flush() if overlaps(b, rect)), key=lambda b: b.start_s)
    assert len(pieces) >= 3, pieces
    assert all(later.start_s >= earlier.end_s - 150e-6 for earlier, later in itertools.pairwise(pieces)), pieces
    assert sum(b.duration_s for b in pieces) == pytest.approx(rect.duration_s, abs=1e-3)


def test_a_full_buffers_forced_flush_is_not_the_end_of_the_stream() -> None:
    # the buffer holds 10 ms and each block 50 ms: every region is closed at each block's end, where a 4 ms burst
    # runs on into the next block
    rect = Rect(0.048, 0.004, 200e3, 540e3, 15.0)
    x = scene(FS, 0.1, [rect], NOISE, seed=3)
    detector = Detector(FS, FC, DetectorConfig(max_buffer_s=0.01))
    half = len(x) // 2
    bursts = detector.process(x[:half]) + detector.process(x[half:]) + detector.flush()
    assert any(overlaps(b, rect) for b in bursts), bursts
    assert not any(b.cut_at_start or b.cut_at_end for b in bursts), bursts
