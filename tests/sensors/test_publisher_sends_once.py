"""A spooled message goes to the broker once per connection: the sender must not pick up a message whose
PUBACK has come but whose removal from the spool has not finished yet."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from cellward.messages import BlockerFault
from cellward.signing import NodeKey
from sensors.publisher import MqttConfig, Publisher
from sensors.spool import Spool
from tests.support.mosquitto import MosquittoBroker

SITE = "hmp-test"
UNIT = "BLK-A"
MESSAGES = 12


class SlowToForgetSpool(Spool):
    """A spool on a slow SD card: forgetting a message takes 50 ms, which widens the window a sender that
    checks only its in-flight list would resend through."""

    def remove(self, message_id: int) -> None:
        time.sleep(0.05)
        super().remove(message_id)


def _listen(broker: MosquittoBroker, seen: list[int], ready: threading.Event) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="listener")
    client.on_connect = lambda c, *_: c.subscribe(f"cellward/{SITE}/blocker/{UNIT}/faults", qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda _c, _u, message: seen.append(json.loads(message.payload)["seq"])
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_each_spooled_message_reaches_the_broker_once(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    seen: list[int] = []
    ready = threading.Event()
    listener = _listen(mosquitto, seen, ready)
    assert ready.wait(5), "the listener subscribed"
    publisher = Publisher(
        MqttConfig(host=mosquitto.host, port=mosquitto.port),
        SITE,
        UNIT,
        NodeKey.generate(UNIT),
        SlowToForgetSpool(tmp_path / "spool.sqlite"),
        lambda topic, payload: None,
        time.time,
        kind="blocker",
    )
    publisher.start()
    try:
        assert publisher.connected.wait(5)
        for number in range(MESSAGES):
            fault = BlockerFault(
                site=SITE,
                sender=UNIT,
                ts=time.time(),
                seq=1,
                event="raised",
                kind="actuator",
                detail=f"output {number} stuck",
                action="none",
                bands=[],
            )
            publisher.send(fault, "faults")
        deadline = time.monotonic() + 10
        while publisher.spool.depth and time.monotonic() < deadline:
            time.sleep(0.05)
        assert publisher.spool.depth == 0, "the broker took every message"
        time.sleep(0.5)  # anything sent twice arrives by now
    finally:
        publisher.stop()
        listener.loop_stop()
        listener.disconnect()
    assert sorted(seen) == list(range(1, MESSAGES + 1)), "each seq once, none twice"
