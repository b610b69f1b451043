import pytest

from sim.signals.ideal_detector import ideal_pd, ideal_snr_db_at


def test_ideal_detector_pd_rises_with_snr_and_meets_its_own_bound() -> None:
    args = (0.000546, 200e3, 1e-10)
    assert ideal_pd(-10, *args) < 0.01 < 0.99 < ideal_pd(10, *args)
    assert ideal_pd(ideal_snr_db_at(0.9, *args), *args) == pytest.approx(0.9, abs=1e-6)


def test_longer_bursts_need_less_snr() -> None:
    short = ideal_snr_db_at(0.9, 0.0005, 180e3, 1e-10)
    long = ideal_snr_db_at(0.9, 0.004, 180e3, 1e-10)
    assert long < short - 3, "eight times the samples must buy more than 3 dB"
