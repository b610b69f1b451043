"""A sensor node in a thread, its keys and config, and an MQTT listener that records what arrives."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml

from cellward.signing import sign_message
from sensors.config import SensorConfig, load_sensor_config
from sensors.node import SensorNode
from tests.support.node_keys import NodeKeys, make_node_keys

SITE = "hmp-test"
SENSOR = "s-1"
GSM_CARRIER_HZ = 897.4e6


def make_keys(directory: Path) -> NodeKeys:
    return make_node_keys(directory, SENSOR, "sensor.pem")


def write_config(directory: Path, port: int, **overrides: Any) -> Path:
    """A sensor.yaml for a simulated GSM phone in B8 and a loopback broker; `overrides` replace sections."""
    config: dict[str, Any] = {
        "site": SITE,
        "sensor_id": SENSOR,
        "source": {"kind": "scene", "emitters": [{"technology": "gsm_call", "freq_hz": GSM_CARRIER_HZ, "snr_db": 25}]},
        "mqtt": {"host": "127.0.0.1", "port": port, "reconnect_max_s": 1},
        "signing_key": "sensor.pem",
        "controller_keyring": "controller-keyring.json",
        "state_dir": "state",
        # one 2 MHz tuning around the phone keeps every dwell on it, so reports come every second
        "scan": {"bands": ["B8"], "range_hz": [GSM_CARRIER_HZ - 1e6, GSM_CARRIER_HZ + 1e6]},
        "http": {"port": 0},
        "stats_interval_s": 2,
    }
    config.update(overrides)
    path = directory / "sensor.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass
class RunningNode:
    node: SensorNode
    thread: threading.Thread
    result: list[int] = field(default_factory=list)

    def stop(self, timeout_s: float = 15.0) -> None:
        self.node.stop()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the node must stop within its timeout"


@contextmanager
def running_node(config_path: Path, config: SensorConfig | None = None) -> Iterator[RunningNode]:
    node = SensorNode(config or load_sensor_config(config_path), config_path)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(node.run()), daemon=True)
    running = RunningNode(node, thread, result)
    thread.start()
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()


class Listener:
    """A durable-session MQTT subscriber on cellward/#: messages queued by the broker during its own
    outages are delivered when it reconnects, so the test sees everything the broker accepted."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str = "test-listener",
        username: str | None = None,
        password: str | None = None,
        tls_ca: Path | None = None,
    ) -> None:
        self.messages: list[tuple[str, dict, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if username:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.on_connect = lambda c, *_: c.subscribe("cellward/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            payload = json.loads(message.payload)
        except ValueError:
            return  # tests publish garbage commands on purpose; only the node's messages matter here
        with self._lock:
            self.messages.append((message.topic, payload, bool(message.retain)))

    def of(self, leaf: str) -> list[dict]:
        with self._lock:
            return [m for t, m, _ in self.messages if t.endswith("/" + leaf)]

    def with_retain_flag(self, leaf: str) -> list[tuple[dict, bool]]:
        with self._lock:
            return [(m, retained) for t, m, retained in self.messages if t.endswith("/" + leaf)]

    def wait_for(self, predicate: Callable[[Listener], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")

    def publish_command(
        self, keys: NodeKeys, name: str, params: dict, seq: int, topic_name: str | None = None, **changes: Any
    ) -> str:
        now = time.time()
        message = {
            "schema": "cellward.command/1",
            "site": SITE,
            "sender": "controller",
            "ts": _utc(now),
            "seq": seq,
            "command": name,
            "id": f"c-{seq}",
            "target": SENSOR,
            "expires": _utc(now + 300),
            "params": params,
        }
        message.update(changes)
        signed = sign_message(message, keys.controller) if message["sender"] == "controller" else message
        topic = f"cellward/{SITE}/sensor/{SENSOR}/cmd/{topic_name or name}/set"
        self.client.publish(topic, json.dumps(signed), qos=1).wait_for_publish(5)
        return message["id"]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _utc(epoch_s: float) -> str:
    from cellward.messages.wire_time import utc_text

    return utc_text(epoch_s)


class SystemdNotifications:
    """systemd's side of sd_notify: an abstract-namespace socket in $NOTIFY_SOCKET (and $WATCHDOG_USEC when a
    watchdog interval is given, as systemd sets it for WatchdogSec), each datagram kept with its arrival time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, watchdog_s: float | None = None) -> None:
        name = f"cellward-test-{uuid.uuid4().hex}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind("\0" + name)
        self._sock.settimeout(0.1)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        if watchdog_s is not None:
            monkeypatch.setenv("WATCHDOG_USEC", str(round(watchdog_s * 1e6)))
            monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
        self.received: list[tuple[float, str]] = []  # (time.monotonic(), text)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                text = self._sock.recv(4096).decode()
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), text))

    def texts(self) -> list[str]:
        return [text for _, text in list(self.received)]

    def wait_for(self, count: int, timeout_s: float) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.texts()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self._sock.close()
