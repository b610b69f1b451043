"""Impulse blanking tells a transient from the shortest phone transmission by the samples' time profile."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.detector import Detector
from dsp.impulses import ImpulseConfig, band_statistics, blank_impulses, is_transient
from sim.signals import non_phone
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene

FS = 2.048e6
B20_FC = 851.0e6
DWELL_S = 0.09  # a node's
SPAN = 512  # a 256-sample frame and a hop either side, as the detector reads them
CONFIG = ImpulseConfig()


def noise(rng: np.random.Generator, n: int = SPAN) -> np.ndarray:
    return ((rng.normal(size=n) + 1j * rng.normal(size=n)) / np.sqrt(2)).astype(np.complex64)


def transient(span: np.ndarray, start: int, duration_s: float, energy: float, rng: np.random.Generator) -> None:
    """Add a damped noise burst (switching, ignition) holding `energy` noise-sample units."""
    n = round(duration_s * FS)
    decay = np.exp(-np.arange(n) / (n / 3))
    burst = decay * noise(rng, n)
    span[start : start + n] += burst * np.sqrt(energy / np.sum(np.abs(burst) ** 2))


def srs_symbol(span: np.ndarray, start: int, energy: float, rng: np.random.Generator) -> None:
    """Add a constant-envelope 71.4 us SC-FDMA symbol (a Zadoff-Chu SRS has a flat envelope) of `energy`."""
    n = round(71.4e-6 * FS)
    phase = np.exp(2j * np.pi * rng.uniform(size=n))
    span[start : start + n] += phase * np.sqrt(energy / n)


def judged(make, trials: int = 200, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        span = noise(rng) + 0.05  # a DC offset, as every RTL-SDR has
        make(span, rng)
        hits += is_transient(span, FS, CONFIG)
    return hits / trials


@pytest.mark.parametrize("duration_s", [4e-6, 10e-6, 25e-6])
def test_weak_short_transients_are_recognised(duration_s: float) -> None:
    # 11 dB over the whole band: the impulses whose faded spectra slipped past the band test
    energy = 12.6 * duration_s * FS
    share = judged(lambda s, rng: transient(s, int(rng.integers(100, 380)), duration_s, energy, rng))
    assert share >= 0.95, f"a {duration_s * 1e6:.0f} us transient at 11 dB recognised {share:.2f} of the time"


@pytest.mark.parametrize(("snr_db", "most"), [(0.0, 0.04), (3.0, 0.01), (6.0, 0.0), (20.0, 0.0)])
def test_an_srs_symbol_is_not_a_transient(snr_db: float, most: float) -> None:
    # the shortest phone transmission. At 0 dB over the whole capture a 16 us window holds only about 6
    # noise sigmas of it, and about 1 symbol in 40 happens to look short (such a symbol filling the band
    # was blanked before the time test, which only judges frames whose side looks quiet)
    energy = 10 ** (snr_db / 10) * 71.4e-6 * FS
    share = judged(lambda s, rng: srs_symbol(s, int(rng.integers(60, 300)), energy, rng), trials=1000)
    assert share <= most, f"an SRS symbol at {snr_db:.0f} dB taken for a transient {share:.3f} of the time"


def test_noise_alone_is_not_a_transient() -> None:
    assert judged(lambda s, rng: None, trials=2000) == 0.0


USABLE = slice(15, 241)  # of a 256-bin spectrum at 2.048 MS/s, as the detector searches it
HOP = 128


def blank(z: np.ndarray, samples: np.ndarray, **stream_ends: bool) -> list[tuple[int, int]]:
    mean, hot = np.empty(z.shape[0], np.float32), np.empty(z.shape[0], np.int64)
    band_statistics(z, USABLE.start, USABLE.stop, mean, hot)
    return blank_impulses(z, USABLE, samples, HOP, FS, mean, hot, CONFIG, **stream_ends)


@pytest.mark.parametrize("frame", [0, 15])
def test_an_impulse_at_the_buffers_edge_waits_unless_the_stream_ends_there(frame: int) -> None:
    # a run touching a buffer's first or last frame may go on beyond it (a mid-stream edge left by trimming,
    # or a full buffer's forced flush); the stream's own first or last frame has nothing beyond
    rng = np.random.default_rng(4)
    samples = noise(rng, (16 - 1) * HOP + 256)
    transient(samples, frame * HOP + 150, 5e-6, 400.0, rng)
    z = np.ones((16, 256), np.float32)
    z[frame] = 6.0
    assert blank(z.copy(), samples) == []
    ends = {"stream_start": True} if frame == 0 else {"stream_end": True}
    assert blank(z.copy(), samples, **ends) == [(max(0, frame - 1), min(16, frame + 2))]


@pytest.mark.parametrize("frame", [0, 15])
def test_a_strong_burst_cut_by_the_streams_edge_is_no_impulse(frame: int) -> None:
    # 80 us of a burst 30 dB over the noise, cut by the start or end of the stream: its one frame there
    # splatters across the band, but the samples show it on from the edge, not a transient
    rng = np.random.default_rng(6)
    samples = noise(rng, (16 - 1) * HOP + 256)
    n = round(80e-6 * FS)
    cut = slice(0, n) if frame == 0 else slice(samples.shape[0] - n, None)
    samples[cut] += 30.0 * noise(rng, n)
    z = np.ones((16, 256), np.float32)
    z[frame] = 6.0
    ends = {"stream_start": True} if frame == 0 else {"stream_end": True}
    assert blank(z, samples, **ends) == []


def test_a_strong_impulse_a_hair_under_the_hot_share_beside_a_noisy_frame_is_judged_by_its_samples() -> None:
    # a dwell's last impulse: 135 of 226 bins hot (the share wants 136), a band mean of 3.3 floors, and noise
    # three frames on at 1.29 floors, so it stood alone by neither test and became an LTE burst
    rng = np.random.default_rng(5)
    samples = noise(rng, (16 - 1) * HOP + 256)
    transient(samples, 8 * HOP + 100, 5e-6, 400.0, rng)
    z = np.ones((16, 256), np.float32)
    z[8, USABLE] = 0.5
    z[8, 60:195] = 5.0  # 135 bins, neither side half hot
    z[11] = 1.29
    assert blank(z, samples) == [(7, 10)]


def test_a_frame_full_by_its_band_mean_alone_is_judged_by_its_samples() -> None:
    # inside a long emission in part of the band, which lifts the band mean by itself, its own ebb three frames
    # either side made a frame look like a weak impulse alone between quiet ones, and it was cut there
    rng = np.random.default_rng(7)
    samples = noise(rng, (16 - 1) * HOP + 256)
    z = np.ones((16, 256), np.float32)
    z[8, USABLE] = 1.6  # 1.6 floors across the band, both sides over quiet: a weak impulse by the spectrogram
    assert blank(z.copy(), samples) == [], "noise samples hold no transient"
    transient(samples, 8 * HOP + 100, 5e-6, 400.0, rng)
    assert blank(z.copy(), samples) == [(7, 10)]


def dwell_with_an_impulse(start_s: float, snr_db: float, seed: int) -> np.ndarray:
    """90 ms of a B20 uplink through a varied dongle, with one 2-25 us impulse from `start_s`."""
    rng = np.random.default_rng(seed)
    impulse = non_phone.impulses(FS, B20_FC, [start_s], snr_db, rng)
    x, _ = Scene(FS, B20_FC, DWELL_S, Receiver.varied(rng), seed).add(impulse).render_complex()
    return x


@pytest.mark.parametrize(("edge", "us"), [("start", 15), ("start", 30), ("start", 60), ("end", 40), ("end", 80)])
def test_an_impulse_in_a_dwells_first_or_last_frames_is_blanked(edge: str, us: int) -> None:
    # a node restarts its detector every dwell: the dwell's first and last frames have nothing beyond them, so
    # an impulse there is as complete as anywhere (left alone, it came out as LTE pieces, 3-4 of 4 at 12-25 dB)
    start_s = us * 1e-6 if edge == "start" else DWELL_S - us * 1e-6
    detector = Detector(FS, B20_FC)
    reported = []
    for snr_db in (8.0, 12.0, 18.0, 25.0):
        for seed in range(3):
            detector.restart(B20_FC)
            x = dwell_with_an_impulse(start_s, snr_db, seed)
            bursts = detector.process(x) + detector.flush()
            reported += [(snr_db, b.technology) for b in bursts if abs(b.start_s - start_s) < 1e-3]
    assert reported == [], f"an impulse {us} us from the dwell's {edge} reported as (dB, label): {reported}"
