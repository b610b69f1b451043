"""The test signals are the standards' waveforms with honest ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from cellward.recording import to_complex64
from sim.signals import gsm, lte, non_phone, nr
from sim.signals.ofdm import NATIVE_FFT, to_capture_rate
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene

FS = 2.4e6


def occupied_bandwidth_hz(x: np.ndarray, fs: float, share: float = 0.99) -> float:
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(x, 1 << 15))) ** 2
    freqs = np.fft.fftshift(np.fft.fftfreq(1 << 15, 1 / fs))
    cumulative = np.cumsum(spectrum) / spectrum.sum()
    tail = (1 - share) / 2
    return float(freqs[np.searchsorted(cumulative, 1 - tail)] - freqs[np.searchsorted(cumulative, tail)])


def test_gmsk_is_constant_envelope_with_a_250khz_occupied_band() -> None:
    x, lead = gsm.gmsk(gsm.normal_burst_bits(np.random.default_rng(1)), FS)
    body = x[round(lead * FS) + 5 : -round(lead * FS) - 5]
    assert np.ptp(np.abs(body)) < 1e-3, "GMSK has a constant envelope between its ramps"
    assert 230e3 < occupied_bandwidth_hz(x, FS) < 270e3, "99 % of GMSK (BT 0.3) lies within about 250 kHz"


def test_gsm_call_keeps_the_tdma_frame_grid_and_the_idle_frame() -> None:
    call = gsm.call(FS, 896.6e6, 4, 0.0, 0.24, 15, np.random.default_rng(2))
    starts = np.array([b.start_s for b in call.bursts])
    frames = (starts - 4 * gsm.SLOT_S) / gsm.FRAME_S
    assert np.allclose(frames, np.round(frames), atol=1e-9), "one burst per 4.615 ms frame on timeslot 4"
    assert all(round(f) % 26 != 25 for f in frames), "frame 25 of the 26-multiframe is idle"
    assert sum(b.channel == "SACCH" for b in call.bursts) == 2, "SACCH on frame 12 of each multiframe"


def test_lte_pusch_occupies_its_resource_blocks() -> None:
    native = lte.pusch_samples(5, 2, np.random.default_rng(3))
    x = to_capture_rate(native, lte.NATIVE_RATE_HZ, FS)
    assert abs(occupied_bandwidth_hz(x, FS, 0.95) - 5 * 180e3) < 0.1 * 5 * 180e3
    assert len(x) == pytest.approx(2e-3 * FS, abs=2), "two 1 ms subframes"


def test_lte_pucch_hops_between_the_carrier_edges_each_slot() -> None:
    slots = lte.pucch(FS, 15, 4, np.random.default_rng(4), "ACK")
    assert [s.start_s for s in slots] == pytest.approx([4e-3, 4.5e-3])
    assert slots[0].offset_hz == pytest.approx(-7 * 180e3) and slots[1].offset_hz == pytest.approx(7 * 180e3)


def test_nr_prb_at_30khz_is_360khz_and_a_slot_half_a_millisecond() -> None:
    native = nr.pusch_samples(2, 1, 30e3, np.random.default_rng(5))
    x = to_capture_rate(native, NATIVE_FFT * 30e3, FS)
    assert abs(occupied_bandwidth_hz(x, FS, 0.95) - 720e3) < 72e3
    assert len(x) == pytest.approx(0.5e-3 * FS, abs=2)
    p = np.abs(x) ** 2
    assert (p * p).mean() / p.mean() ** 2 > 1.7, "CP-OFDM has a near-Gaussian envelope"


def test_measured_snr_matches_the_truth_within_half_a_db() -> None:
    rng = np.random.default_rng(6)
    receiver = Receiver(ppm=0.0, dc_offset_lsb=0.0, iq_gain_db=0.0, iq_phase_deg=0.0, passband_rolloff=False)
    scene = Scene(FS, 897.0e6, 0.05, receiver, seed=6).add(lte.volte(FS, 897.2e6, 6, 0.0, 0.05, 12.0, rng))
    x, truth = scene.render_complex()
    noise_power = 2 * (receiver.noise_sigma_lsb / 127.5) ** 2
    for burst in [t for t in truth if t.channel == "PUSCH"]:
        a, b = round(burst.start_s * FS), round(burst.end_s * FS)
        segment = np.fft.fft(x[a:b])
        freqs = np.fft.fftfreq(b - a, 1 / FS) + 897.0e6
        inside = np.abs(freqs - burst.freq_hz) <= burst.bandwidth_hz / 2
        in_band = np.sum(np.abs(segment[inside]) ** 2) / (b - a) ** 2
        noise_in_band = noise_power * burst.bandwidth_hz / FS
        measured_db = 10 * np.log10((in_band - noise_in_band) / noise_in_band)
        assert measured_db == pytest.approx(burst.snr_db, abs=0.5)


def test_scenes_are_deterministic_for_a_seed() -> None:
    def render(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return Scene(FS, 865e6, 0.02, seed=seed).add(non_phone.gfsk(FS, 865.1e6, 0.001, 200, 10, rng)).render()[0]

    assert np.array_equal(render(9), render(9))
    assert not np.array_equal(render(9), render(10))


@dataclass(frozen=True)
class SignalTap(Receiver):
    """A receiver that keeps what reaches it instead of quantising it: where a scene put its emissions."""

    signals: list[np.ndarray] = field(default_factory=list)

    def receive(self, signal_lsb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        self.signals.append(signal_lsb)
        return np.zeros(2 * signal_lsb.shape[0], np.uint8), 0.0


def test_a_capture_rendered_in_two_windows_holds_what_one_window_holds() -> None:
    """Windows that start or end inside a burst (a sensor's dwells, the simulator's seconds) place its samples as
    one capture over both does, the spur running on across the join."""
    rng = np.random.default_rng(3)
    emissions = (
        gsm.call(FS, 897.4e6, 2, 0.0, 0.1, 20.0, rng),
        non_phone.cw(FS, 896.7e6, 0.0, 0.1, 25.0, rng),
    )
    tap = SignalTap()
    _, truth, _ = Scene(FS, 897e6, 0.1, tap).add(*emissions).render()
    join = round((truth[3].start_s + 0.3e-3) * FS)  # inside the call's fourth burst
    Scene(FS, 897e6, join / FS, tap).add(*emissions).render()
    _, second_truth, _ = Scene(FS, 897e6, 0.1 - join / FS, tap, start_s=join / FS).add(*emissions).render()
    whole, first, second = tap.signals
    assert first.shape[0] == join and second.shape[0] == whole.shape[0] - join
    np.testing.assert_allclose(np.concatenate((first, second)), whole, rtol=0, atol=1e-6 * np.abs(whole).max())
    assert second_truth[0].start_s == pytest.approx(join / FS), "the cut burst is in the second window's truth"


def test_receiver_quantises_to_eight_bits_and_counts_clipping() -> None:
    receiver = Receiver(noise_sigma_lsb=2.0)
    loud = np.full(1000, 200 + 0j, np.complex64)
    cu8, clipped = receiver.receive(loud, np.random.default_rng(0))
    assert cu8.dtype == np.uint8 and cu8.max() == 255
    assert clipped == pytest.approx(0.5, abs=0.05), "every I sample clips, Q sits near mid-scale"
    x = to_complex64(cu8, "cu8")
    assert np.max(np.abs(x.real)) <= 1.0


def test_truth_frequencies_are_true_rf_not_what_the_tuner_sees() -> None:
    rng = np.random.default_rng(11)
    receiver = Receiver(ppm=5.0)
    _, truth, _ = Scene(FS, 897.0e6, 0.02, receiver).add(gsm.call(FS, 896.6e6, 0, 0.0, 0.02, 15, rng)).render()
    assert all(t.freq_hz == pytest.approx(896.6e6) for t in truth)
    assert receiver.apparent_shift_hz(897.0e6) == pytest.approx(-4485.0)
