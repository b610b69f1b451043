"""`cellward bench sensitivity`: detection probability against SNR per technology, beside the ideal
energy detector, as a table and a PNG plot (the figures behind docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dsp.burst import Burst
from dsp.cfar import CfarConfig
from dsp.detector import Detector, DetectorConfig
from sim.signals import gsm, lte, nr
from sim.signals.ideal_detector import ideal_pd, ideal_snr_db_at
from sim.signals.ofdm import NATIVE_FFT, to_capture_rate
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene
from sim.signals.scoring import match
from sim.signals.truth import BurstWave, Emission, TruthBurst

FS = 2.4e6
SNR_POINTS_DB = np.arange(-7.0, 7.0, 1.0)  # from below where the ideal detector reaches Pd 0.9 for every case
BURSTS_PER_POINT = 40
# a dongle without its flaws: noise only, so that Pd against SNR is the detector's and not the receiver's
CLEAN_RECEIVER = Receiver(noise_sigma_lsb=3.0, ppm=0.0, dc_offset_lsb=0.0, iq_gain_db=0.0, iq_phase_deg=0.0)


def detect(scene: Scene, config: DetectorConfig | None = None) -> tuple[list[Burst], list[TruthBurst]]:
    x, truth = scene.render_complex()
    detector = Detector(scene.sample_rate_hz, scene.center_freq_hz, config)
    bursts: list[Burst] = []
    for i in range(0, len(x), 1 << 17):
        bursts += detector.process(x[i : i + (1 << 17)])
    return bursts + detector.flush(), truth


def isolated(technology: str, fc: float, snr_db: float, seed: int) -> Scene:
    """BURSTS_PER_POINT bursts of one kind, 8 ms apart, at alternating offsets in a clean receiver."""
    rng = np.random.default_rng(seed)
    waves: list[BurstWave] = []
    for k in range(BURSTS_PER_POINT):
        start = 0.02 + 0.008 * k
        offset = (-400e3, 0.0, 400e3)[k % 3] + 60e3
        if technology == "gsm":
            samples, lead = gsm.gmsk(gsm.normal_burst_bits(rng), FS)
            waves.append(BurstWave(start, samples, offset, gsm.CHANNEL_HZ, 148 * gsm.BIT_S, "TCH/F", lead))
        elif technology == "lte":
            native = lte.pusch_samples(3, 1, rng)
            waves.append(
                BurstWave(start, to_capture_rate(native, lte.NATIVE_RATE_HZ, FS), offset, 3 * lte.RB_HZ, 1e-3, "PUSCH")
            )
        else:
            native = nr.pusch_samples(2, 2, 30e3, rng)
            waves.append(
                BurstWave(
                    start,
                    to_capture_rate(native, NATIVE_FFT * 30e3, FS),
                    offset,
                    2 * nr.prb_hz(30e3),
                    2 * nr.slot_s(30e3),
                    "PUSCH",
                )
            )
    return Scene(FS, fc, 0.03 + 0.008 * BURSTS_PER_POINT, CLEAN_RECEIVER, seed).add(
        Emission(technology, fc, tuple(waves), snr_db)
    )


SENSITIVITY_CASES = {
    # technology, tuner, burst duration and band the ideal detector is given
    "gsm": (897.0e6, 148 * gsm.BIT_S, 200e3),
    "lte": (847.0e6, 1e-3, 540e3),
    "nr": (718.0e6, 1e-3, 720e3),
}


def pd_curve(technology: str) -> np.ndarray:
    """Pd at each of SNR_POINTS_DB for isolated bursts of one technology."""
    fc = SENSITIVITY_CASES[technology][0]
    pds = []
    for n, snr in enumerate(SNR_POINTS_DB):
        bursts, truth = detect(isolated(technology, fc, float(snr), seed=100 + n))
        pds.append(len(match(bursts, truth)) / len(truth))
    return np.array(pds)


def snr_at(pd_target: float, pds: np.ndarray) -> float:
    above = np.nonzero(pds >= pd_target)[0]
    assert above.size, f"Pd never reached {pd_target}: {pds}"
    k = above[0]
    assert k > 0, f"Pd is {pds[0]:.2f} already at {SNR_POINTS_DB[0]:+.0f} dB: start the grid lower to measure it"
    lo, hi = pds[k - 1], pds[k]
    return float(SNR_POINTS_DB[k - 1] + (pd_target - lo) / (hi - lo) * (SNR_POINTS_DB[k] - SNR_POINTS_DB[k - 1]))


def run_sensitivity(output: Path) -> int:
    """Print Pd against SNR per technology and save the plot to `output`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probability = CfarConfig().false_alarm_probability
    figure, axis = plt.subplots(figsize=(7, 4.5))
    print(f"Pd against SNR, {BURSTS_PER_POINT} bursts per point, false-alarm probability {probability:g} per test")
    for (technology, (_, duration_s, bandwidth_hz)), colour in zip(SENSITIVITY_CASES.items(), "bgr", strict=True):
        pds = pd_curve(technology)
        ideal = [ideal_pd(float(s), duration_s, bandwidth_hz, probability) for s in SNR_POINTS_DB]
        gap = snr_at(0.9, pds) - ideal_snr_db_at(0.9, duration_s, bandwidth_hz, probability)
        print(f"{technology:4s} " + " ".join(f"{p:4.2f}" for p in pds) + f"   Pd 0.9 {gap:+.1f} dB from ideal")
        axis.plot(SNR_POINTS_DB, pds, f"{colour}o-", label=f"{technology} (cellward)")
        axis.plot(SNR_POINTS_DB, ideal, f"{colour}--", label=f"{technology} (ideal energy detector)")
    axis.axhline(0.9, color="grey", linewidth=0.5)
    axis.set(xlabel="in-band SNR (dB)", ylabel="probability of detection", title="Detection against SNR")
    return save_plot(figure, [axis], output)


def save_plot(figure, axes: list, output: Path, legend_size: int = 8) -> int:
    """Legends and grids on `axes`, the figure saved to `output` (PNG); the bench's exit status."""
    for axis in axes:
        axis.legend(fontsize=legend_size)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(f"plot: {output}")
    return 0
