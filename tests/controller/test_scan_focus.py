"""The controller publishes the site's scan focus (cellward.scan_focus/1): the channels sensors reported
phone uplink on lately, signed, retained, republished when they change and dropped when they go quiet."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
import yaml

from cellward.messages import (
    FOCUS_APPLIES_AFTER_S,
    DetectionBatch,
    scan_focus_topic,
    validate_wire,
)
from cellward.signing import Keyring, NodeKey, verify_message
from controller.config import ScanFocusConfig
from controller.scan_focus import RecentPhoneChannels
from tests.controller.conftest import SITE_ID, wait_for
from tests.controller.sensor_messages import activity_report


class FocusListener:
    def __init__(self, port: int) -> None:
        self.focus: list[tuple[dict, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"focus-{threading.get_ident()}")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(scan_focus_topic(SITE_ID), qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.focus.append((json.loads(message.payload), bool(message.retain)))

    def channels(self) -> list[float] | None:
        with self._lock:
            return self.focus[-1][0]["channels_hz"] if self.focus else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_phone_channels_reported_by_sensors_become_the_signed_retained_focus(world, publisher, mosquitto) -> None:
    config = yaml.safe_load(world.config_path.read_text())
    config["scan_focus"] = {"control_channels_hz": [907.4e6, 880.6e6]}  # from a downlink survey
    world.config_path.write_text(yaml.safe_dump(config))
    controller = world.start()
    node_a, node_b = list(world.nodes.values())[:2]
    listener = FocusListener(mosquitto.port)
    now = datetime.now(UTC)
    try:
        wait_for(lambda: listener.channels() == [], 20, "the empty focus published at connect")
        publisher.publish(*node_a.detections([activity_report(now, [-60.0], freq_hz=897.4e6)]))
        publisher.publish(
            *node_b.detections(
                [
                    activity_report(now, [-70.0], freq_hz=842.2e6, technology="lte", band="B20"),
                    activity_report(now, [-50.0], freq_hz=868.0e6, technology="unknown", band=None, operators=()),
                ]
            )
        )
        wait_for(lambda: listener.channels() == [842.2e6, 897.4e6], 20, "both phone channels, not the SRD energy")
    finally:
        listener.close()
    # the controller looks up the focus the sensors obeyed in a slot as they do: in force from ts + the delay
    written_s = datetime.fromisoformat(listener.focus[-1][0]["ts"].replace("Z", "+00:00")).timestamp()
    in_force = controller.ingest.scan_focus.site_focus(written_s + FOCUS_APPLIES_AFTER_S)
    assert in_force is not None and in_force.channels_hz == (842.2e6, 897.4e6)
    assert in_force.control_hz == (880.6e6, 907.4e6), "the control carriers ride along, ascending"
    before = controller.ingest.scan_focus.site_focus(written_s + FOCUS_APPLIES_AFTER_S - 0.01)
    assert before is None or before.channels_hz != in_force.channels_hz, "until then the one before held"
    later = FocusListener(mosquitto.port)
    try:
        wait_for(lambda: later.focus, 10, "the retained focus")
        retained_message, retained = later.focus[0]
    finally:
        later.close()
    assert retained and retained_message["channels_hz"] == [842.2e6, 897.4e6], "a sensor starting now finds it"
    ring = Keyring()
    ring.add("controller", NodeKey.load(controller.config.signing_key_file, "controller").public_b64)
    for message, _ in listener.focus:
        validate_wire(message)
        verify_message(message, ring)
        assert message["site"] == SITE_ID and message["valid_s"] == 30.0
        assert message["control_channels_hz"] == [880.6e6, 907.4e6], "in every focus, whatever was heard"
    seqs = [m["seq"] for m, _ in listener.focus]
    assert seqs == sorted(set(seqs)), f"focus seqs increase: {seqs}"


def _batch(channels_heard: dict[float, datetime], technology: str = "gsm") -> DetectionBatch:
    reports = [activity_report(at, [-60.0], freq_hz=hz, technology=technology) for hz, at in channels_heard.items()]
    return DetectionBatch(
        site=SITE_ID,
        sender="s-1",
        ts=datetime.now(UTC),
        seq=1,
        clock={"state": "synced", "source": "test", "offset_s": 0.0},
        reports=reports,
    )


def test_the_focus_keeps_the_most_recent_channels_within_the_activity_window() -> None:
    config = ScanFocusConfig(active_s=30, max_channels=2)
    focus = RecentPhoneChannels(config)
    t0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    focus.note(_batch({897.4e6: t0, 882.4e6: t0 + timedelta(seconds=5), 1745.0e6: t0 + timedelta(seconds=10)}))
    focus.note(_batch({708.2e6: t0 + timedelta(seconds=20)}, technology="unknown"))
    start_s = t0.timestamp()
    assert focus.current(start_s + 11) == [882_400_000, 1_745_000_000], "the two heard last, ascending"
    assert focus.current(start_s + 36) == [1_745_000_000], "882.4 MHz was last heard 31 s ago"
    focus.note(_batch({897.4e6: t0 + timedelta(seconds=50)}))
    assert focus.current(start_s + 51) == [897_400_000], "heard again: back in; 1745 MHz has gone quiet"
    assert focus.current(start_s + 100) == []


def test_a_channel_reported_twice_in_a_batch_keeps_its_last_burst_and_ties_keep_report_order() -> None:
    """One batch may hold a channel's cut report and the rest of its window; channels heard last at one moment
    are kept, when too many, in the order they were first reported."""
    focus = RecentPhoneChannels(ScanFocusConfig(active_s=30, max_channels=2))
    t0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    seconds = [(1745.0e6, 5), (882.4e6, 0), (897.4e6, 8), (882.4e6, 5), (897.4e6, 2)]
    heard = [(hz, t0 + timedelta(seconds=s)) for hz, s in seconds]
    reports = [activity_report(at, [-60.0], freq_hz=hz, technology="gsm") for hz, at in heard]
    focus.note(_batch({897.4e6: t0}).model_copy(update={"reports": reports}))
    last_s = focus.last_heard_s[897_400_000] - t0.timestamp()
    assert 8.0 <= last_s < 8.01, f"its latest burst (its report's at 8 s), not its last report's: {last_s} s"
    assert focus.current(t0.timestamp() + 9) == [897_400_000, 1_745_000_000], "1745 MHz was reported before 882.4"


def test_a_control_channel_that_is_not_a_frequency_is_refused_by_path() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"control_channels_hz\.1"):
        ScanFocusConfig(control_channels_hz=[907.4e6, 0.0])
