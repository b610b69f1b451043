"""Incidents: sightings merged into suspected devices, split by channel/technology, with an attributed lifecycle."""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controller.alerts import AlertEngine
from controller.config import IncidentRules, Schedule
from controller.db.incidents import IncidentActivity, IncidentNote, IncidentRecord, IncidentTransition
from controller.events import EventBus, LifecycleEvent
from controller.locate import SINGLE_SENSOR
from controller.sighting import Sighting
from controller.suppression import OWN_EMISSION, Suppressor

log = logging.getLogger("cellward.controller.incidents")

STATUSES = ("new", "acknowledged", "investigating", "request_raised", "closed")
# A sighting this close to the last activity window extends it; further apart starts a new window.
ACTIVITY_GAP_S = 60.0
# Updates of a busy incident reach MQTT/SSE at most this often unless something meaningful changed.
UPDATE_INTERVAL_S = 5.0
# A runner-up room at least this likely is "could be the same place" for merging sightings.
RUNNER_UP_MIN_P = 0.05
# A phone the locator places again (Sighting.track) continues its incident across this much silence at most.
TRACK_GAP_S = 10.0
TRACKS_KEPT = 4096  # above this many, tracks silent for TRACK_GAP_S are forgotten
# An incident's room follows what its last VOTES_KEPT located sightings agree on (IncidentEngine._vote).
VOTES_KEPT = 20
VOTE_FLOOR = 1e-3  # a sighting's posterior for a room it does not list among its likeliest
MOVE_MARGIN_NATS = 3.0  # about 20:1
# Below this a located sighting's cell is one guess among several (controller/locate.py's confidence).
UNSURE_CONFIDENCE = 0.5
SAME_ARFCN_HZ = 100e3  # members of a frame group this close in frequency are on one ARFCN: one multislot phone


class TransitionError(ValueError):
    """A lifecycle move that is not allowed (backwards, from closed, unknown state)."""


class IncidentNotFoundError(KeyError):
    """No incident with that id."""


def incident_state(incident: IncidentRecord) -> dict[str, Any]:
    """The incident as published on MQTT and the live stream (same fields as the API's summary)."""
    return {
        "id": incident.id,
        "status": incident.status,
        "cell_id": incident.cell_id,
        "wing": incident.wing,
        "landing": incident.landing,
        "zone": incident.zone,
        "region": list(incident.region),
        "method": incident.method,
        "confidence": incident.confidence,
        "runners_up": [list(pair) for pair in incident.runners_up],
        "band": incident.band,
        "operators": list(incident.operators),
        "technology": incident.technology,
        "freq_hz": incident.freq_hz,
        "bandwidth_hz": incident.bandwidth_hz,
        "first_seen": incident.first_seen,
        "last_seen": incident.last_seen,
        "activity_count": incident.activity_count,
        "suppressed": incident.suppressed,
        "suppression_reason": incident.suppression_reason,
        "ended_at": incident.ended_at,
    }


def check_transition(current: str, target: str) -> None:
    """Forward moves only (steps may be skipped); closing is allowed from any open state."""
    if target not in STATUSES:
        raise TransitionError(f"unknown status {target!r}; known: {', '.join(STATUSES)}")
    if current == "closed":
        raise TransitionError("the incident is closed; new activity opens a new incident")
    if STATUSES.index(target) <= STATUSES.index(current):
        raise TransitionError(f"cannot move from {current} back to {target}")


