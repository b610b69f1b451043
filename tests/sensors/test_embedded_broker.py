"""The embedded Python broker (used when Mosquitto is absent) carries the sensor's reports with the same accounts
and ACLs that `cellward provision` writes for Mosquitto."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from cellward.embedded_broker import BrokerConfigError, read_acl_file, read_mosquitto_conf
from cellward.messages.schema_files import validate_wire
from cellward.provision import mosquitto_password_line, provision, verify_mosquitto_password
from cellward.signing import verify_message
from cellward.site import small_site_path
from tests.sensors.harness import Listener, make_keys, running_node, write_config
from tests.sensors.test_broker_security import controller_listener, secured_broker
from tests.support.mosquitto import MosquittoBroker, free_port


def _connect_code(broker: MosquittoBroker, username: str | None, password: str | None) -> int:
    """The CONNACK reason code the broker gives these credentials (0 = accepted)."""
    codes: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{username}")
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, reason, _p: codes.append(reason.value)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not codes and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        client.loop_stop()
        client.disconnect()
    assert codes, "the broker must answer a CONNECT"
    return codes[0]


def test_sensor_reports_pass_through_the_embedded_broker_under_its_acl(tmp_path: Path) -> None:
    keys = make_keys(tmp_path)
    (tmp_path / "mqtt-password").write_text("sensor-secret\n")
    broker = secured_broker(tmp_path, embedded=True)
    listener = controller_listener(broker)
    try:
        mqtt_config = {"host": broker.host, "port": broker.port, "username": "s-1", "password_file": "mqtt-password"}
        with running_node(write_config(tmp_path, broker.port, mqtt=mqtt_config)) as running:
            listener.wait_for(lambda lst: len(lst.of("detections")) >= 2, 40, "detections through the embedded broker")
            # the account writing under another sensor's id is dropped by the ACL, as Mosquitto drops it
            running.node.publisher._client.publish("cellward/hmp-test/sensor/s-2/detections", b"{}", qos=1)
            time.sleep(1.0)
        listener.wait_for(lambda lst: any(m["state"] == "stopped" for m in lst.of("availability")), 10, "stopped")
    finally:
        listener.close()
        broker.stop()
    assert all("/sensor/s-1/" in topic for topic, _, _ in listener.messages), "nothing under another id gets through"
    for _, message, _ in listener.messages:
        validate_wire(message)
        verify_message(message, keys.sensor_ring)
    seqs = sorted({m["seq"] for m in listener.of("detections")})
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), f"no detection batch lost on the way: {seqs}"


def test_embedded_broker_refuses_anonymous_and_wrong_passwords(tmp_path: Path) -> None:
    broker = secured_broker(tmp_path, embedded=True)
    try:
        assert _connect_code(broker, "s-1", "sensor-secret") == 0, "the provisioned account connects"
        assert _connect_code(broker, "s-1", "guess") != 0, "a wrong password is refused"
        assert _connect_code(broker, "nobody", "sensor-secret") != 0, "an unknown account is refused"
        assert _connect_code(broker, None, None) != 0, "anonymous clients are refused (allow_anonymous false)"
    finally:
        broker.stop()


def test_sensor_account_cannot_read_another_sensors_commands(tmp_path: Path) -> None:
    broker = secured_broker(tmp_path, embedded=True)
    spy = Listener(broker.host, broker.port, "spy", "s-1", "sensor-secret")  # subscribes to cellward/#
    controller = controller_listener(broker)
    try:
        time.sleep(0.5)
        controller.client.publish("cellward/hmp-test/sensor/s-2/cmd/pause/set", b'{"x": 1}', qos=1).wait_for_publish(5)
        time.sleep(1.5)
    finally:
        spy.close()
        controller.close()
        broker.stop()
    assert not spy.messages, f"s-1 must not read s-2's commands: {[t for t, _, _ in spy.messages]}"


def test_provisioned_site_config_runs_on_the_embedded_broker(tmp_path: Path) -> None:
    """What `cellward demo` does without Mosquitto: the provisioned mosquitto.conf, accounts and ACL as they are."""
    result = provision(small_site_path(), "hmp-small", tmp_path / "site", broker_port=free_port())
    first, second = sorted(result.sensor_configs)[:2]
    log = (tmp_path / "broker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "cellward.embedded_broker", "-c", str(result.mosquitto_conf)], stdout=log, stderr=log
    )
    broker = MosquittoBroker(workdir=tmp_path, port=result.broker_port, embedded=True, process=process)
    try:
        _wait_listening(broker, process)
        received: list[str] = []
        controller = _client(broker, "controller", result.passwords["controller"])
        controller.on_message = lambda _c, _u, message: received.append(message.topic)
        controller.subscribe("cellward/hmp-small/#", qos=1)  # what its ACL grants
        sensor = _client(broker, first, result.passwords[first])
        time.sleep(0.5)
        for sender in (first, second):  # its own topic, then forged under another sensor's id
            sensor.publish(f"cellward/hmp-small/sensor/{sender}/detections", b'{"n": 1}', qos=1).wait_for_publish(5)
        time.sleep(1.5)
        for client in (sensor, controller):
            client.loop_stop()
            client.disconnect()
        assert _connect_code(broker, first, "not-its-password") != 0, "provisioned accounts need their password"
    finally:
        broker.stop()
    assert received == [f"cellward/hmp-small/sensor/{first}/detections"], f"the forged one must be dropped: {received}"


def _client(broker: MosquittoBroker, username: str, password: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{username}-test")
    client.username_pw_set(username, password)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _wait_listening(broker: MosquittoBroker, process: subprocess.Popen, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the embedded broker exited with {process.returncode}"
        with socket.socket() as sock:
            if sock.connect_ex((broker.host, broker.port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"the embedded broker did not listen on {broker.port} within {timeout_s} s")


def test_mosquitto_password_lines_verify() -> None:
    line = mosquitto_password_line("s-1", "right")
    hashed = line.split(":", 1)[1]
    assert verify_mosquitto_password(hashed, "right")
    assert not verify_mosquitto_password(hashed, "wrong")
    assert not verify_mosquitto_password("$7$101$not-base64!$x", "right"), "a damaged line matches nothing"
    assert not verify_mosquitto_password("plain", "plain"), "an unhashed password is never accepted"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("certfile /etc/ssl/broker.pem", "certfile"),
        ("connection central", "connection"),
        ("listener 1883 0.0.0.0", "loopback only"),
    ],
)
def test_config_the_embedded_broker_cannot_honour_is_refused(tmp_path: Path, line: str, message: str) -> None:
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener 1883 127.0.0.1\nallow_anonymous false\n{line}\n")
    with pytest.raises(BrokerConfigError, match=message):
        read_mosquitto_conf(conf)


def test_bad_acl_line_is_reported_with_its_place(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("user s-1\ntopic write cellward/x\ntopik read cellward/#\n")
    with pytest.raises(BrokerConfigError, match=r"acl:3"):
        read_acl_file(acl)
