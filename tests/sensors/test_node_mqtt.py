"""The node against a real Mosquitto: reports arrive signed and valid, and survive broker outages by seq."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from cellward.messages.schema_files import validate_wire
from cellward.signing import verify_message
from sensors import system_health
from tests.sensors.harness import (
    GSM_CARRIER_HZ,
    Listener,
    make_keys,
    running_node,
    write_config,
)
from tests.support.mosquitto import MosquittoBroker


def _seqs(messages: list[dict]) -> list[int]:
    return sorted({m["seq"] for m in messages})


def assert_contiguous(seqs: list[int], what: str) -> None:
    assert seqs, f"no {what} arrived"
    missing = sorted(set(range(1, seqs[-1] + 1)) - set(seqs))
    assert not missing, f"{what}: seq gaps are lost messages; missing {missing[:20]} of 1..{seqs[-1]}"


def test_reports_arrive_valid_signed_and_numbered(
    tmp_path: Path, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = make_keys(tmp_path)
    zone = tmp_path / "thermal_zone0_temp"
    zone.write_text("48312\n")  # what a Pi's /sys/class/thermal/thermal_zone0/temp holds: millidegrees C
    monkeypatch.setattr(system_health, "THERMAL_ZONE", zone)
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(write_config(tmp_path, mosquitto.port)) as running:
            listener.wait_for(lambda lst: len(lst.of("detections")) >= 3, 30, "three detection batches")
            listener.wait_for(lambda lst: len(lst.of("stats")) >= 3, 15, "stats messages (and 5 s of CPU figures)")
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{running.node.http.port}/health").read())
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{running.node.http.port}/metrics").read().decode()
        listener.wait_for(lambda lst: any(m["state"] == "stopped" for m in lst.of("availability")), 10, "stopped")
    finally:
        listener.close()
    for topic, message, _ in listener.messages:
        validate_wire(message)  # the contract
        verify_message(message, keys.node_ring)  # the signature
        assert topic.startswith("cellward/hmp-test/sensor/s-1/"), "a node publishes only under its own id"
    reports = [r for batch in listener.of("detections") for r in batch["reports"]]
    phone = [r for r in reports if abs(r["freq_hz"] - GSM_CARRIER_HZ) <= 100e3]
    assert phone, f"the simulated GSM call at {GSM_CARRIER_HZ / 1e6} MHz must be reported; got {reports[:2]}"
    assert {r["technology"] for r in phone} == {"gsm"}, "a GSM call is reported as gsm"
    assert all(r["band"] == "B8" and r["operators"] == ["Vodafone"] for r in phone)
    # one burst per 4.615 ms TDMA frame (one slot of 8) while listening: duty cycle near 546/4615 us
    duties = [r["duty_cycle"] for r in phone if r["listen_s"] >= 0.08]
    assert duties and all(0.08 < d < 0.16 for d in duties), f"GSM TCH duty cycle ~0.12, got {duties}"
    for stream in ("detections", "stats", "status"):
        assert_contiguous(_seqs(listener.of(stream)), stream)
    states = [m["state"] for m in listener.of("availability")]
    assert states[0] == "online" and states[-1] == "stopped", f"availability went {states}"
    assert health["state"] == "scanning" and health["mqtt_connected"] is True
    assert health["samples_dropped_total"] >= 0
    assert all(m["samples_dropped"] >= 0 for m in listener.of("stats")), "overruns are in every stats message"
    for name in (
        "dwells_total",
        "samples_in_total",
        "samples_dropped_total",
        "usb_errors_total",
        "spool_depth",
        "cpu_percent",
        "rss_mb",
        "clock_offset_s",
        "temperature_c",
    ):
        assert f"cellward_sensor_{name}" in metrics, f"/metrics must export cellward_sensor_{name}"
    assert re.search(r"^cellward_sensor_temperature_c\{[^}]*\} 48\.312$", metrics, re.M), "the SoC at 48.312 °C"
    assert {m["temperature_c"] for m in listener.of("stats")} == {48.312}, "every stats message has the SoC's °C"


def _outage_run(tmp_path: Path, outage_s: float) -> None:
    keys = make_keys(tmp_path)
    broker = MosquittoBroker(workdir=tmp_path)
    broker.start()
    listener = Listener(broker.host, broker.port)
    try:
        with running_node(write_config(tmp_path, broker.port)) as running:
            listener.wait_for(lambda lst: len(lst.of("detections")) >= 2, 30, "detections before the outage")
            broker.stop()
            time.sleep(outage_s)
            spooled = running.node.spool.depth
            assert spooled > 0, "reports made while the broker is down must wait in the spool"
            broker.start()
            listener.wait_for(lambda lst: running.node.spool.queued == 0, 30 + outage_s, "the spool to drain")
        made = running.node.counts.reports  # after the stop, which flushes the last window
        listener.wait_for(lambda lst: any(m["state"] == "stopped" for m in lst.of("availability")), 10, "stop")
    finally:
        listener.close()
        broker.stop()
    batches = listener.of("detections")
    assert_contiguous(_seqs(batches), "detections across the outage")
    received = sum(len(b["reports"]) for b in {b["seq"]: b for b in batches}.values())
    assert received == made, f"the node made {made} reports; {received} arrived once de-duplicated by seq"
    for message in batches:
        verify_message(message, keys.node_ring)


def test_broker_outage_loses_no_reports(tmp_path: Path) -> None:
    _outage_run(tmp_path, outage_s=6.0)


@pytest.mark.slow
def test_broker_down_30_s_loses_no_reports(tmp_path: Path) -> None:
    _outage_run(tmp_path, outage_s=30.0)


def test_seq_continues_across_a_restart(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    make_keys(tmp_path)
    config = write_config(tmp_path, mosquitto.port)
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        for _ in range(2):
            with running_node(config):
                count = len(listener.of("detections"))
                listener.wait_for(lambda lst, c=count: len(lst.of("detections")) >= c + 2, 30, "more detections")
    finally:
        listener.close()
    assert_contiguous(_seqs(listener.of("detections")), "detections over two runs of the node")
    assert_contiguous(_seqs(listener.of("status")), "status over two runs")


def test_status_is_retained_for_a_subscriber_that_comes_later(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    """A control room that connects after the node last said anything still learns its state at once."""
    make_keys(tmp_path)
    early = Listener(mosquitto.host, mosquitto.port)
    late: Listener | None = None
    try:
        with running_node(write_config(tmp_path, mosquitto.port)):
            early.wait_for(lambda lst: any(m["state"] == "scanning" for m in lst.of("status")), 30, "scanning status")
            latest = early.of("status")[-1]
            late = Listener(mosquitto.host, mosquitto.port, client_id="late-subscriber")
            late.wait_for(lambda lst: bool(lst.of("status")), 10, "the retained status")
            status = late.with_retain_flag("status")
    finally:
        early.close()
        if late is not None:
            late.close()
    message, retained = status[0]
    assert retained, "the broker hands the status to a new subscriber as a retained message"
    assert (message["seq"], message["state"]) == (latest["seq"], "scanning"), "the node's latest status, not an old one"
