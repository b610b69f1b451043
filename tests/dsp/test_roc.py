"""The operating point `cellward bench roc` sweeps: the CFAR's false-alarm probability per test moves what is
found on bursts and on noise alike, and the detector stays below the ideal energy detector at every setting."""

from __future__ import annotations

from cellward.bench_roc import detection_probability, ideal_detection_probability, noise_counts


def test_a_looser_false_alarm_probability_finds_more_bursts_and_never_beats_the_ideal() -> None:
    loose, strict = (detection_probability("lte", p) for p in (1e-6, 1e-14))
    assert loose >= strict + 0.3, f"Pd {loose:.2f} at 1e-6 against {strict:.2f} at 1e-14"
    for p, found in ((1e-6, loose), (1e-14, strict)):
        ideal = ideal_detection_probability("lte", p)
        # 40 bursts: a binomial spread of about 0.05 at these levels
        assert found <= ideal + 0.1, f"at {p:g}: Pd {found:.2f}, the ideal energy detector {ideal:.2f}"


def test_a_looser_false_alarm_probability_raises_false_detections_on_noise() -> None:
    loose, shipped = noise_counts((1e-6, 1e-10), 2)
    assert loose.detections > 0, "1e-6 per test found nothing in 6 s of noise: the setting does not reach the CFAR"
    assert shipped.detections == 0, f"the shipped 1e-10 found {shipped.detections} detections in 6 s of noise"
    assert loose.seconds == shipped.seconds == 6.0
