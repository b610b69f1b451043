"""Which zones may be blocked, and when: manual switching, schedules, reactive holds, limits and interlocks.

Pure logic over the site model (no MQTT, no database): callers feed it requests, phone activity and
the clock, and carry out the `Change`s it returns (commands to blocker units, audit entries). Safety
rules are checked here, at the one place every path goes through:
- a zone marked `never_block` (staff areas, outside the wall) can never be switched on, by anyone or
  any policy;
- a zone marked `sensitive` is switched on only when a second person approves;
- emergency all-off switches everything off and refuses every switch-on until an admin clears it;
- no zone stays on longer than `max_on_s`; a reactive hold ends after `reactive_hold_s` and the zone
  then rests for `reactive_cooldown_s`;
- a unit an interlock has tripped is out of service until it is reset, whatever the zones want; a reset
  unit radiates again only when a new decision switches one of its zones on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cellward.site import Site


class BlockingRefused(Exception):  # noqa: N818 - a refusal, named for what the caller sees
    """A switch-on that the rules forbid; the message says which rule."""


@dataclass(frozen=True)
class Schedule:
    """Blocking wanted in `zone_id` from `start_s` to `end_s` seconds after local midnight (may wrap)."""

    zone_id: str
    start_s: float
    end_s: float

    def active(self, seconds_of_day: float) -> bool:
        if self.start_s <= self.end_s:
            return self.start_s <= seconds_of_day < self.end_s
        return seconds_of_day >= self.start_s or seconds_of_day < self.end_s


@dataclass(frozen=True)
class PolicyConfig:
    reactive_zones: frozenset[str] = frozenset()
    reactive_hold_s: float = 120.0
    reactive_cooldown_s: float = 300.0
    max_on_s: float = 1800.0
    schedules: tuple[Schedule, ...] = ()


@dataclass(frozen=True)
class Change:
    """One zone switched; the caller commands the units and writes the audit entry."""

    zone_id: str
    on: bool
    reason: str  # manual, approved, schedule, reactive, hold-ended, max-on-time, emergency, interlock
    actor: str
    at_s: float
    units: tuple[str, ...]


@dataclass
class ZoneState:
    on: bool = False
    since_s: float = 0.0
    reason: str = ""
    hold_until_s: float | None = None  # reactive holds end by themselves
    cooldown_until_s: float = float("-inf")
    pending_by: str | None = None  # a sensitive zone's switch-on waiting for a second person


@dataclass
class BlockingPolicy:
    site: Site
    config: PolicyConfig = field(default_factory=PolicyConfig)

    def __post_init__(self) -> None:
        self.zones = {z.id: z for z in self.site.zones}
        self.units_of: dict[str, tuple[str, ...]] = {
            zone: tuple(b.id for b in self.site.blockers if zone in b.zones) for zone in self.zones
        }
        self.state = {zone: ZoneState() for zone in self.zones}
        self.emergency_by: str | None = None
        self.tripped_units: set[str] = set()
        self.awaiting_decision: set[str] = set()  # reset while a zone of theirs was on: off until switched again

    # ---- what may be switched on ----------------------------------------------------------------

    def refusal(self, zone_id: str) -> str | None:
        """Why `zone_id` may not be switched on now, or None."""
        zone = self.zones.get(zone_id)
        if zone is None:
            return f"no zone {zone_id!r} in site {self.site.name!r}"
        if zone.never_block:
            return f"zone {zone_id!r} is never blocked ({zone.kind}: phones there are authorised or outside the prison)"
        if self.emergency_by is not None:
            return f"emergency all-off by {self.emergency_by} is in force; an admin must clear it first"
        if not self.in_service(zone_id):
            return f"zone {zone_id!r} has no blocker unit in service"
        return None

    def in_service(self, zone_id: str) -> tuple[str, ...]:
        """The zone's units no interlock holds out of service."""
        return tuple(u for u in self.units_of.get(zone_id, ()) if u not in self.tripped_units)

    def usable_units(self, zone_id: str) -> tuple[str, ...]:
        """The zone's units that radiate while it is on (in service and not waiting for a new decision)."""
        return tuple(u for u in self.in_service(zone_id) if u not in self.awaiting_decision)

    # ---- requests ---------------------------------------------------------------------------------

    def request_on(self, zone_id: str, actor: str, now_s: float) -> Change | None:
        """Manual switch-on. A sensitive zone waits for `approve` by someone else (returns None)."""
        self._check(zone_id)
        state = self.state[zone_id]
        if self.zones[zone_id].sensitive:
            state.pending_by = actor
            return None
        return self._switch(zone_id, True, "manual", actor, now_s)

    def approve(self, zone_id: str, approver: str, now_s: float) -> Change:
        """The second person's approval of a sensitive zone's pending switch-on."""
        self._check(zone_id)
        state = self.state[zone_id]
        if state.pending_by is None:
            raise BlockingRefused(f"zone {zone_id!r} has no switch-on waiting for approval")
        if approver == state.pending_by:
            raise BlockingRefused("the person who asked for blocking cannot also approve it (two-person rule)")
        requester, state.pending_by = state.pending_by, None
        return self._switch(zone_id, True, "approved", f"{requester}+{approver}", now_s)

    def request_off(self, zone_id: str, actor: str, now_s: float) -> Change | None:
        if zone_id not in self.state:
            raise BlockingRefused(f"no zone {zone_id!r} in site {self.site.name!r}")
        self.state[zone_id].pending_by = None
        return self._switch(zone_id, False, "manual", actor, now_s) if self.state[zone_id].on else None

    def emergency_all_off(self, actor: str, now_s: float) -> list[Change]:
        self.emergency_by = actor
        changes = []
        for zone_id, state in self.state.items():
            state.pending_by = None
            if state.on:
                changes.append(self._switch(zone_id, False, "emergency", actor, now_s))
        return changes

    def clear_emergency(self, actor: str) -> None:
        self.emergency_by = None

    def phone_activity(self, zone_id: str, now_s: float, extends_hold: bool = True) -> Change | None:
        """Confirmed phone activity in a zone: a reactive zone blocks for a hold time, unless resting.
        `extends_hold`: False for more activity of a phone already known, which switches an idle zone on but
        does not prolong blocking: phones that blocking put out of service try access now and then, and
        those attempts must not keep it on."""
        if zone_id not in self.config.reactive_zones or self.refusal(zone_id) is not None:
            return None
        state = self.state[zone_id]
        if self.zones[zone_id].sensitive or now_s < state.cooldown_until_s:
            return None
        if state.on:
            if state.hold_until_s is not None and extends_hold:
                state.hold_until_s = max(state.hold_until_s, now_s + self.config.reactive_hold_s)
            return None
        change = self._switch(zone_id, True, "reactive", "system", now_s)
        state.hold_until_s = now_s + self.config.reactive_hold_s
        return change

    def trip_unit(self, unit_id: str, reason: str, now_s: float) -> list[Change]:
        """An interlock took a unit out of service: zones left without a unit in service go off."""
        self.tripped_units.add(unit_id)
        changes = []
        for zone_id, units in self.units_of.items():
            if unit_id in units and self.state[zone_id].on and not self.usable_units(zone_id):
                changes.append(self._switch(zone_id, False, f"interlock: {reason}", "system", now_s))
        return changes

    def reset_unit(self, unit_id: str) -> None:
        """Back in service after an interlock trip; it stays off until a new decision switches a zone of it on."""
        if unit_id not in self.tripped_units:
            raise BlockingRefused(f"unit {unit_id!r} is not tripped (tripped: {sorted(self.tripped_units) or 'none'})")
        self.tripped_units.discard(unit_id)
        self.awaiting_decision.add(unit_id)

    # ---- the clock -------------------------------------------------------------------------------

    def tick(self, now_s: float, seconds_of_day: float) -> list[Change]:
        """Apply hold ends, the maximum on-time and schedules; call at least once a second."""
        changes = []
        scheduled = {s.zone_id for s in self.config.schedules if s.active(seconds_of_day)}
        for zone_id, state in self.state.items():
            if state.on and state.hold_until_s is not None and now_s >= state.hold_until_s:
                changes.append(self._switch(zone_id, False, "hold-ended", "system", now_s))
                state.cooldown_until_s = now_s + self.config.reactive_cooldown_s
            elif state.on and now_s - state.since_s >= self.config.max_on_s:
                changes.append(self._switch(zone_id, False, "max-on-time", "system", now_s))
                state.cooldown_until_s = now_s + self.config.reactive_cooldown_s
            elif state.on and state.reason == "schedule" and zone_id not in scheduled:
                changes.append(self._switch(zone_id, False, "schedule", "system", now_s))
            elif (
                not state.on
                and zone_id in scheduled
                and now_s >= state.cooldown_until_s
                and self.refusal(zone_id) is None
                and not self.zones[zone_id].sensitive
            ):
                changes.append(self._switch(zone_id, True, "schedule", "system", now_s))
        return changes

    def blocking_zones(self) -> list[str]:
        return [zone_id for zone_id, state in self.state.items() if state.on]

    def active_units(self) -> set[str]:
        return {unit for zone_id in self.blocking_zones() for unit in self.usable_units(zone_id)}

    # ---- internals -------------------------------------------------------------------------------

    def _check(self, zone_id: str) -> None:
        reason = self.refusal(zone_id)
        if reason is not None:
            raise BlockingRefused(reason)

    def _switch(self, zone_id: str, on: bool, reason: str, actor: str, now_s: float) -> Change:
        if on:
            self._check(zone_id)  # the last line of defence: every switch-on passes here
            self.awaiting_decision.difference_update(self.units_of[zone_id])
        state = self.state[zone_id]
        state.on, state.since_s, state.reason = on, now_s, reason
        if not on:
            state.hold_until_s = None
        return Change(zone_id, on, reason, actor, now_s, self.usable_units(zone_id) or self.units_of[zone_id])
