"""The controller's side of the blocker-node link: each policy `Change` becomes signed commands to its
units (controller's key, persisted increasing `seq`, QoS 1), and what each unit was last told is kept
for the API, the web page and the answers the units send back."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cellward.messages import BlockerCommand
from cellward.messages.blocker import blocker_command_topic
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

    def publish_signed(self, topic: str, wire: dict[str, Any]) -> None: ...


@dataclass
class UnitRecord:
    """What the controller told one unit and what the unit said back."""

    unit: str
    zones_on: set[str] = field(default_factory=set)  # zones it was last commanded to block
    last_command: dict[str, Any] | None = None  # id, command, params, at
    unsent: int = 0  # commands that could not be published (no broker link)


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
        if command == "all_off":
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
        sender.publish_signed(blocker_command_topic(sender.site, unit, command), message.to_wire())
        record.last_command = {"id": command_id, "command": command, "params": params, "at": now}
        log.info("event=blocker_command site=%s unit=%s command=%s id=%s", sender.site, unit, command, command_id)

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {
                "unit": r.unit,
                "bands": self.bands[r.unit],
                "commanded_zones": sorted(r.zones_on),
                "last_command": r.last_command,
                "unsent": r.unsent,
            }
            for r in self.records.values()
        ]
