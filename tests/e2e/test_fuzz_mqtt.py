"""10 000 hypothesis-generated MQTT payloads at a running controller through a real Mosquitto: nothing crashes,
nothing is stored, every one is rejected and counted, and a good message afterwards is still ingested."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.metrics import REJECTION_REASONS
from tests.controller.conftest import SITE_ID, wait_for
from tests.controller.sensor_messages import activity_report

pytestmark = pytest.mark.slow
BATCHES = 100
PER_BATCH = 100  # 100 x 100 = 10 000 payloads
KNOWN_LEAVES = {"availability", "detections", "status", "stats"}
PRINTABLE_TOPIC_LEVEL = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#+/")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


def _rejected(controller) -> float:
    registry = controller.metrics.registry
    return sum(
        registry.get_sample_value("cellward_controller_messages_rejected_total", {"reason": r}) or 0.0
        for r in REJECTION_REASONS
    )


def test_ten_thousand_fuzzed_payloads_are_each_rejected_and_counted(sqlite_world, mosquitto):
    from sqlalchemy import func, select

    from controller.db.reports import Message

    controller = sqlite_world.start()
    node, other = list(sqlite_world.nodes.values())[:2]
    topic, valid = node.detections([activity_report(datetime.now(UTC), [-60.0, -61.0])])
    valid_message = json.loads(valid)
    other_topic = topic.replace(f"/{node.sensor_id}/", f"/{other.sensor_id}/")

    def mutated(field_and_value) -> tuple[str, bytes]:
        key, value = field_and_value
        message = dict(valid_message)
        message[key] = value if value != message.get(key) else [value]
        return topic, json.dumps(message).encode()

    payloads = st.one_of(
        st.binary(max_size=200).map(lambda b: (topic, b)),
        json_values.map(lambda v: (topic, json.dumps(v).encode())),
        st.tuples(st.sampled_from(sorted(valid_message)), json_values).map(mutated),
        st.just((other_topic, valid)),  # a valid message of one sensor on another's topic
        # unknown leaves under the sensor's tree (printable: a broker drops a client that sends a bad topic)
        st.text(PRINTABLE_TOPIC_LEVEL, min_size=1, max_size=20)
        .filter(lambda leaf: leaf not in KNOWN_LEAVES)
        .map(lambda leaf: (f"cellward/{SITE_ID}/sensor/{node.sensor_id}/{leaf}", valid)),
    )
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-fuzzer")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    published = 0

    @settings(max_examples=BATCHES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(payloads, min_size=PER_BATCH, max_size=PER_BATCH))
    def publish_batch(batch):
        nonlocal published
        infos = [client.publish(t, p, qos=1) for t, p in batch]
        infos[-1].wait_for_publish(30)
        published += len(batch)

    try:
        publish_batch()
    finally:
        time.sleep(0.5)
        client.disconnect()
        client.loop_stop()
    assert published >= 10_000, f"hypothesis generated only {published} payloads"
    deadline = time.monotonic() + 120
    while _rejected(controller) < published and time.monotonic() < deadline:
        time.sleep(0.5)
    with controller.sessions() as db:
        stored = db.scalar(select(func.count()).select_from(Message))
    assert stored == 0, f"{stored} fuzzed messages were stored"
    # every payload's topic matches the controller's subscription (cellward/<site>/sensor/+/+)
    assert _rejected(controller) == published, f"published {published}, rejected and counted {_rejected(controller)}"
    assert controller.ingest.wait_subscribed(5), "ingest must still be connected after the fuzz"
    good_topic, good = node.detections([activity_report(datetime.now(UTC), [-60.0])])
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-good")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    publisher.publish(good_topic, good, qos=1).wait_for_publish(5)

    def one_stored():
        with controller.sessions() as db:
            return db.scalar(select(func.count()).select_from(Message)) == 1

    wait_for(one_stored, timeout_s=20, what="a good message after the fuzz to be stored")
    publisher.disconnect()
    publisher.loop_stop()
