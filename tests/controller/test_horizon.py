"""The correlation horizon waits as long as the reports of one window have lately arrived apart."""

from __future__ import annotations

import pytest

from controller.config import IngestConfig
from controller.horizon import SPREAD_MARGIN_S, SPREAD_MEMORY_S, ArrivalHorizon


def test_with_reports_arriving_together_the_horizon_waits_the_minimum():
    horizon = ArrivalHorizon(0.1, 1.0)
    for _ in range(5):  # five sensors' reports
        horizon.arrived(10.02, [10.0])
    assert horizon.wait_s == pytest.approx(0.1)
    assert horizon.advance(10.11) == float("-inf")
    assert horizon.advance(10.12) == 10.0


def test_after_a_window_whose_reports_straggled_the_next_waits_for_that_spread():
    horizon = ArrivalHorizon(0.1, 1.0)
    for arrival in (10.05, 10.2, 10.45):  # the reports of the window ending at 10.0, 0.4 s apart
        horizon.arrived(arrival, [10.0])
    assert horizon.wait_s == pytest.approx(0.4 + SPREAD_MARGIN_S)
    horizon.advance(11.0)
    horizon.arrived(11.05, [11.0])  # the first report of the next window
    assert horizon.advance(11.05 + 0.3) == 10.0, "0.3 s after the first report, its window must still wait"
    assert horizon.advance(11.05 + 0.4 + SPREAD_MARGIN_S) == 11.0


def test_the_wait_is_capped_and_a_resend_long_after_its_window_does_not_raise_it():
    horizon = ArrivalHorizon(0.1, 0.6)
    horizon.arrived(10.05, [10.0])
    horizon.arrived(10.95, [10.0])  # 0.9 s apart: capped
    assert horizon.wait_s == pytest.approx(0.6)
    quiet = ArrivalHorizon(0.1, 0.6)
    quiet.arrived(10.05, [10.0])
    quiet.arrived(40.0, [10.0])  # a node's spool resent after an outage
    assert quiet.wait_s == pytest.approx(0.1)


def test_the_wait_falls_back_once_the_straggling_windows_are_older_than_its_memory():
    horizon = ArrivalHorizon(0.1, 1.0)
    horizon.arrived(10.05, [10.0])
    horizon.arrived(10.45, [10.0])
    assert horizon.wait_s > 0.4
    end = 11.0
    while end <= 10.0 + SPREAD_MEMORY_S:
        horizon.arrived(end + 0.05, [end])
        end += 1.0
    assert horizon.wait_s > 0.4, "still within memory"
    horizon.arrived(end + 0.05, [end])
    assert horizon.wait_s == pytest.approx(0.1)


def test_the_horizon_is_next_due_when_the_first_report_of_a_later_window_has_waited():
    horizon = ArrivalHorizon(0.1, 1.0)
    assert horizon.next_due_s() is None, "nothing waits"
    horizon.arrived(10.02, [10.0])
    horizon.arrived(10.03, [10.0])
    assert horizon.next_due_s() == pytest.approx(10.12)
    assert horizon.advance(10.12) == 10.0
    horizon.arrived(10.2, [10.0])  # a straggler of the settled window moves nothing
    assert horizon.next_due_s() is None
    horizon.arrived(11.04, [11.0])
    assert horizon.next_due_s() == pytest.approx(11.04 + horizon.wait_s), "the straggler before it is passed over"


def test_bad_bounds_are_refused_in_the_horizon_and_in_the_config():
    with pytest.raises(ValueError, match="min_wait_s <= max_wait_s"):
        ArrivalHorizon(0.5, 0.2)
    with pytest.raises(ValueError, match="correlation_delay_max_s must not be below correlation_delay_s"):
        IngestConfig(correlation_delay_s=0.5, correlation_delay_max_s=0.2)
