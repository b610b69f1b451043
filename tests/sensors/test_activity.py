"""Activity reports: bursts from dwells folded per channel and window, with the figures the contract promises."""

from __future__ import annotations

import math

import pytest

from dsp.band_plan import BandPlan
from dsp.burst import Burst
from sensors.activity import ActivityAggregator, Dwell

T0 = 1_795_000_000.0


def _dwell(start_s: float, gain_db: float = 30.0, clipped: float = 0.0) -> Dwell:
    return Dwell(897.4e6, 896.4e6, 898.4e6, start_s, 0.09, gain_db, -12.0 - gain_db, clipped)


def _burst(start_s: float, power_dbfs: float, freq_hz: float = 897.402e6, technology: str = "gsm") -> Burst:
    return Burst(
        start_s, 0.000546, freq_hz, 180e3, power_dbfs, 20.0, power_dbfs - 32.6, technology, "B8", ("Vodafone",)
    )


def test_bursts_become_one_report_per_channel_and_window_with_its_figures() -> None:
    agg = ActivityAggregator(BandPlan.load())
    agg.add(_dwell(T0 + 0.01), [_burst(0.001, -30.0), _burst(0.0056, -20.0)])
    agg.add(_dwell(T0 + 0.51, clipped=0.001), [_burst(0.002, -30.0)])
    assert agg.close_windows(T0 + 0.99) == [], "a window is reported only once it has ended"
    (report,) = agg.close_windows(T0 + 1.0)
    assert report.freq_hz == 897.4e6 and report.bandwidth_hz == 200e3 and report.band == "B8"
    assert report.operators == ["Vodafone"] and report.technology == "gsm"
    assert report.burst_count == 3 and report.listen_s == pytest.approx(0.18)
    assert report.duty_cycle == pytest.approx(3 * 0.000546 / 0.18)
    # dBm = dBFS + calibration (-42 dB at 30 dB gain); the mean is taken in milliwatts
    assert report.peak_power_dbm == -62.0
    assert report.mean_power_dbm == pytest.approx(10 * math.log10((2 * 10**-7.2 + 10**-6.2) / 3), abs=0.01)
    assert report.noise_floor_dbm == pytest.approx(-20 - 20 + 10 * math.log10(200 / 180) - 42, abs=0.01)
    assert report.clipped_fraction == pytest.approx(0.0005), "the clipped share is averaged over the dwells"
    assert report.gain_db == 30.0 and report.calibration_db == -42.0
    assert report.first_burst.timestamp() == pytest.approx(T0 + 0.011, abs=1e-6)
    assert report.last_burst.timestamp() == pytest.approx(T0 + 0.512546, abs=1e-6)
    assert [b.power_dbm for b in report.bursts] == [-72.0, -62.0, -72.0], "bursts listed in time order"


def test_burst_list_is_capped_and_says_so() -> None:
    agg = ActivityAggregator(BandPlan.load())
    agg.add(_dwell(T0), [_burst(0.001 * i, -30.0) for i in range(80)])
    (report,) = agg.close_windows(T0 + 2)
    assert report.burst_count == 80 and len(report.bursts) == 64 and report.bursts_truncated


def test_channels_and_windows_are_kept_apart_and_non_phone_energy_is_left_out() -> None:
    agg = ActivityAggregator(BandPlan.load())
    agg.add(_dwell(T0 + 0.2), [_burst(0.0, -30.0), _burst(0.0, -30.0, freq_hz=897.0e6)])
    agg.add(_dwell(T0 + 1.2), [_burst(0.0, -30.0), _burst(0.0, -30.0, technology="unknown")])
    reports = agg.close_windows(T0 + 3)
    assert [(r.window_start.timestamp(), r.freq_hz) for r in reports] == [
        (T0, 897.0e6),
        (T0, 897.4e6),
        (T0 + 1, 897.4e6),
    ]
    assert reports[-1].burst_count == 1, "energy the detector could not call a phone is not reported by default"
