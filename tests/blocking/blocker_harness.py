"""A blocker node in a thread on the simulator's blocker, its keys and config, and a controller stand-in
that signs commands and records everything the node publishes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml

from cellward.messages import BlockerCommand, blocker_command_topic, validate_wire
from cellward.signing import sign_message, verify_message
from cellward.site import load_site, small_site_path
from sensors.blocker.actuators.sim import SimActuator
from sensors.blocker.config import load_blocker_config
from sensors.blocker.node import BlockerNode
from sim.blockers import BlockerSwitchboard
from tests.support.node_keys import NodeKeys, make_node_keys

SITE = "hmp-test"
UNIT = "BLK-A"  # the small site's unit: zone cells-A, bands B8 and B3


def make_keys(directory: Path) -> NodeKeys:
    return make_node_keys(directory, UNIT, "blocker.pem")


def write_config(directory: Path, port: int, **overrides: Any) -> Path:
    config: dict[str, Any] = {
        "site": SITE,
        "blocker_id": UNIT,
        "zones": ["cells-A"],
        "bands": {"B8": {"max_power_dbm": 20.0}, "B3": {"max_power_dbm": 20.0, "power_dbm": 15.0}},
        "actuator": {"kind": "sim", "site": "small", "switch_log": "switches.jsonl"},
        "mqtt": {"host": "127.0.0.1", "port": port, "reconnect_max_s": 1},
        "signing_key": "blocker.pem",
        "controller_keyring": "controller-keyring.json",
        "state_dir": "state",
        "failsafe": {"timeout_s": 600},
        "heartbeat_interval_s": 0.5,
        "http": {"port": 0},
    }
    config.update(overrides)
    path = directory / "blocker.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass
class RunningBlocker:
    node: BlockerNode
    switchboard: BlockerSwitchboard
    thread: threading.Thread
    result: list[int] = field(default_factory=list)

    def stop(self, timeout_s: float = 15.0) -> None:
        self.node.stop()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the node must stop within its timeout"

    def radiating(self, band: str) -> float | None:
        """What the simulated world sees the unit radiate in `band` now (dBm), None when off."""
        return self.switchboard.emitting(UNIT, band, time.time())

    def switched_on(self) -> list[str]:
        return [s.band for s in self.switchboard.switches() if s.on]


@contextmanager
def running_blocker(config_path: Path, switchboard: BlockerSwitchboard | None = None) -> Iterator[RunningBlocker]:
    """The node on the simulator's blocker; the switchboard is the simulated world's view of the unit."""
    config = load_blocker_config(config_path)
    board = switchboard or BlockerSwitchboard(load_site(small_site_path()), config.actuator.switch_log)
    actuator = SimActuator(config.actuator, config.blocker_id, time.time, board)  # type: ignore[arg-type]
    node = BlockerNode(config, actuator)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(node.run()), daemon=True)
    running = RunningBlocker(node, board, thread, result)
    thread.start()
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()


def _utc(epoch_s: float) -> str:
    from cellward.messages import utc_text

    return utc_text(epoch_s)


class Controller:
    """A durable MQTT session standing in for the controller: signs and sends blocker commands and keeps
    every message the node publishes (queued by the broker while this client is away)."""

    def __init__(self, host: str, port: int, keys: NodeKeys, client_id: str = "test-controller") -> None:
        self.keys = keys
        self.messages: list[tuple[str, dict, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe(f"cellward/{SITE}/blocker/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith("/set"):
            return  # our own commands
        with self._lock:
            self.messages.append((message.topic, json.loads(message.payload), bool(message.retain)))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # -- what the node said --------------------------------------------------------------------------
    def of(self, leaf: str) -> list[dict]:
        """Messages on the unit's `leaf` (state, heartbeat, faults, availability) or `ack`s."""
        with self._lock:
            if leaf == "ack":
                return [m for t, m, _ in self.messages if "/cmd/" in t]
            return [m for t, m, _ in self.messages if t == f"cellward/{SITE}/blocker/{UNIT}/{leaf}"]

    def acks(self, command_id: str | None) -> list[dict]:
        return [a for a in self.of("ack") if a["id"] == command_id]

    def wait_for(self, predicate, what: str, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")

    def final_ack(self, command_id: str | None, timeout_s: float = 20.0) -> dict:
        def final() -> list[dict]:
            return [a for a in self.acks(command_id) if a["result"] in ("applied", "refused", "failed")]

        self.wait_for(lambda: final(), f"the answer to {command_id}", timeout_s)
        return final()[0]

    def onlines(self) -> int:
        return sum(1 for m in self.of("availability") if m["state"] == "online")

    def wait_online(self, before: int = 0) -> None:
        """Until the node has (re)connected and subscribed: its `online` comes after its subscription (a
        new process imports numba first: a minute on a busy box)."""
        self.wait_for(lambda: self.onlines() > before, "the node to come online", 60.0)

    def state(self) -> dict:
        return self.of("state")[-1]

    def check_all_signed_and_valid(self) -> None:
        """Every message the node published satisfies its schema and carries the node's signature."""
        with self._lock:
            messages = list(self.messages)
        assert messages, "the node published nothing"
        for topic, message, _ in messages:
            validate_wire(message)
            verify_message(message, self.keys.node_ring)
            assert message["sender"] == UNIT, topic

    # -- commands ------------------------------------------------------------------------------------
    def command(self, name: str, params: dict, seq: int, expires_in_s: float = 30.0, **changes: Any) -> dict:
        """A signed command as the controller writes it; `changes` are applied before signing."""
        now = time.time()
        message = (
            BlockerCommand(
                site=SITE,
                sender="controller",
                ts=now,
                seq=seq,
                command=name,
                id=f"b-{seq}",
                target=UNIT,
                expires=now + expires_in_s,
                params=params,
            ).to_wire()
            | changes
        )
        return sign_message(message, self.keys.controller)

    def send(self, message: dict | bytes, topic_command: str | None = None) -> str | None:
        """Publish on cmd/<command>/set (the payload's command unless `topic_command`); returns its id."""
        if isinstance(message, bytes):
            payload, name, command_id = message, topic_command or "set_blocking", None
        else:
            payload = json.dumps(message).encode()
            name, command_id = topic_command or message["command"], message.get("id")
        self.client.publish(blocker_command_topic(SITE, UNIT, name), payload, qos=1).wait_for_publish(5)
        return command_id
