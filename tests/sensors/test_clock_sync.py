"""Clock-sync state: read from chrony when it answers, reported as unknown (never guessed) otherwise."""

from __future__ import annotations

from sensors.clock_sync import ClockMonitor, parse_chronyc_tracking, read_clock_state

SYNCED = (
    "A9FEA97B,169.254.169.123,4,1795000000.1,-0.000012345,0.000001,0.00002,-3.1,0.001,0.02,0.0004,0.0003,64.0,Normal"
)
UNSYNCED = "7F7F0101,,10,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,Not synchronised"


def test_chrony_tracking_is_parsed_into_state_and_offset() -> None:
    state = parse_chronyc_tracking(SYNCED)
    assert state is not None and state.state == "synced" and state.source == "chrony"
    assert state.offset_s == -0.000012345
    unsynced = parse_chronyc_tracking(UNSYNCED)
    assert unsynced is not None and unsynced.state == "unsynced"
    assert parse_chronyc_tracking("garbage") is None


def test_state_on_this_machine_is_a_valid_answer_and_never_invented() -> None:
    state = read_clock_state()
    assert state.state in ("synced", "unsynced", "unknown")
    if state.state == "unknown":
        assert state.offset_s is None and state.source == "none"


def test_monitor_reads_at_most_once_per_period() -> None:
    calls = []
    monitor = ClockMonitor(period_s=60, reader=lambda: calls.append(1) or parse_chronyc_tracking(SYNCED))
    for _ in range(5):
        monitor.state()
    assert len(calls) == 1
