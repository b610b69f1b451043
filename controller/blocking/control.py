"""The blocking policy inside a running controller: one lock, every change and refusal audited, reactive
switch-on from new incidents, and the site's own blocking marked on the detections it causes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cellward.config import ConfigError
from cellward.messages import ActivityReport, BlockerHeartbeat, BlockerState, DetectionBatch
from cellward.messages.envelope import Envelope
from cellward.messages.wire_time import text_epoch_s
from controller.audit import record
from controller.blocking.interlocks import Alarm, Interlocks
from controller.blocking.policy import BlockingPolicy, BlockingRefused, Change, PolicyConfig, Schedule
from controller.blocking.units import UnitLink
from controller.events import LifecycleEvent
from controller.sighting import Sighting

LEAK_MIN_BANDWIDTH_HZ = 1e6  # narrower than any blocker's noise: a spur, a phone's channel
LEAK_MIN_DURATION_S = 0.01  # longer than an impulse or a phone burst the classifier left unknown
ALARMS_KEPT = 200  # the latest alarms shown with the blocking state; every one is also a stored alert
# A unit switched off is still counted for detections that began up to this long after the decision (the node
# switches tens of ms later); its leakage heard before is reported and located seconds later: still its own.
OWN_EMISSION_AFTERGLOW_S = 1.0

if TYPE_CHECKING:
    from cellward.site import Site
    from controller.config import BlockingConfig
    from controller.runtime import Controller


def _check_zones(config: BlockingConfig, site: Site) -> None:
    """A zone the site does not have, named in the `blocking:` section, is a configuration error."""
    zones = {zone.id for zone in site.zones}
    named = [(f"reactive_zones[{i}]", zone) for i, zone in enumerate(config.reactive_zones)]
    named += [(f"schedules[{i}].zone", schedule.zone) for i, schedule in enumerate(config.schedules)]
    for where, zone in named:
        if zone not in zones:
            raise ConfigError(
                f"blocking.{where}: no zone {zone!r} in site {site.name!r} (zones: {', '.join(sorted(zones))})"
            )


class BlockingControl:
    def __init__(self, controller: Controller) -> None:
        config = controller.config.blocking
        _check_zones(config, controller.site)
        self.policy = BlockingPolicy(
            controller.site,
            PolicyConfig(
                reactive_zones=frozenset(config.reactive_zones),
                reactive_hold_s=config.reactive_hold_s,
                reactive_cooldown_s=config.reactive_cooldown_s,
                max_on_s=config.max_on_s,
                schedules=tuple(Schedule(s.zone, *s.seconds_of_day()) for s in config.schedules),
            ),
        )
        self.interlocks = Interlocks(self.policy, config.leak_limit_dbm, config.heartbeat_timeout_s)
        self.units = UnitLink(controller.site)
        self.perimeter_sensors = {s.id for s in controller.site.sensors if s.role == "perimeter"}
        self.keepalive_s = config.keepalive_s
        self._last_keepalive_s = float("-inf")
        self.sessions = controller.sessions
        self.clock = controller.clock
        self.alerts = controller.alerts
        self.alerts_lock = controller.incidents.lock  # the alert engine's cache is kept under this lock
        self.bus = controller.bus
        self._alerted = 0  # interlocks.alarms before this index are already alerts
        self.tz = ZoneInfo(controller.config.timezone)
        self._lock = threading.Lock()
        self._published = self._live_state()
        controller.suppressor.add_emission_hook(self.own_emission)
        controller.bus.add_sink(self._on_event)

    def act(self, actor: str, what: str, zone_id: str, action: Callable[[float], Any]) -> list[Change]:
        """Run one policy action under the lock; audit its changes, or the refusal (then re-raised); alarms it
        raised become alerts."""
        try:
            return self._act(actor, what, zone_id, action)
        finally:
            self._raise_alerts()
            self._publish_state()

    def _act(self, actor: str, what: str, zone_id: str, action: Callable[[float], Any]) -> list[Change]:
        with self._lock:
            now = self.clock()
            tripped_before = set(self.policy.tripped_units)
            try:
                result = action(now)
            except BlockingRefused as refused:
                self._audit(actor, "blocking.refused", _target(zone_id), {"asked": what, "why": str(refused)})
                raise
            changes = [c for c in (result if isinstance(result, list) else [result]) if c is not None]
            if not changes and what not in ("tick", "reactive", "interlock"):  # asked by a person: audited even when
                # nothing switched (a sensitive zone waiting for approval, an emergency cleared)
                entry = "blocking.unit-reset" if what == "reset" else "blocking.requested"
                self._audit(actor, entry, _target(zone_id), {"asked": what})
            tripped = self.policy.tripped_units - tripped_before
            for unit in sorted(tripped):
                alarm = next((a for a in reversed(self.interlocks.alarms) if a.unit_id == unit), None)
                why = {"kind": alarm.kind, "detail": alarm.detail, "evidence_at": alarm.at_s} if alarm else {}
                self._audit("system", "blocking.unit-tripped", f"unit:{unit}", why)
            for change in changes:
                details = {"reason": change.reason, "units": list(change.units), "by": change.actor}
                self._audit(actor, "blocking.on" if change.on else "blocking.off", f"zone:{change.zone_id}", details)
            emergency = self.policy.emergency_by if what == "emergency" else None
            self.units.carry_out(changes, tripped, emergency)
            return changes

    def tick(self) -> list[Change]:
        """Hold ends, maximum on-time, schedules and heartbeats; the controller calls it every second or so."""
        local = datetime.now(self.tz)
        seconds_of_day = local.hour * 3600 + local.minute * 60 + local.second

        def due(now: float) -> list[Change]:
            return self.policy.tick(now, seconds_of_day) + self.interlocks.check_heartbeats(now)

        changes = self.act("system", "tick", "*", due)
        now = self.clock()
        if now - self._last_keepalive_s >= self.keepalive_s:
            self._last_keepalive_s = now
            with self._lock:
                self.units.keepalive()
        return changes

    def perimeter_reports(self, batch: DetectionBatch) -> list[Change]:
        """A perimeter sensor's unclassified wideband, continuous energy in a band a unit is blocking is that
        unit's leakage outside the wall (impulses, spurs and phones are not: too short, too narrow, or
        classified): the leakage interlock judges the strongest reading, at the reading's own time."""
        if batch.sender not in self.perimeter_sensors:
            return []
        bands = {band for unit in self.policy.active_units() for band in self.units.bands[unit]}
        readings = [r for r in batch.reports if r.technology == "unknown" and r.band in bands and _continuous(r)]
        if not readings:
            return []
        loudest = max(readings, key=lambda r: r.peak_power_dbm)
        at = text_epoch_s(loudest.first_burst)
        return self.act(
            "system",
            "interlock",
            "*",
            lambda _now: self.interlocks.perimeter_reading(batch.sender, loudest.peak_power_dbm, at, loudest.freq_hz),
        )

    def unit_messages(self, messages: list[Envelope]) -> None:
        """Checked messages from blocker nodes: their state and answers are recorded, heartbeats feed the
        heartbeat interlock, refusals and faults become alarms."""
        if not messages:
            return
        with self._lock:
            now = self.clock()
            for message in messages:
                if isinstance(message, BlockerHeartbeat | BlockerState):
                    self.interlocks.heartbeat(message.sender, now)
                problem = self.units.receive(message, now)
                if problem is not None:
                    self.interlocks.alarms.append(Alarm(message.sender, problem["kind"], problem["detail"], now))
                    self._audit("system", "blocking.unit-problem", f"unit:{message.sender}", problem)
        self._raise_alerts()
        self._publish_state()

    def _live_state(self) -> dict[str, Any]:
        """What the live map shows of blocking: each zone's switch state, units out of service, the emergency."""
        policy = self.policy
        return {
            "zones": {z: {"on": s.on, "reason": s.reason, "pending_by": s.pending_by} for z, s in policy.state.items()},
            "tripped_units": sorted(policy.tripped_units),
            "awaiting_decision": sorted(policy.awaiting_decision),
            "emergency_by": policy.emergency_by,
            "availability": {unit: record.availability for unit, record in self.units.records.items()},
        }

    def _publish_state(self) -> None:
        """A `blocking` event on the bus when that state changed, so the live map redraws within a second."""
        with self._lock:
            before, after = self._published, self._live_state()
            self._published = after
        if after != before:
            self.bus.emit(LifecycleEvent("blocking", "update", "blocking", before, after))

    def _raise_alerts(self) -> None:
        """Every alarm not yet raised becomes a system alert (stored, on MQTT and in the web view), one per
        unit and kind within the rule's throttle; outside the blocking lock, so the two locks never nest."""
        with self._lock:
            alarms = self.interlocks.alarms
            new = alarms[self._alerted :]
            del alarms[:-ALARMS_KEPT]
            self._alerted = len(alarms)
        if not new:
            return
        events = []
        with self.alerts_lock, self.sessions() as db:
            for alarm in new:
                message = f"blocker {alarm.unit_id}: {alarm.kind}: {alarm.detail}"
                key = f"blocking:{alarm.kind}:{alarm.unit_id}"
                event = self.alerts.fire(db, "blocking_alarm", key, "system", message[:500])
                if event is not None:
                    events.append(event)
            db.commit()
        for event in events:
            self.bus.emit(event)

    def reset_unit(self, actor: str, unit_id: str) -> None:
        """An admin puts a tripped unit back in service; it stays off until a new decision switches it on."""
        self.act(actor, "reset", f"unit:{unit_id}", lambda _now: self.policy.reset_unit(unit_id))

    def own_emission(self, sighting: Sighting) -> str | None:
        """Why a detection may be the site's own blocker (a unit over its zone, in its band, on now or when the
        detection began, give or take OWN_EMISSION_AFTERGLOW_S), or None."""
        if sighting.zone is None or sighting.band is None:
            return None
        policy = self.policy
        lately_off = {
            unit
            for zone_id, state in policy.state.items()
            if not state.on and state.since_s > sighting.start_s - OWN_EMISSION_AFTERGLOW_S
            for unit in policy.units_of[zone_id]
        }
        blockers = {b.id: b for b in policy.site.blockers}
        for unit in sorted(policy.active_units() | lately_off):
            if sighting.zone in blockers[unit].zones and sighting.band in blockers[unit].bands:
                return f"blocker {unit} on over {sighting.zone} in {sighting.band}"
        return None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            policy = self.policy
            zones = []
            for zone in policy.site.zones:
                state = policy.state[zone.id]
                zones.append(
                    {
                        "zone": zone.id,
                        "kind": zone.kind,
                        "never_block": zone.never_block,
                        "sensitive": zone.sensitive,
                        "on": state.on,
                        "reason": state.reason,
                        "since_s": state.since_s if state.on else None,
                        "pending_by": state.pending_by,
                        "units": list(policy.units_of[zone.id]),
                    }
                )
            alarms = [vars(a) for a in self.interlocks.alarms]
            return {
                "zones": zones,
                "units": self.units.snapshot(self.clock()),
                "tripped_units": sorted(policy.tripped_units),
                "awaiting_decision": sorted(policy.awaiting_decision),
                "emergency_by": policy.emergency_by,
                "alarms": alarms,
            }

    def _on_event(self, event: LifecycleEvent) -> None:
        """A new phone in a reactive zone switches it on, and so does more activity of a known one (a phone
        heard again after blocking ended, or after a quiet spell). A zone that may not be blocked just stays
        off: the policy returns no change."""
        after = event.after
        zone = after.get("zone")
        if event.kind != "incident" or not zone or after.get("suppressed"):
            return
        if event.type == "new":
            self.act("system", "reactive", zone, lambda now: self.policy.phone_activity(zone, now))
        elif event.type == "update" and after.get("activity_count", 0) > (event.before or {}).get("activity_count", 0):
            self.act("system", "reactive", zone, lambda now: self.policy.phone_activity(zone, now, extends_hold=False))

    def _audit(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        with self.sessions() as db:
            record(db, actor, action, target, details)
            db.commit()


def _target(zone_or_unit: str) -> str:
    """Audit target: `unit:<id>` as given, anything else is a zone (or `*`, every zone)."""
    return zone_or_unit if zone_or_unit.startswith("unit:") else f"zone:{zone_or_unit}"


def _continuous(report: ActivityReport) -> bool:
    """Wideband noise held for a good part of a dwell, as a blocker's leakage is."""
    return any(b.bandwidth_hz >= LEAK_MIN_BANDWIDTH_HZ and b.duration_s >= LEAK_MIN_DURATION_S for b in report.bursts)
