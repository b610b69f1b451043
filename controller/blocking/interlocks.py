"""Interlocks that take a blocker unit out of service on their own: leakage outside the wall and a lost
heartbeat. The Prisons (Interference with Wireless Telegraphy) Act 2012 requires that interference
outside the prison is not disproportionate; a perimeter sensor's reading above the configured limit
is the evidence that it is, and the unit that causes it goes off at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cellward.site import Site
from cellward.site.propagation import PropagationModel
from controller.blocking.policy import BlockingPolicy, Change

AMBIGUITY_DB = 6.0  # units whose predicted level at the sensor is this close to the loudest are suspects too


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
    _propagation: PropagationModel | None = None

    @property
    def site(self) -> Site:
        return self.policy.site

    def perimeter_reading(self, sensor_id: str, level_dbm: float, now_s: float, freq_hz: float = 900e6) -> list[Change]:
        """A perimeter sensor's level of a unit's noise. Above the limit, every unit in service that could
        cause it is switched off and alarmed: the one the site's propagation model puts loudest at that
        sensor and any within `AMBIGUITY_DB` of it (one reading cannot tell them apart; when in doubt,
        the safe side is off)."""
        sensor = self.site.sensor(sensor_id)
        active = sorted(self.policy.active_units())
        if level_dbm <= self.leak_limit_dbm or not active:
            return []
        blockers = {b.id: b for b in self.site.blockers}
        loss = {unit: self._model().path_loss_db(blockers[unit].position, sensor.position, freq_hz) for unit in active}
        nearest = min(loss.values())
        detail = f"{level_dbm:.1f} dBm at perimeter sensor {sensor_id}, limit {self.leak_limit_dbm:.1f} dBm"
        changes: list[Change] = []
        for unit in active:
            if loss[unit] <= nearest + AMBIGUITY_DB:
                self.alarms.append(Alarm(unit, "leakage", detail, now_s))
                changes += self.policy.trip_unit(unit, f"leakage: {detail}", now_s)
        return changes

    def _model(self) -> PropagationModel:
        if self._propagation is None:
            self._propagation = PropagationModel(self.site)
        return self._propagation

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
