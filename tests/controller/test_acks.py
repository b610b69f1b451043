"""The controller acknowledges to each sensor what its database holds (cellward.ack/1): the high-water mark
below the first gap, the gaps to send again, signed with its key, retained on the sensor's ack topic."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from cellward.messages import ack_topic, validate_wire
from cellward.signing import Keyring, NodeKey, verify_message
from tests.controller.conftest import SITE_ID, wait_for
from tests.controller.sensor_messages import activity_report


class AckListener:
    def __init__(self, port: int, topic: str) -> None:
        self.acks: list[dict] = []
        self.retained: list[bool] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"acks-{threading.get_ident()}")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.acks.append(json.loads(message.payload))
            self.retained.append(bool(message.retain))

    def last(self, name: str) -> dict | None:
        with self._lock:
            for ack in reversed(self.acks):
                for stream in ack["streams"]:
                    if stream["name"] == name:
                        return stream
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_stored_seqs_are_acknowledged_below_the_first_gap_and_gaps_are_asked_for_again(
    world, publisher, mosquitto
) -> None:
    controller = world.start()
    node = next(iter(world.nodes.values()))
    listener = AckListener(mosquitto.port, ack_topic(SITE_ID, node.sensor_id))
    report = [activity_report(datetime.now(UTC), [-60.0])]
    try:
        for seq in (1, 2, 3, 6, 7):  # 4 and 5 lost on the way
            publisher.publish(*node.detections(report, seq=seq))
        wait_for(
            lambda: (listener.last("cellward.detections/1") or {}).get("highest_seq") == 7,
            20,
            "an ack of seq 7",
        )
        gap = listener.last("cellward.detections/1")
        for seq in (4, 5):  # the sensor sends them again
            publisher.publish(*node.detections(report, seq=seq))
        wait_for(
            lambda: (listener.last("cellward.detections/1") or {}).get("through_seq") == 7,
            20,
            "the gap to close",
        )
    finally:
        listener.close()
    assert gap == {"name": "cellward.detections/1", "through_seq": 3, "highest_seq": 7, "missing": [4, 5]}
    assert listener.last("cellward.detections/1")["missing"] == []
    controller_ring = Keyring()
    controller_ring.add("controller", NodeKey.load(controller.config.signing_key_file, "controller").public_b64)
    for ack in listener.acks:
        validate_wire(ack)
        verify_message(ack, controller_ring)
        assert ack["target"] == node.sensor_id and ack["site"] == SITE_ID
    seqs = [a["seq"] for a in listener.acks]
    assert seqs == sorted(set(seqs)), f"ack seqs increase: {seqs}"


def test_a_reconnecting_sensor_finds_its_last_ack_retained(world, publisher, mosquitto) -> None:
    world.start()
    node = next(iter(world.nodes.values()))
    publisher.publish(*node.detections([activity_report(datetime.now(UTC), [-60.0])]))
    first = AckListener(mosquitto.port, ack_topic(SITE_ID, node.sensor_id))
    try:
        wait_for(lambda: first.last("cellward.detections/1"), 20, "a first ack")
    finally:
        first.close()
    later = AckListener(mosquitto.port, ack_topic(SITE_ID, node.sensor_id))
    try:
        wait_for(lambda: later.acks, 10, "the retained ack")
    finally:
        later.close()
    assert later.retained[0], "the ack waits at the broker for a sensor that was away"
    assert later.last("cellward.detections/1")["through_seq"] == 1
