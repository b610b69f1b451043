"""The broker fixture is a real Mosquitto that survives a stop/start on the same port."""

import time

import paho.mqtt.client as mqtt

from tests.support.mosquitto import MosquittoBroker


def _round_trip(broker: MosquittoBroker) -> bytes:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        received: list[bytes] = []
        client.on_message = lambda _c, _u, message: received.append(message.payload)
        client.subscribe("cellward/test/#", qos=1)
        client.publish("cellward/test/retained", b"hello", qos=1, retain=True).wait_for_publish(5)
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
        return received[0] if received else b""
    finally:
        client.loop_stop()
        client.disconnect()


def test_broker_delivers_and_restarts_on_same_port(mosquitto: MosquittoBroker) -> None:
    assert _round_trip(mosquitto) == b"hello"
    port = mosquitto.port
    mosquitto.stop()
    mosquitto.start()
    assert mosquitto.port == port
    assert _round_trip(mosquitto) == b"hello", "retained message must survive a restart (persistence on)"
