"""A dongle unplugged mid-run: the node says `fault`, retries with backoff and scans again without a restart."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from tests.sensors.harness import (
    GSM_CARRIER_HZ,
    Listener,
    SystemdNotifications,
    make_keys,
    running_node,
    write_config,
)
from tests.support.mosquitto import MosquittoBroker


@dataclass
class Recovery:
    statuses: list[dict]
    source_faults: int
    healthy: bool  # once scanning again
    still_running: bool  # the same run: nothing for systemd to restart


def _unplug_and_recover(tmp_path: Path, mosquitto: MosquittoBroker, after_s: float, for_s: float) -> Recovery:
    """Run a node whose simulated dongle disappears `after_s` into the run for `for_s`, until it reports fault
    and then scans and reports again."""
    make_keys(tmp_path)
    source = {
        "kind": "scene",
        "emitters": [{"technology": "gsm_call", "freq_hz": GSM_CARRIER_HZ, "snr_db": 25}],
        "faults": [{"after_s": after_s, "for_s": for_s}],
    }
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(write_config(tmp_path, mosquitto.port, source=source)) as running:
            listener.wait_for(lambda lst: any(m["state"] == "fault" for m in lst.of("status")), 20, "fault status")
            fault_at = len(listener.of("detections"))
            listener.wait_for(
                lambda lst: lst.of("status")[-1]["state"] == "scanning" and len(lst.of("detections")) >= fault_at + 2,
                30,
                "scanning and reporting again",
            )
            still_running = running.thread.is_alive() and not running.result
            healthy, _ = running.node.health()
            source_faults = running.node.counts.source_faults
    finally:
        listener.close()
    return Recovery(listener.of("status"), source_faults, healthy, still_running)


def test_unplugged_dongle_is_a_fault_then_recovers_without_restart(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    recovery = _unplug_and_recover(tmp_path, mosquitto, after_s=2.0, for_s=3.0)

    fault = next(m for m in recovery.statuses if m["state"] == "fault")
    assert "device disappeared" in fault["fault"], "the fault says what happened, for the control room"
    assert [m["state"] for m in recovery.statuses].index("fault") < len(recovery.statuses) - 1
    assert recovery.source_faults >= 1, "the fault is counted for stats and /metrics"
    assert recovery.healthy, "healthy again after recovery"


WATCHDOG_S = 1.0
SCHEDULING_SLACK_S = 0.25  # a wait that overruns on a loaded test box; still well inside WatchdogSec


def test_watchdog_is_fed_through_a_long_unplug_and_the_node_recovers_without_restart(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unplugged for 6 s against a 1 s WatchdogSec: the reopen backoff (1, 2, 4 s) outgrows the interval, and
    systemd must still hear WATCHDOG=1 every half interval, or it would restart a node that is only waiting."""
    systemd = SystemdNotifications(monkeypatch, watchdog_s=WATCHDOG_S)
    try:
        recovery = _unplug_and_recover(tmp_path, mosquitto, after_s=1.0, for_s=6.0)
    finally:
        systemd.close()
    assert recovery.still_running, "recovered inside the same run: no exit for systemd to restart"
    fault_s = next(t for t, text in systemd.received if text.startswith("STATUS=fault"))
    recovered_s = next(t for t, text in systemd.received if t > fault_s and text.startswith("STATUS=scanning"))
    assert recovered_s - fault_s > 4 * WATCHDOG_S, "the unplug outlasts several watchdog intervals"
    fed = [fault_s] + [t for t, text in systemd.received if fault_s < t < recovered_s and text == "WATCHDOG=1"]
    longest_s = max(b - a for a, b in pairwise([*fed, recovered_s]))
    assert longest_s <= WATCHDOG_S / 2 + SCHEDULING_SLACK_S, (
        f"systemd heard nothing for {longest_s:.2f} s while the dongle was away (WatchdogSec {WATCHDOG_S} s, "
        f"fed every half of it)"
    )