class IncidentEngine:
    """Keeps open incidents in memory (ingest is the only writer of activity) and persists every change.

    Thread-safety: ingest calls `process` inside its batch transaction; the API calls `transition` and
    `add_note`; one lock serialises them so the cache never disagrees with the database.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        rules: IncidentRules,
        alerts: AlertEngine,
        suppressor: Suppressor,
        lockup_hours: Schedule,
        tz: ZoneInfo,
        bus: EventBus,
        clock: Callable[[], float] = time.time,
        neighbours: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """`neighbours`: each cell's neighbouring cells (cellward.site.neighbours), for the on-air rule of `_match`."""
        self.sessions = sessions
        self.neighbours = neighbours or {}
        self.rules = rules
        self.alerts = alerts
        self.suppressor = suppressor
        self.lockup_hours = lockup_hours
        self.tz = tz
        self.bus = bus
        self.clock = clock
        self.lock = threading.RLock()
        self._open: dict[str, IncidentRecord] = {}
        self._by_place: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._last_activity: dict[str, IncidentActivity] = {}
        self._last_emitted: dict[str, float] = {}
        self._episodes: dict[str, deque[float]] = defaultdict(deque)  # per cell: starts of separate sightings
        self._cell_last_seen: dict[str, float] = {}
        self._heard_at: dict[str, float] = {}  # per open incident: controller time of its last sighting
        self._tx_dbm: dict[str, float] = {}  # per open incident: its phone's last estimated transmit power
        self._votes: dict[str, deque[dict[str, float]]] = {}  # per open incident: its last sightings' room posteriors
        # per frame group of this batch of sightings (Sighting.frame_groups): incident id -> the ARFCN's centre of
        # the member that continued it
        self._claims: dict[int, dict[str, float]] = {}
        self._tracks: dict[tuple, tuple[str, float]] = {}  # Sighting.track -> (its incident, end of its last sighting)

    def load_open(self) -> None:
        """Rebuild the cache of open incidents that a sighting may still continue, after a restart (or a
        rolled-back batch)."""
        with self.lock, self.sessions() as db:
            self._open.clear()
            self._by_place.clear()
            self._last_activity.clear()
            self.alerts.reset()
            for incident in db.scalars(select(IncidentRecord).where(IncidentRecord.status != "closed")):
                if self._beyond_merge(incident, incident.last_seen, self.clock()):
                    continue
                self._remember(incident)
                self._heard_at[incident.id] = incident.last_seen
                last = db.scalar(
                    select(IncidentActivity)
                    .where(IncidentActivity.incident_id == incident.id)
                    .order_by(IncidentActivity.end_s.desc())
                    .limit(1)
                )
                if last is not None:
                    self._last_activity[incident.id] = last

    def _remember(self, incident: IncidentRecord) -> None:
        self._open[incident.id] = incident
        self._by_place[(incident.cell_id or _region_key(incident), incident.technology)].append(incident.id)

    def _forget(self, incident_id: str) -> None:
        incident = self._open.pop(incident_id, None)
        self._last_activity.pop(incident_id, None)
        self._last_emitted.pop(incident_id, None)
        self._heard_at.pop(incident_id, None)
        self._tx_dbm.pop(incident_id, None)
        self._votes.pop(incident_id, None)
        if incident is not None:
            self._forget_place(incident)

    def _forget_place(self, incident: IncidentRecord) -> None:
        key = (incident.cell_id or _region_key(incident), incident.technology)
        self._by_place[key] = [i for i in self._by_place[key] if i != incident.id]

    # -- ingest side ---------------------------------------------------------------------------------

    def process(self, db: Session, sightings: list[Sighting]) -> list[LifecycleEvent]:
        """Merge sightings into incidents within the caller's transaction; return events to emit after commit."""
        events: list[LifecycleEvent] = []
        with self.lock:
            self._claims = {}
            for sighting in sightings:
                if sighting.confidence < self.rules.min_confidence:
                    continue
                events.extend(self._process_one(db, sighting))
        return events

    def _match(self, sighting: Sighting) -> IncidentRecord | None:
        """The open incident this sighting continues: the one its phone's previous location went to while
        the phone has stayed on the air (the locator's track: a phone located again from more bursts may land
        a room or two away), else the same place, else a place the location could not tell apart from it
        (one is the other's runner-up), or a neighbouring cell where a phone of its network is on the air now
        (heard within TRACK_GAP_S), so location jitter between neighbouring rooms does not split one phone into
        several incidents: the locator can be sure of the wrong one of two cells side by side (a call placed
        in the next cell at 0.97 with its own cell at 0.03), while a second phone of that network starting next
        door during the first one's call is rare; it gets its own incident once the first falls silent, or at
        once when the locator sees two in one TDMA frame. For a sighting in a frame group (several phones of its
        network in one frame, `Sighting.frame_groups`), incidents another member on another ARFCN already
        continued are left out; with none left, it opens a new incident (the split)."""
        tracked = self._tracked(sighting)
        if tracked is not None:
            return tracked
        placed = self._placed_network(sighting)
        if placed is not None:
            return placed
        key = (sighting.place_key, sighting.technology)
        candidates = self._by_place.get(key, [])
        recent = [i for i in candidates if self._open[i].last_seen >= sighting.start_s - self.rules.merge_gap_s]
        if len(recent) != len(candidates):
            self._by_place[key] = recent  # quiet incidents stay open for officers but no longer merge
        matching = self._same_device(sighting, [self._open[i] for i in recent])
        if sighting.cell_id is not None and (not matching or sighting.devices > len(matching)):
            near = {cell for cell, p in sighting.runners_up if p >= RUNNER_UP_MIN_P}
            neighbours = [
                incident
                for incident in self._open.values()
                if incident.technology == sighting.technology
                and incident.last_seen >= sighting.start_s - self.rules.merge_gap_s
                and (
                    incident.cell_id in near
                    or any(cell == sighting.cell_id and p >= RUNNER_UP_MIN_P for cell, p in incident.runners_up)
                    or self._on_air_next_door(sighting, incident)
                )
                and incident not in matching
            ]
            matching += self._same_device(sighting, neighbours)
        if sighting.frame_groups:
            # Another phone seen in the same TDMA frame already continued these: this one is a different phone.
            free = [i for i in matching if i.id not in self._claimed_by_others(sighting)]
            if not free and matching:
                log.info(
                    "event=incident_split place=%s tech=%s devices=%d open=%d",
                    sighting.place_key,
                    sighting.technology,
                    sighting.devices,
                    len(matching),
                )
            matching = free
        return self._closest(sighting, matching) or self._unsure_in_wing(sighting)

    def _unsure_in_wing(self, sighting: Sighting) -> IncidentRecord | None:
        """For a sighting placed unsurely (confidence below UNSURE_CONFIDENCE) while one phone of its network is
        heard: the open incident of its network in the same wing, heard within merge_gap_s. A phone heard again
        after a silence (a blocker switched on over it, a pause between calls) and placed unsurely one landing
        off would otherwise open a second incident for the phone the wing already has; a second phone there gets
        its own incident once the locator places it with confidence."""
        if (
            sighting.confidence >= UNSURE_CONFIDENCE
            or sighting.devices > 1
            or sighting.frame_groups
            or sighting.wing is None
        ):
            return None
        same_wing = [
            incident
            for incident in self._on_air_of_network(sighting, within_s=self.rules.merge_gap_s)
            if incident.method != SINGLE_SENSOR
            and incident.wing == sighting.wing
            and incident.technology == sighting.technology
        ]
        return self._closest(sighting, same_wing)

    def _claimed_by_others(self, sighting: Sighting) -> set[str]:
        """Incidents a member of the sighting's frame groups on another ARFCN continued: another phone's."""
        return {
            incident_id
            for group in sighting.frame_groups
            for incident_id, freq_hz in self._claims.get(group, {}).items()
            if abs(freq_hz - sighting.freq_hz) > SAME_ARFCN_HZ
        }

    def _claim(self, sighting: Sighting, incident: IncidentRecord) -> None:
        for group in sighting.frame_groups:
            self._claims.setdefault(group, {})[incident.id] = sighting.freq_hz

    def _on_air_next_door(self, sighting: Sighting, incident: IncidentRecord) -> bool:
        return (
            sighting.devices == 1
            and incident.ended_at is None
            and incident.band == sighting.band
            and incident.cell_id in self.neighbours.get(sighting.cell_id or "", ())
            and sighting.start_s - incident.last_seen <= TRACK_GAP_S
        )

    def _placed_network(self, sighting: Sighting) -> IncidentRecord | None:
        """For a sighting only one sensor heard: the incident of its network (band and operators) that several
        sensors place and that was heard within TRACK_GAP_S, if any. One sensor alone hearing a network the
        site is placing is that phone heard by one more sensor whose reports did not coincide with the others'
        (its scan out of step) or that took some of its bursts for another technology; opened on its own it
        would be a second phone in that sensor's coverage that is not there. A second phone of the network
        gets its own incident once more than one sensor hears it. A channel on the edge between two operators'
        blocks names both: it is of the network of either."""
        if sighting.method != SINGLE_SENSOR:
            return None
        placed = [incident for incident in self._on_air_of_network(sighting) if incident.method != SINGLE_SENSOR]
        return self._closest(sighting, placed)

    def _blocked_phone(self, sighting: Sighting) -> IncidentRecord | None:
        """For a sighting that would be the site's own emission (a blocker is on over its place): the phone of its
        network that blocking is silencing there, if one is on the air. Until its radio link fails (GSM: seconds)
        and then with its access attempts it is heard on, sometimes placed a landing off; opened on its own,
        that would be a second, suppressed incident of the same phone."""
        blocked = [
            incident
            for incident in self._on_air_of_network(sighting)
            if not incident.suppressed and incident.zone == sighting.zone and incident.technology == sighting.technology
        ]
        return self._closest(sighting, blocked)

    def _on_air_of_network(self, sighting: Sighting, within_s: float = TRACK_GAP_S) -> list[IncidentRecord]:
        """Open incidents of the sighting's network (band and operators; an edge channel names two) heard within
        `within_s`."""
        if not sighting.operators:
            return []
        return [
            incident
            for incident in self._open.values()
            if incident.ended_at is None
            and incident.band == sighting.band
            and not set(incident.operators).isdisjoint(sighting.operators)
            and sighting.start_s - incident.last_seen <= within_s
        ]

    def _vote(self, incident_id: str, sighting: Sighting) -> str | None:
        """Add a located sighting's room posterior to its incident's last VOTES_KEPT, and return the room they
        agree on: the highest summed log posterior (VOTE_FLOOR for a room a sighting did not list), when it
        leads every other by MOVE_MARGIN_NATS. A first location one cell off at full confidence is then moved
        by the next two that agree on the right cell, where the clearer-location rule never moves it (no
        location is clearer than 1.0); a phone on the boundary of two cells does not flip between them."""
        if sighting.method == SINGLE_SENSOR or sighting.cell_id is None:
            return None
        votes = self._votes.setdefault(incident_id, deque(maxlen=VOTES_KEPT))
        votes.append({sighting.cell_id: sighting.confidence, **dict(sighting.runners_up)})
        rooms = {room for vote in votes for room in vote}
        floor = math.log(VOTE_FLOOR)
        score = {room: sum(math.log(max(vote.get(room, 0.0), VOTE_FLOOR)) for vote in votes) for room in rooms}
        ranked = [*sorted(score.values(), reverse=True), len(votes) * floor]
        best = max(score, key=score.__getitem__)
        return best if ranked[0] - ranked[1] >= MOVE_MARGIN_NATS else None

    def _tracked(self, sighting: Sighting) -> IncidentRecord | None:
        track = _lone_track(sighting)
        if track is None or track not in self._tracks:
            return None
        incident_id, last_end_s = self._tracks[track]
        incident = self._open.get(incident_id)
        if incident is None or sighting.start_s - last_end_s > TRACK_GAP_S:
            return None
        return incident

    def _follow_track(self, sighting: Sighting, incident: IncidentRecord) -> None:
        track = _lone_track(sighting)
        if track is None:
            return
        if len(self._tracks) >= TRACKS_KEPT:
            stale_s = sighting.start_s - TRACK_GAP_S
            self._tracks = {kept: held for kept, held in self._tracks.items() if held[1] >= stale_s}
        self._tracks[track] = (incident.id, sighting.end_s)

    def _same_device(self, sighting: Sighting, incidents: list[IncidentRecord]) -> list[IncidentRecord]:
        """Incidents the sighting's phone could be: same operator and technology (a GSM phone hops inside its
        operator's block; LTE allocations move inside the carrier), or without an operator, the channel."""
        return [
            incident
            for incident in incidents
            if (bool(sighting.operators) and tuple(incident.operators) == tuple(sighting.operators))
            or abs(incident.freq_hz - sighting.freq_hz) <= self.rules.channel_tolerance_hz
        ]

    def _closest(self, sighting: Sighting, incidents: list[IncidentRecord]) -> IncidentRecord | None:
        """Of several phones of one network in one place, the one whose transmit power was nearest (power
        control holds a phone's level for seconds, two phones rarely share it), then the nearest channel."""

        def distance(incident: IncidentRecord) -> tuple[float, float]:
            last_tx = self._tx_dbm.get(incident.id)
            tx = 0.0 if last_tx is None or sighting.tx_power_dbm is None else abs(last_tx - sighting.tx_power_dbm)
            return tx, abs(incident.freq_hz - sighting.freq_hz)

        return min(incidents, key=distance, default=None)

    def _process_one(self, db: Session, sighting: Sighting) -> list[LifecycleEvent]:
        now = self.clock()
        events: list[LifecycleEvent] = []
        incident = self._match(sighting)
        if incident is None and self.suppressor.own_emission(sighting):
            incident = self._blocked_phone(sighting)
        if incident is None:
            incident = self._open_incident(db, sighting, now)
            self._vote(incident.id, sighting)
            self._follow_track(sighting, incident)
            self._claim(sighting, incident)
            self._heard_at[incident.id] = now
            if sighting.tx_power_dbm is not None:
                self._tx_dbm[incident.id] = sighting.tx_power_dbm
            events.append(LifecycleEvent("incident", "new", incident.id, None, incident_state(incident)))
            self._last_emitted[incident.id] = now
            if not incident.suppressed:
                events.extend(self._incident_alerts(db, incident, sighting, new=True))
            return events
        db.add(incident)
        before = incident_state(incident)
        self._follow_track(sighting, incident)
        self._heard_at[incident.id] = now
        self._claim(sighting, incident)
        if sighting.tx_power_dbm is not None:
            self._tx_dbm[incident.id] = sighting.tx_power_dbm
        revealed = self._reveal_phone_under_blocking(incident, sighting)
        moved = self._update_incident(db, incident, sighting, now)
        if moved or revealed or now - self._last_emitted.get(incident.id, 0.0) >= UPDATE_INTERVAL_S:
            events.append(LifecycleEvent("incident", "update", incident.id, before, incident_state(incident)))
            self._last_emitted[incident.id] = now
        if not incident.suppressed:
            events.extend(self._incident_alerts(db, incident, sighting, new=revealed))
        return events

    def _reveal_phone_under_blocking(self, incident: IncidentRecord, sighting: Sighting) -> bool:
        """An incident suppressed as the site's own emission, heard again with no unit on over its place, is
        not the blocker's leakage (that ends with the unit): it is a phone that first transmitted while blocking
        was on (its access attempts, or a call it made once the unit let go). Its suppression is decided again
        by the place and device rules; True when that makes it an incident officers see, now."""
        if not (incident.suppression_reason or "").startswith(OWN_EMISSION) or self.suppressor.own_emission(sighting):
            return False
        reason = self.suppressor.reason(sighting, own_emissions=False)
        incident.suppressed, incident.suppression_reason = reason is not None, reason
        log.info("event=incident_revealed id=%s cell=%s suppressed_by=%s", incident.id, incident.cell_id, reason)
        return reason is None

    def _open_incident(self, db: Session, sighting: Sighting, now: float) -> IncidentRecord:
        reason = self.suppressor.reason(sighting)
        incident = IncidentRecord(
            id=str(uuid.uuid4()),
            status="new",
            cell_id=sighting.cell_id,
            wing=sighting.wing,
            landing=sighting.landing,
            zone=sighting.zone,
            region=list(sighting.region),
            method=sighting.method,
            confidence=sighting.confidence,
            runners_up=[list(pair) for pair in sighting.runners_up],
            band=sighting.band,
            operators=list(sighting.operators),
            technology=sighting.technology,
            freq_hz=sighting.freq_hz,
            bandwidth_hz=sighting.bandwidth_hz,
            first_seen=sighting.start_s,
            last_seen=sighting.end_s,
            activity_count=1,
            suppressed=reason is not None,
            suppression_reason=reason,
            created_at=now,
            updated_at=now,
        )
        db.add(incident)
        db.flush()  # before its activity and alerts, which refer to it (no ORM relationships here)
        self._add_activity(db, incident, sighting)
        self._remember(incident)
        log.info(
            "event=incident_new id=%s cell=%s tech=%s freq_hz=%.0f confidence=%.2f suppressed=%s",
            incident.id,
            incident.cell_id,
            incident.technology,
            incident.freq_hz,
            incident.confidence,
            incident.suppressed,
        )
        return incident

    def _update_incident(self, db: Session, incident: IncidentRecord, sighting: Sighting, now: float) -> bool:
        """Extend the incident; True when something an officer would notice changed (not just last_seen)."""
        meaningful = False
        if incident.ended_at is not None:
            # The device is heard again within the merge gap and officers still have the incident: it resumes.
            log.info(
                "event=incident_resumed id=%s cell=%s silent_s=%.0f",
                incident.id,
                incident.cell_id,
                now - incident.ended_at,
            )
            incident.ended_at = None
            meaningful = True
        incident.last_seen = max(incident.last_seen, sighting.end_s)
        incident.first_seen = min(incident.first_seen, sighting.start_s)
        incident.activity_count += 1
        incident.updated_at = now
        clearer = sighting.confidence > incident.confidence + 0.05
        outvoted = self._vote(incident.id, sighting) == sighting.cell_id != incident.cell_id
        # (one sensor's coverage region never replaces a place several sensors agreed on)
        if (clearer or outvoted) and not (sighting.method == SINGLE_SENSOR and incident.method != SINGLE_SENSOR):
            # A clearer location, or the room the phone's recent locations agree on, replaces the earlier one
            # (possibly moving the incident to another room).
            if sighting.place_key != (incident.cell_id or _region_key(incident)):
                self._forget_place(incident)
                incident.cell_id, incident.wing, incident.landing = sighting.cell_id, sighting.wing, sighting.landing
                incident.zone, incident.region = sighting.zone, list(sighting.region)
                self._by_place[(sighting.place_key, incident.technology)].append(incident.id)
                # suppression follows the place: a phone first placed on a landing, then in a staff office. Whether
                # it is the site's own emission was decided when it opened: a phone whose blocking started
                # meanwhile is still a phone, and a blocker's leakage is still the blocker's while the unit is on
                # (_reveal_phone_under_blocking).
                if not (incident.suppression_reason or "").startswith(OWN_EMISSION):
                    reason = self.suppressor.reason(sighting, own_emissions=False)
                    incident.suppressed, incident.suppression_reason = reason is not None, reason
            incident.confidence = sighting.confidence
            incident.runners_up = [list(pair) for pair in sighting.runners_up]
            incident.method = sighting.method
            meaningful = True
        last = self._last_activity.get(incident.id)
        if last is not None and sighting.start_s - last.end_s <= ACTIVITY_GAP_S:
            db.add(last)
            last.end_s = max(last.end_s, sighting.end_s)
            last.confidence = max(last.confidence, sighting.confidence)
        else:
            self._add_activity(db, incident, sighting)
            meaningful = True
        return meaningful

    def _add_activity(self, db: Session, incident: IncidentRecord, sighting: Sighting) -> None:
        activity = IncidentActivity(
            incident_id=incident.id,
            start_s=sighting.start_s,
            end_s=sighting.end_s,
            freq_hz=sighting.freq_hz,
            technology=sighting.technology,
            cell_id=sighting.cell_id,
            confidence=sighting.confidence,
            sensor_powers_dbm=dict(sighting.sensor_powers_dbm),
        )
        db.add(activity)
        self._last_activity[incident.id] = activity

    def _incident_alerts(
        self, db: Session, incident: IncidentRecord, sighting: Sighting, new: bool
    ) -> list[LifecycleEvent]:
        events: list[LifecycleEvent | None] = []
        where = incident.cell_id or sighting.place_key
        if new:
            events.append(
                self.alerts.fire(
                    db,
                    "new_incident",
                    f"new_incident:{where}",
                    "incident",
                    f"suspected {incident.technology.upper()} phone in {where} "
                    f"({', '.join(incident.operators) or 'operator unknown'}, confidence {incident.confidence:.0%})",
                    incident_id=incident.id,
                )
            )
        if self._is_new_episode(where, sighting):
            rule = self.alerts.rules.repeat_activity
            episodes = self._episodes[where]
            if len(episodes) >= rule.sightings:
                events.append(
                    self.alerts.fire(
                        db,
                        "repeat_activity",
                        f"repeat_activity:{where}",
                        "incident",
                        f"repeat phone activity in {where}: {len(episodes)} separate sightings "
                        f"in {rule.window_s / 3600:.0f} h",
                        incident_id=incident.id,
                    )
                )
            if self.lockup_hours.active(datetime.fromtimestamp(sighting.start_s, self.tz)):
                events.append(
                    self.alerts.fire(
                        db,
                        "lockup_activity",
                        f"lockup_activity:{where}",
                        "incident",
                        f"phone activity in {where} during lock-up hours",
                        incident_id=incident.id,
                    )
                )
        return [event for event in events if event is not None]

    def _is_new_episode(self, where: str, sighting: Sighting) -> bool:
        """A sighting after `gap_s` of silence in that place is a separate sighting (for repeat/lock-up)."""
        rule = self.alerts.rules.repeat_activity
        last = self._cell_last_seen.get(where)
        self._cell_last_seen[where] = max(last or sighting.end_s, sighting.end_s)
        if last is not None and sighting.start_s - last <= rule.gap_s:
            return False
        episodes = self._episodes[where]
        episodes.append(sighting.start_s)
        while episodes and episodes[0] < sighting.start_s - rule.window_s:
            episodes.popleft()
        return True

    def end_silent(self, db: Session, now: float) -> list[LifecycleEvent]:
        """End every active incident whose device has been silent for `end_after_silent_s` (lifecycle `end`,
        ended_at set); it stays open for officers and resumes if heard again within the merge gap."""
        events: list[LifecycleEvent] = []
        with self.lock:
            for incident in list(self._open.values()):
                heard_at = self._heard_at.get(incident.id, incident.last_seen)
                if incident.ended_at is not None or now - heard_at < self.rules.end_after_silent_s:
                    continue
                db.add(incident)
                before = incident_state(incident)
                incident.ended_at = now
                incident.updated_at = now
                events.append(LifecycleEvent("incident", "end", incident.id, before, incident_state(incident)))
                log.info(
                    "event=incident_ended id=%s cell=%s silent_s=%.0f", incident.id, incident.cell_id, now - heard_at
                )
            for incident in list(self._open.values()):
                if self._beyond_merge(incident, self._heard_at.get(incident.id, incident.last_seen), now):
                    self._forget(incident.id)
        return events

    def _beyond_merge(self, incident: IncidentRecord, heard_at: float, now: float) -> bool:
        """Ended and silent for longer than the merge gap: no sighting can continue it, so it need not be held
        in memory (it stays open in the database for officers; a long unattended run must not grow)."""
        return incident.ended_at is not None and now - heard_at > self.rules.merge_gap_s

    # -- officer side ----------------------------------------------------------------------------------

    def transition(self, incident_id: str, target: str, actor: str, comment: str = "") -> IncidentRecord:
        with self.lock, self.sessions() as db:
            incident = self._open.get(incident_id) or db.get(IncidentRecord, incident_id)
            if incident is None:
                raise IncidentNotFoundError(incident_id)
            db.add(incident)
            check_transition(incident.status, target)
            before = incident_state(incident)
            now = self.clock()
            db.add(
                IncidentTransition(
                    incident_id=incident.id,
                    from_status=incident.status,
                    to_status=target,
                    actor=actor,
                    at=now,
                    comment=comment,
                )
            )
            incident.status = target
            incident.updated_at = now
            events = []
            if target == "closed":
                incident.closed_at = now
                events.extend(self.alerts.end_for_incident(db, incident.id, actor))
            db.commit()
            if target == "closed":
                self._forget(incident.id)
            log.info(
                "event=incident_transition id=%s from=%s to=%s actor=%s", incident.id, before["status"], target, actor
            )
        event_type = "end" if target == "closed" else "update"
        self.bus.emit(LifecycleEvent("incident", event_type, incident.id, before, incident_state(incident)))
        for event in events:
            self.bus.emit(event)
        return incident

    def add_note(self, incident_id: str, author: str, text: str) -> IncidentNote:
        with self.sessions() as db:
            if db.get(IncidentRecord, incident_id) is None:
                raise IncidentNotFoundError(incident_id)
            note = IncidentNote(incident_id=incident_id, author=author, at=self.clock(), text=text)
            db.add(note)
            db.commit()
            return note


def _lone_track(sighting: Sighting) -> tuple | None:
    """The sighting's phone identity, when it alone of its network was heard (else it proves nothing)."""
    return sighting.track if sighting.devices == 1 else None


def _region_key(incident: IncidentRecord) -> str:
    return "region:" + ",".join(sorted(incident.region)) if incident.region else "unknown"
