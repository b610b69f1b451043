"""Asking the sensors that heard an incident best for an IQ capture, delivered back to the controller."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select

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
