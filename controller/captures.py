"""Asking the sensors that heard an incident best for an IQ capture, delivered back to the controller.

A capture is `requested` until its snippet is filed (`received`), refused (`failed`), or not delivered
within `captures.deliver_timeout_s` of the request (`expired`). A controller restart does not end one: the
sensor keeps its chunks in its spool and the broker keeps them for the controller's persistent session,
so at start-up the captures still in flight wait again (what was already assembled is kept on disk)
unless their time is up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.audit import record
from controller.db.captures import IncidentCapture
from controller.db.incidents import IncidentActivity, IncidentRecord
from controller.incidents import IncidentNotFoundError
from controller.publisher import new_command_id
from controller.sensor_commands import CommandNotSent, send_sensor_command

if TYPE_CHECKING:
    from controller.runtime import Controller

# The tuner is set this far above the emission so that its DC spike does not sit on it in the recording
# (an RTL-SDR's usable ±1 MHz still holds a GSM channel or a 1.08 MHz LTE allocation beside it).
DC_CLEARANCE_HZ = 300e3


def sensor_levels(timeline: Iterable[IncidentActivity]) -> list[tuple[str, float, float, int]]:
    """(sensor, mean dBm, peak dBm, emissions heard) over an incident's activity, strongest first."""
    heard: dict[str, list[float]] = defaultdict(list)
    for activity in timeline:
        for sensor_id, power_dbm in (activity.sensor_powers_dbm or {}).items():
            heard[sensor_id].append(float(power_dbm))
    rows = [(sensor_id, sum(p) / len(p), max(p), len(p)) for sensor_id, p in heard.items()]
    return sorted(rows, key=lambda row: row[1], reverse=True)


def request_captures(controller: Controller, actor: str, incident_id: str) -> list[IncidentCapture]:
    """Send capture_snippet (deliver) to the `captures.sensors` sensors with the highest mean level.

    Raises IncidentNotFoundError, or CommandNotSent when no snippet folder is configured, no sensor heard
    the incident, or the broker is out of reach.
    """
    config = controller.config.captures
    with controller.sessions() as db:
        incident = db.get(IncidentRecord, incident_id)
        if incident is None:
            raise IncidentNotFoundError(incident_id)
        if controller.snippets.folder is None:
            raise CommandNotSent("no requests.snippet_dir is configured: captures would have nowhere to go")
        timeline = db.scalars(select(IncidentActivity).where(IncidentActivity.incident_id == incident_id))
        best = [row[0] for row in sensor_levels(timeline)][: config.sensors]
        freq_hz = incident.freq_hz
    if not best:
        raise CommandNotSent("no sensor levels are recorded for this incident: no sensor to ask")
    params = {
        "freq_hz": freq_hz + DC_CLEARANCE_HZ,
        "duration_s": config.duration_s,
        "reason": f"incident {incident_id}",
        "deliver": True,
    }
    captures = []
    for sensor_id in best:
        command_id = new_command_id()
        with controller.sessions() as db:  # the row first: the sensor's chunks may beat a later commit
            capture = IncidentCapture(
                incident_id=incident_id,
                sensor_id=sensor_id,
                command_id=command_id,
                freq_hz=params["freq_hz"],
                duration_s=config.duration_s,
                requested_by=actor,
                requested_at=controller.clock(),
                status="requested",
            )
            db.add(capture)
            record(
                db,
                actor,
                "incident.capture_requested",
                f"incident:{incident_id}",
                {
                    "sensor": sensor_id,
                    "command": command_id,
                    "freq_hz": params["freq_hz"],
                    "duration_s": config.duration_s,
                },
                controller.clock(),
            )
            db.commit()
            db.refresh(capture)
            try:
                send_sensor_command(controller, actor, sensor_id, "capture_snippet", params, command_id)
            except CommandNotSent as exc:
                capture.status, capture.detail = "failed", str(exc)
                db.commit()
                raise
            db.expunge(capture)
        captures.append(capture)
    return captures


def incident_captures(controller: Controller, incident_id: str) -> list[IncidentCapture]:
    with controller.sessions() as db:
        rows = db.scalars(
            select(IncidentCapture)
            .where(IncidentCapture.incident_id == incident_id)
            .order_by(IncidentCapture.requested_at.desc(), IncidentCapture.id)
        )
        return list(rows)


def _in_flight(db: Session) -> list[IncidentCapture]:
    return list(db.scalars(select(IncidentCapture).where(IncidentCapture.status == "requested")))


def _expire(controller: Controller, db: Session, capture: IncidentCapture, why: str, now: float) -> None:
    capture.status, capture.detail = "expired", why
    controller.snippets.discard(capture.sensor_id, capture.command_id)
    details = {"capture": capture.command_id, "sensor": capture.sensor_id, "reason": why}
    record(db, "system", "incident.capture_expired", f"incident:{capture.incident_id}", details, now)


def expire_overdue(controller: Controller, db: Session, now: float) -> int:
    """Mark `expired` the captures asked for more than `deliver_timeout_s` ago and not delivered; returns how many."""
    timeout_s = controller.config.captures.deliver_timeout_s
    overdue = [c for c in _in_flight(db) if now - c.requested_at >= timeout_s]
    for capture in overdue:
        _expire(controller, db, capture, f"no complete snippet from {capture.sensor_id} within {timeout_s:g} s", now)
    return len(overdue)


def resolve_in_flight(controller: Controller) -> tuple[int, int]:
    """At start-up: captures left `requested` by the previous run wait again, or expire when their time is
    up; returns (waiting, expired)."""
    now = controller.clock()
    timeout_s = controller.config.captures.deliver_timeout_s
    waiting = expired = 0
    with controller.sessions() as db:
        for capture in _in_flight(db):
            if now - capture.requested_at >= timeout_s:
                why = f"no complete snippet from {capture.sensor_id} within {timeout_s:g} s (the controller restarted)"
                _expire(controller, db, capture, why, now)
                expired += 1
                continue
            held = controller.snippets.chunks_held(capture.sensor_id, capture.command_id)
            capture.detail = (
                f"the controller restarted; waiting again for {capture.sensor_id}'s spooled chunks"
                f" ({held} already assembled)"
            )
            details = {"capture": capture.command_id, "sensor": capture.sensor_id, "chunks_held": held}
            record(db, "system", "incident.capture_resumed", f"incident:{capture.incident_id}", details, now)
            waiting += 1
        db.commit()
    return waiting, expired
