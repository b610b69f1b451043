"""Signed blocker-node messages for controller tests, built with the wire models as a blocker node builds
them, and a listener that collects (and verifies) the commands the controller publishes to units."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from cellward.messages import (
    BandState,
    BlockerAck,
    BlockerCommand,
    BlockerFault,
    BlockerHeartbeat,
    BlockerState,
    ClockState,
    FailsafeSetting,
    blocker_command_state_topic,
    blocker_topic,
    parse_message,
)
from cellward.signing import Keyring, NodeKey, sign_message, verify_message

CLOCK = ClockState(state="synced", source="chrony", offset_s=0.0001)


class UnitNode:
    """One blocker unit's key and per-message-name seq; builds signed (topic, payload) pairs."""

    def __init__(self, site: str, unit_id: str, bands: list[str], zones: list[str]) -> None:
        self.site, self.unit_id, self.bands, self.zones = site, unit_id, bands, zones
        self.key = NodeKey.generate(unit_id)
        self.seq: dict[str, int] = {}

    def _head(self, name: str, seq: int | None = None) -> dict:
        if seq is None:
            seq = self.seq.get(name, 0) + 1
            self.seq[name] = seq
        return {"site": self.site, "sender": self.unit_id, "ts": datetime.now(UTC), "seq": seq}

    def _signed(self, topic: str, message, sign: bool = True) -> tuple[str, bytes]:
        wire = message.to_wire()
        return topic, json.dumps(sign_message(wire, self.key) if sign else wire).encode()

    def state(self, on: list[str], mode: str = "normal") -> tuple[str, bytes]:
        bands = [
            BandState(band=b, on=b in on, power_dbm=20.0, max_power_dbm=20.0, zones=self.zones[:1] if b in on else [])
            for b in self.bands
        ]
        message = BlockerState(
            **self._head("cellward.blocker_state/1"),
            mode=mode,
            detail=None if mode == "normal" else "test",
            bands=bands,
            zones=self.zones,
            failsafe=FailsafeSetting(state="off", timeout_s=10.0),
            actuator="test",
            started_at=datetime.now(UTC),
            software_version="test",
        )
        return self._signed(blocker_topic(self.site, self.unit_id, "state"), message)

    def heartbeat(self, on: list[str] | None = None, seq: int | None = None, sign: bool = True) -> tuple[str, bytes]:
        message = BlockerHeartbeat(
            **self._head("cellward.blocker_heartbeat/1", seq),
            interval_s=2.0,
            uptime_s=10.0,
            mode="normal",
            bands_on=on or [],
            state_seq=1,
            controller_heard=datetime.now(UTC),
            commands_applied=0,
            refusals={},
            mqtt_reconnects=0,
            spool_depth=0,
            clock=CLOCK,
        )
        return self._signed(blocker_topic(self.site, self.unit_id, "heartbeat"), message, sign)

    def ack(self, command: str, command_id: str, result: str, reason: str | None, detail: str) -> tuple[str, bytes]:
        message = BlockerAck(
            **self._head("cellward.blocker_ack/1"),
            command=command,
            id=command_id,
            result=result,
            reason=reason,
            detail=detail,
            bands_on=[],
        )
        return self._signed(blocker_command_state_topic(self.site, self.unit_id, command), message)

    def fault(self, kind: str, detail: str) -> tuple[str, bytes]:
        head = self._head("cellward.blocker_fault/1")
        message = BlockerFault(**head, event="raised", kind=kind, detail=detail, action="bands_off", bands=[])
        return self._signed(blocker_topic(self.site, self.unit_id, "faults"), message)


class CommandListener:
    """Subscribes to every unit's command topics; keeps each command after checking the controller's
    signature and the schema (a command that fails either is kept in `bad`)."""

    def __init__(self, port: int, site: str, controller_id: str, controller_public_b64: str) -> None:
        self.keyring = Keyring()
        self.keyring.add(controller_id, controller_public_b64)
        self.commands: list[tuple[str, BlockerCommand]] = []
        self.bad: list[str] = []
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-units-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        self.client.on_connect = lambda client, *_a: client.subscribe(f"cellward/{site}/blocker/+/cmd/+/set", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the command listener did not subscribe"

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        try:
            wire = json.loads(message.payload)
            verify_message(wire, self.keyring)
            command = parse_message(wire)
            assert isinstance(command, BlockerCommand) and message.qos == 1
            with self._lock:
                self.commands.append((message.topic, command))
        except Exception as exc:  # kept for the test to report, never ignored
            with self._lock:
                self.bad.append(f"{message.topic}: {exc!r}")

    def named(self, command: str, unit: str | None = None) -> list[BlockerCommand]:
        with self._lock:
            return [c for _, c in self.commands if c.command == command and (unit is None or c.target == unit)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
