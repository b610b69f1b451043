"""Activity reports: bursts from dwells folded per channel and window, with the figures the contract promises."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from cellward.messages.wire_time import text_epoch_s
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
    assert text_epoch_s(report.first_burst) == pytest.approx(T0 + 0.011, abs=1e-6)
    assert text_epoch_s(report.last_burst) == pytest.approx(T0 + 0.512546, abs=1e-6)
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
    assert [(text_epoch_s(r.window_start), r.freq_hz) for r in reports] == [
        (T0, 897.0e6),
        (T0, 897.4e6),
        (T0 + 1, 897.4e6),
    ]
    assert reports[-1].burst_count == 1, "energy the detector could not call a phone is not reported by default"


def _prompt() -> ActivityAggregator:
    return ActivityAggregator(BandPlan.load(), prompt_first=True, quiet_s=10.0)


def test_new_activity_is_reported_at_the_end_of_the_dwell_that_first_heard_it() -> None:
    agg = _prompt()
    agg.add(_dwell(T0 + 0.135), [_burst(0.0103, -30.0), _burst(0.0149, -20.0)])
    (early,) = agg.close_windows(T0 + 0.225)
    assert early.cut_early and text_epoch_s(early.window_start) == pytest.approx(T0)
    # the cut is the dwell's end (rounded up to the ms of window_start on the wire)
    assert text_epoch_s(early.window_start) + early.window_s == pytest.approx(T0 + 0.225, abs=1e-6)
    assert early.burst_count == 2 and early.listen_s == pytest.approx(0.09)
    assert text_epoch_s(early.first_burst) == pytest.approx(T0 + 0.1453, abs=1e-6)
    assert text_epoch_s(early.last_burst) == pytest.approx(T0 + 0.149900 + 0.000546, abs=1e-6)
    assert text_epoch_s(early.window_start) + early.window_s - text_epoch_s(early.first_burst) <= 0.09, (
        "published within one dwell of the first burst, by the data's own timestamps"
    )
    # the rest of the window: only the bursts after the cut, in a report starting where the early one ended
    agg.add(_dwell(T0 + 0.51), [_burst(0.002, -30.0), _burst(0.006, -30.0), _burst(0.010, -30.0)])
    assert agg.close_windows(T0 + 0.99) == [], "activity already reported in this window waits for its end"
    (rest,) = agg.close_windows(T0 + 1.0)
    assert not rest.cut_early and rest.burst_count == 3 and rest.listen_s == pytest.approx(0.09)
    assert text_epoch_s(rest.window_start) == pytest.approx(T0 + 0.225, abs=1e-6)
    assert text_epoch_s(rest.window_start) + rest.window_s == pytest.approx(T0 + 1.0)
    assert early.burst_count + rest.burst_count == 5, "no burst lost or counted twice across the cut"
    starts = [b.start for b in early.bursts + rest.bursts]
    assert len(set(starts)) == 5 and starts == sorted(starts)


def test_steady_activity_keeps_the_whole_window_and_costs_no_extra_report() -> None:
    agg = _prompt()
    agg.add(_dwell(T0 + 0.5), [_burst(0.001, -30.0)])
    assert [r.cut_early for r in agg.close_windows(T0 + 0.6)] == [True]
    assert [r.cut_early for r in agg.close_windows(T0 + 1.0)] == [], "nothing after the cut: nothing more to say"
    for second in range(1, 8):  # the phone stays on the air, heard at every visit of its tuning
        agg.add(_dwell(T0 + second + 0.3), [_burst(0.001, -30.0), _burst(0.005, -30.0)])
        assert agg.close_windows(T0 + second + 0.5) == [], "steady activity is not new"
        (report,) = agg.close_windows(T0 + second + 1.0)
        assert not report.cut_early and report.window_s == 1.0 and report.burst_count == 2
    # silent for longer than quiet_s: the next burst is new again
    agg.add(_dwell(T0 + 20.3), [_burst(0.001, -30.0)])
    assert [r.cut_early for r in agg.close_windows(T0 + 20.4)] == [True]


def test_a_burst_centred_beyond_the_searched_part_of_a_dwell_is_left_to_the_tuning_that_holds_it() -> None:
    """At the capture's edge the tuner's filter rolls off: a GSM burst on 898.6 MHz, 1.2 MHz from a tuning at
    897.4 MHz, is seen as its inner half, 100 kHz wide and centred 50 kHz off. The next tuning hears it whole."""
    agg = ActivityAggregator(BandPlan.load())
    half = replace(_burst(0.003, -40.0, freq_hz=898.55e6), bandwidth_hz=100e3)
    kept = agg.add(_dwell(T0 + 0.01), [_burst(0.001, -30.0), _burst(0.002, -30.0, freq_hz=898.4e6), half])
    assert kept == 2
    assert sorted(r.freq_hz for r in agg.close_windows(T0 + 1.0)) == [897.4e6, 898.4e6]


def test_a_quiet_arfcn_or_a_quiet_network_is_cut_and_a_dwell_at_the_window_end_needs_no_cut() -> None:
    agg = _prompt()
    agg.add(_dwell(T0 + 0.2), [_burst(0.001, -30.0)])
    agg.close_windows(T0 + 0.3)
    # the steady Vodafone GSM channel, another Vodafone ARFCN (a second call: a cell gives each its own
    # channel) and an O2 channel heard in the same dwell: both quiet channels leave early, the steady one not
    wide = replace(_dwell(T0 + 1.2), high_hz=906.0e6)  # a front end that searches 10 MHz at once
    agg.add(
        wide,
        [_burst(0.001, -30.0), _burst(0.002, -30.0, freq_hz=897.0e6), _burst(0.003, -30.0, freq_hz=905.0e6)],
    )
    assert [(r.freq_hz, r.cut_early) for r in agg.close_windows(T0 + 1.3)] == [(897.0e6, True), (905.0e6, True)]
    assert [(r.freq_hz, r.window_s, r.cut_early) for r in agg.close_windows(T0 + 2.0)] == [(897.4e6, 1.0, False)]
    # a new channel in the last dwell of a window: the window ends there, it is reported whole
    agg.add(_dwell(T0 + 2.95), [_burst(0.001, -30.0, freq_hz=896.6e6)])
    (whole,) = agg.close_windows(T0 + 3.04)
    assert not whole.cut_early and whole.window_s == 1.0


def test_an_lte_phones_next_channel_on_a_network_heard_lately_is_not_news() -> None:
    """One carrier holds every LTE phone of the operator and a phone's allocation moves across it: a channel
    of the carrier not heard before leaves with its window, not at once."""
    agg = _prompt()
    agg.add(_dwell(T0 + 0.2), [_burst(0.001, -30.0, technology="lte")])
    assert [r.cut_early for r in agg.close_windows(T0 + 0.3)] == [True]
    agg.add(_dwell(T0 + 0.6), [_burst(0.002, -30.0, freq_hz=897.0e6, technology="lte")])
    assert agg.close_windows(T0 + 0.7) == []
    assert [(r.freq_hz, r.cut_early) for r in agg.close_windows(T0 + 1.0)] == [(897.0e6, False)]


def test_without_prompt_first_new_activity_waits_for_the_window_end() -> None:
    agg = ActivityAggregator(BandPlan.load(), prompt_first=False)
    agg.add(_dwell(T0 + 0.1), [_burst(0.001, -30.0)])
    assert agg.close_windows(T0 + 0.5) == []
    assert [r.cut_early for r in agg.close_windows(T0 + 1.0)] == [False]
