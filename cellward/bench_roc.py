"""`cellward bench roc`: the detector's receiver operating characteristic per technology, beside the ideal
energy detector's, as a table and a PNG plot (the figures behind docs/benchmarks.md).

The operating point is the CFAR's false-alarm probability per test (`CfarConfig.false_alarm_probability`,
1e-10 shipped): it sets the seed boxes' thresholds, which decide whether anything is found; the region,
verification and classification stages stay as shipped. For each setting the bench measures
- the probability of detection of isolated bursts of each technology at one SNR (the ideal's Pd 0.9 point
  at the shipped setting, plus `SNR_ABOVE_IDEAL_DB`), beside the ideal energy detector's at the same
  probability per test; and
- what the same setting reports on receiver noise alone: every detection, and those labelled as a phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cellward.bench_sensitivity import CLEAN_RECEIVER, FS, SENSITIVITY_CASES, detect, isolated, save_plot
from dsp.burst import Burst
from dsp.cfar import CfarConfig
from dsp.detector import Detector, DetectorConfig
from sim.signals.ideal_detector import ideal_pd, ideal_snr_db_at
from sim.signals.scene import Scene
from sim.signals.scoring import match
from sim.signals.truth import PHONE_TECHNOLOGIES

FALSE_ALARM_PROBABILITIES = (1e-6, 1e-8, 1e-10, 1e-12, 1e-14)
SNR_ABOVE_IDEAL_DB = 1.0


@dataclass(frozen=True)
class NoiseCount:
    seconds: float
    detections: int
    phone_labelled: int


def detector_config(false_alarm_probability: float) -> DetectorConfig:
    return DetectorConfig(cfar=replace(CfarConfig(), false_alarm_probability=false_alarm_probability))


def roc_snr_db(technology: str) -> float:
    """The SNR of a technology's curve: where the ideal reaches Pd 0.9 at the shipped setting, plus a margin."""
    _, duration_s, bandwidth_hz = SENSITIVITY_CASES[technology]
    shipped = CfarConfig().false_alarm_probability
    return ideal_snr_db_at(0.9, duration_s, bandwidth_hz, shipped) + SNR_ABOVE_IDEAL_DB


def detection_probability(technology: str, false_alarm_probability: float, seed: int = 300) -> float:
    """Share of isolated bursts found at `roc_snr_db`; the same bursts and noise for every setting."""
    scene = isolated(technology, SENSITIVITY_CASES[technology][0], roc_snr_db(technology), seed)
    bursts, truth = detect(scene, detector_config(false_alarm_probability))
    return len(match(bursts, truth)) / len(truth)


def ideal_detection_probability(technology: str, false_alarm_probability: float) -> float:
    _, duration_s, bandwidth_hz = SENSITIVITY_CASES[technology]
    return ideal_pd(roc_snr_db(technology), duration_s, bandwidth_hz, false_alarm_probability)


def noise_counts(
    false_alarm_probabilities: Sequence[float], seconds_per_tuning: int, seed: int = 400
) -> list[NoiseCount]:
    """Detections on receiver noise alone at each technology's tuning, one detector per setting; each second is
    rendered once and heard by them all (rendering costs several times what detecting does)."""
    heard: list[list[Burst]] = [[] for _ in false_alarm_probabilities]
    for tuning, (center_freq_hz, _, _) in enumerate(SENSITIVITY_CASES.values()):
        detectors = [Detector(FS, center_freq_hz, detector_config(p)) for p in false_alarm_probabilities]
        for second in range(seconds_per_tuning):
            scene = Scene(FS, center_freq_hz, 1.0, CLEAN_RECEIVER, seed=seed + 1000 * tuning + second, start_s=second)
            samples = scene.render_complex()[0]
            for detector, bursts in zip(detectors, heard, strict=True):
                bursts += detector.process(samples)
        for detector, bursts in zip(detectors, heard, strict=True):
            bursts += detector.flush()
    seconds = float(seconds_per_tuning * len(SENSITIVITY_CASES))
    return [
        NoiseCount(seconds, len(bursts), sum(burst.technology in PHONE_TECHNOLOGIES for burst in bursts))
        for bursts in heard
    ]


def run_roc(output: Path, noise_seconds_per_tuning: int) -> int:
    """Print the ROC table and save the plot to `output`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probabilities = FALSE_ALARM_PROBABILITIES
    print("ROC: Pd of isolated bursts (40 each) and detections on receiver noise, per CFAR false-alarm probability")
    print(f"{'per test':>10s} " + " ".join(f"{t + ' (ideal)':>17s}" for t in SENSITIVITY_CASES) + "  on noise")
    figure, (pd_axis, noise_axis) = plt.subplots(1, 2, figsize=(11, 4.5))
    curves = {t: [detection_probability(t, p) for p in probabilities] for t in SENSITIVITY_CASES}
    ideals = {t: [ideal_detection_probability(t, p) for p in probabilities] for t in SENSITIVITY_CASES}
    counts = noise_counts(probabilities, noise_seconds_per_tuning)
    for k, p in enumerate(probabilities):
        cells = " ".join(f"{curves[t][k]:8.2f} ({ideals[t][k]:5.2f})" for t in SENSITIVITY_CASES)
        count = counts[k]
        print(
            f"{p:10.0e} {cells}  {count.detections} detections, {count.phone_labelled} phone-labelled"
            f" in {count.seconds:g} s"
        )
    for technology, colour in zip(SENSITIVITY_CASES, "bgr", strict=True):
        label = f"{technology} at {roc_snr_db(technology):+.1f} dB"
        pd_axis.semilogx(probabilities, curves[technology], f"{colour}o-", label=f"{label} (cellward)")
        pd_axis.semilogx(probabilities, ideals[technology], f"{colour}--", label=f"{label} (ideal)")
    pd_axis.axvline(CfarConfig().false_alarm_probability, color="grey", linewidth=0.5)
    pd_axis.set(
        xlabel="false-alarm probability per test", ylabel="probability of detection", title="ROC", ylim=(0, 1.02)
    )
    seconds = counts[0].seconds
    for attribute, style, label in (
        ("detections", "ko-", "every detection"),
        ("phone_labelled", "rs-", "phone-labelled"),
    ):
        # a count of zero is drawn at its bound, one in the time heard
        rates = [max(getattr(c, attribute), 1) * 60 / c.seconds for c in counts]
        noise_axis.loglog(probabilities, rates, style, label=label)
        for p, c, rate in zip(probabilities, counts, rates, strict=True):
            if getattr(c, attribute) == 0:
                noise_axis.annotate("none", (p, rate), textcoords="offset points", xytext=(0, -12), fontsize=7)
    noise_axis.axvline(CfarConfig().false_alarm_probability, color="grey", linewidth=0.5)
    noise_axis.set(
        xlabel="false-alarm probability per test",
        ylabel="per minute on receiver noise",
        title=f"On receiver noise, {seconds:g} s per setting",
    )
    return save_plot(figure, [pd_axis, noise_axis], output, legend_size=7)
