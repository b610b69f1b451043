"""A dongle unplugged mid-run: the node says `fault`, retries with backoff and scans again without a restart."""

from __future__ import annotations

from pathlib import Path

from tests.sensors.harness import GSM_CARRIER_HZ, Listener, make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker


def test_unplugged_dongle_is_a_fault_then_recovers_without_restart(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    make_keys(tmp_path)
    source = {
        "kind": "scene",
        "emitters": [{"technology": "gsm_call", "freq_hz": GSM_CARRIER_HZ, "snr_db": 25}],
        "faults": [{"after_s": 2.0, "for_s": 3.0}],
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
            faults = running.node.counts.source_faults
            health_ok, _ = running.node.health()
    finally:
        listener.close()
    statuses = listener.of("status")
    fault = next(m for m in statuses if m["state"] == "fault")
    assert "device disappeared" in fault["fault"], "the fault says what happened, for the control room"
    assert [m["state"] for m in statuses].index("fault") < len(statuses) - 1
    assert faults >= 1, "the fault is counted for stats and /metrics"
    assert health_ok, "healthy again after recovery"
