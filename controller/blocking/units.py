"""The controller's side of the blocker-node link: each policy `Change` becomes signed commands to its
units (controller's key, persisted increasing `seq`, QoS 1), and what each unit was last told is kept
for the API, the web page and the answers the units send back."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cellward.messages import Availability, BlockerAck, BlockerCommand, BlockerFault, BlockerHeartbeat, BlockerState
from cellward.messages.blocker import blocker_command_topic
from cellward.messages.envelope import Envelope
from cellward.site import Site
from controller.blocking.policy import Change

log = logging.getLogger("cellward.controller.blocking")
COMMAND_SCHEMA = "cellward.blocker_command/1"
COMMAND_LIFETIME_S = 10.0  # a command the node receives later than this is refused (a stale order)


class CommandSender(Protocol):
    """Signs and publishes; the ingest's publisher in a running controller."""

    site: str
    sender: str

    def next_seq(self, name: str) -> int: ...

    def publish_signed(self, topic: str, message: Envelope, retain: bool = False) -> None: ...


@dataclass
class UnitRecord:
    """What the controller told one unit and what the unit said back."""

    unit: str
    zones_on: set[str] = field(default_factory=set)  # zones it was last commanded to block
    last_command: dict[str, Any] | None = None  # id, command, params, at
    unsent: int = 0  # commands that could not be published (no broker link)
    availability: str = "unknown"
    reported: dict[str, Any] | None = None  # the node's latest state: mode, detail, bands on
    last_heard_s: float | None = None
    last_answer: dict[str, Any] | None = None  # the latest acknowledgement
    refused: int = 0  # commands the node refused or failed
    faults: list[dict[str, Any]] = field(default_factory=list)  # latest first, a few kept


class UnitLink:
    """Commands to the site's units; `sender` is None until the controller's MQTT link is up."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.bands = {b.id: list(b.bands) for b in site.blockers}
        self.records = {b.id: UnitRecord(b.id) for b in site.blockers}
        self.sender: CommandSender | None = None

    def carry_out(self, changes: list[Change], newly_tripped: set[str], emergency_by: str | None = None) -> None:
        """Command the units of `changes`; a newly tripped unit gets `all_off`, and in an emergency every
        unit does, whether or not the controller believes it is on."""
        if emergency_by is not None:
            for unit in sorted(self.records):
                self._send(unit, "all_off", {"reason": f"emergency all-off by {emergency_by}"})
            return
        for unit in sorted(newly_tripped):
            self._send(unit, "all_off", {"reason": "interlock trip: out of service until reset"})
        for change in changes:
            for unit in change.units:
                if unit in newly_tripped:
                    continue
                params = {"zone": change.zone_id, "bands": self.bands[unit], "on": change.on}
                self._send(unit, "set_blocking", params)

    def _send(self, unit: str, command: str, params: dict[str, Any]) -> None:
        record = self.records[unit]
        if command == "keepalive":
            pass
        elif command == "all_off":
            record.zones_on.clear()
        elif params["on"]:
            record.zones_on.add(params["zone"])
        else:
            record.zones_on.discard(params["zone"])
        sender = self.sender
        if sender is None:
            record.unsent += 1
            record.last_command = {"id": None, "command": command, "params": params, "at": time.time()}
            log.warning("event=blocker_command_unsent unit=%s command=%s reason=no_mqtt_link", unit, command)
            return
        now = time.time()
        seq = sender.next_seq(COMMAND_SCHEMA)
        command_id = f"{sender.sender}-{seq}"
        message = BlockerCommand(
            site=sender.site,
            sender=sender.sender,
            ts=datetime.fromtimestamp(now, UTC),
            seq=seq,
            command=command,
            id=command_id,
            target=unit,
            expires=datetime.fromtimestamp(now + COMMAND_LIFETIME_S, UTC),
            params=params,
        )
        sender.publish_signed(blocker_command_topic(sender.site, unit, command), message)
        if command == "keepalive":
            return
        record.last_command = {"id": command_id, "command": command, "params": params, "at": now}
        log.info("event=blocker_command site=%s unit=%s command=%s id=%s", sender.site, unit, command, command_id)

    def keepalive(self) -> None:
        """Prove the controller is alive to every unit (a node that hears nothing goes to its fail-safe)."""
        if self.sender is not None:
            for unit in sorted(self.records):
                self._send(unit, "keepalive", {})

    def receive(self, message: Envelope, now_s: float) -> dict[str, Any] | None:
        """Record what a unit said (already checked: signature, seq, schema). Returns a fault event, if any."""
        record = self.records.get(message.sender)
        if record is None:
            log.warning("event=blocker_message_ignored sender=%s reason=not_a_site_unit", message.sender)
            return None
        record.last_heard_s = now_s
        if isinstance(message, Availability):
            record.availability = message.state
        elif isinstance(message, BlockerState):
            on = [b.band for b in message.bands if b.on]
            summary = f"{message.mode}: " + (f"radiating {', '.join(on)}" if on else "every band off")
            record.reported = {"mode": message.mode, "detail": message.detail, "bands_on": on, "summary": summary}
        elif isinstance(message, BlockerHeartbeat):
            on = list(message.bands_on)
            summary = f"{message.mode}: " + (f"radiating {', '.join(on)}" if on else "every band off")
            record.reported = {**(record.reported or {}), "mode": message.mode, "bands_on": on, "summary": summary}
        elif isinstance(message, BlockerAck):
            record.last_answer = {
                "command": message.command,
                "id": message.id,
                "result": message.result,
                "reason": message.reason,
                "detail": message.detail,
                "at": now_s,
            }
            if message.result in ("refused", "failed"):
                record.refused += 1
                log.warning(
                    "event=blocker_command_refused unit=%s command=%s id=%s reason=%s detail=%s",
                    record.unit,
                    message.command,
                    message.id,
                    message.reason,
                    message.detail,
                )
                return {"kind": f"command-{message.result}", "detail": f"{message.command}: {message.detail}"}
        elif isinstance(message, BlockerFault):
            fault = {"event": message.event, "kind": message.kind, "detail": message.detail, "at": now_s}
            record.faults = [fault, *record.faults][:10]
            if message.event == "raised":
                return {"kind": f"fault-{message.kind}", "detail": f"{message.detail} (node: {message.action})"}
        return None

    def snapshot(self, now_s: float) -> list[dict[str, Any]]:
        return [
            {
                "unit": r.unit,
                "bands": self.bands[r.unit],
                "commanded_zones": sorted(r.zones_on),
                "last_command": r.last_command,
                "unsent": r.unsent,
                "availability": r.availability,
                "reported": r.reported,
                "heartbeat_age_s": None if r.last_heard_s is None else max(0.0, now_s - r.last_heard_s),
                "last_answer": r.last_answer,
                "refused": r.refused,
                "faults": r.faults,
            }
            for r in self.records.values()
        ]
