"""Sensors: status, health, clock and measured loss, for every sensor placed in the site or ever heard."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select

from controller.api.deps import AUTH_RESPONSES, NOT_FOUND, ControllerDep, Reader
from controller.api.models.sensors import SensorOut
from controller.db.reports import SensorState, SensorStream
from controller.runtime import Controller
from controller.sensor_health import lost_fraction, sensor_problems

router = APIRouter(prefix="/api/sensors", tags=["sensors"], responses=AUTH_RESPONSES)


def sensor_views(controller: Controller) -> list[SensorOut]:
    placements = {sensor.id: sensor for sensor in controller.site.sensors}
    with controller.sessions() as db:
        states = {state.id: state for state in db.scalars(select(SensorState))}
        # seq is counted per stream (sender and message name) since the sequence split; report the highest.
        per_sensor = select(SensorStream.sensor_id, func.max(SensorStream.highest_seq)).group_by(SensorStream.sensor_id)
        highest = {sensor_id: seq for sensor_id, seq in db.execute(per_sensor)}
    now = controller.clock()
    views = []
    for sensor_id in sorted(set(placements) | set(states)):
        placement = placements.get(sensor_id)
        state = states.get(sensor_id)
        problems = [problem.message for problem in sensor_problems(state, sensor_id, controller.config.alerts, now)]
        if placement is None:
            problems.append(f"sensor {sensor_id} is not placed in the site file (location cannot use it)")
        views.append(
            SensorOut(
                id=sensor_id,
                role=placement.role if placement else None,
                position=tuple(placement.position) if placement else None,
                availability=state.availability if state else "unknown",
                healthy=not problems,
                problems=problems,
                last_seen=state.last_seen if state else None,
                clock_offset_s=state.clock_offset_s if state else None,
                messages_received=state.messages_received if state else 0,
                messages_lost=state.messages_lost if state else 0,
                lost_fraction=lost_fraction(state) if state else 0.0,
                duplicates=state.duplicates if state else 0,
                highest_seq=highest.get(sensor_id),
                status=state.status if state else None,
                stats=state.stats if state else None,
            )
        )
    return views


@router.get("")
def list_sensors(_: Reader, controller: ControllerDep) -> list[SensorOut]:
    return sensor_views(controller)


@router.get("/{sensor_id}", responses=NOT_FOUND)
def get_sensor(sensor_id: str, _: Reader, controller: ControllerDep) -> SensorOut:
    for view in sensor_views(controller):
        if view.id == sensor_id:
            return view
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sensor {sensor_id}")
