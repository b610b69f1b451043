"""Interlocks that take a blocker unit out of service on their own: leakage outside the wall and a lost
heartbeat. The Prisons (Interference with Wireless Telegraphy) Act 2012 requires that interference
outside the prison is not disproportionate; a perimeter sensor's reading above the configured limit
is the evidence that it is, and the unit that causes it goes off at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cellward.site import Site
from controller.blocking.policy import BlockingPolicy, Change


@dataclass(frozen=True)
class Alarm:
    unit_id: str
    kind: str  # leakage, heartbeat-lost
    detail: str
    at_s: float


@dataclass
class Interlocks:
    policy: BlockingPolicy
    leak_limit_dbm: float = -70.0
    heartbeat_timeout_s: float = 10.0
    last_heartbeat_s: dict[str, float] = field(default_factory=dict)
    alarms: list[Alarm] = field(default_factory=list)

    @property
    def site(self) -> Site:
        return self.policy.site

    def perimeter_reading(self, sensor_id: str, level_dbm: float, now_s: float) -> list[Change]:
        """A perimeter sensor's level in a blocked downlink band. Above the limit, the unit in service
        nearest that sensor (the one whose emission it hears) is switched off and an alarm raised."""
        sensor = self.site.sensor(sensor_id)
        active = self.policy.active_units()
        if level_dbm <= self.leak_limit_dbm or not active:
            return []
        blockers = {b.id: b for b in self.site.blockers}
        culprit = min(active, key=lambda unit: math.dist(blockers[unit].position, sensor.position))
        detail = f"{level_dbm:.1f} dBm at perimeter sensor {sensor_id}, limit {self.leak_limit_dbm:.1f} dBm"
        self.alarms.append(Alarm(culprit, "leakage", detail, now_s))
        return self.policy.trip_unit(culprit, f"leakage: {detail}", now_s)

    def heartbeat(self, unit_id: str, now_s: float) -> None:
        self.last_heartbeat_s[unit_id] = now_s

    def check_heartbeats(self, now_s: float) -> list[Change]:
        """Units silent for longer than the timeout are in their fail-safe state (off, by the node's own
        timer): take them out of service here too and raise an alarm once."""
        changes: list[Change] = []
        for blocker in self.site.blockers:
            last = self.last_heartbeat_s.get(blocker.id)
            silent = last is None or now_s - last > self.heartbeat_timeout_s
            if silent and blocker.id not in self.policy.tripped_units and blocker.id in self.last_heartbeat_s:
                self.alarms.append(Alarm(blocker.id, "heartbeat-lost", f"no heartbeat since {last:.1f} s", now_s))
                changes += self.policy.trip_unit(blocker.id, "heartbeat lost", now_s)
        return changes
