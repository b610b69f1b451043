"""Commands from people to sensors, through the controller: checked, signed, published and audited."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.audit import record
from controller.publisher import new_command_id

if TYPE_CHECKING:
    from controller.runtime import Controller


class CommandNotSent(Exception):  # noqa: N818 - the reason a person reads, not a bug
    """The controller cannot reach the sensors now (no broker connection) or does not know the sensor."""


def known_sensor(controller: Controller, sensor_id: str) -> bool:
    return any(s.id == sensor_id for s in controller.site.sensors) or (
        controller.ingest is not None and sensor_id in controller.ingest.pipeline.sensors
    )


def send_sensor_command(
    controller: Controller, actor: str, sensor_id: str, name: str, params: dict[str, Any], command_id: str | None = None
) -> str:
    """Publish `name` to `sensor_id` and write the audit entry; returns the command id."""
    if not known_sensor(controller, sensor_id):
        raise CommandNotSent(f"no sensor {sensor_id!r} on this site")
    ingest = controller.ingest
    if ingest is None or not ingest.connected:
        raise CommandNotSent("the controller is not connected to the broker: no command can reach a sensor now")
    command_id = command_id or new_command_id()
    ingest.publisher.command(sensor_id, name, params, command_id)
    with controller.sessions() as db:
        details = {"command": name, "id": command_id, "params": params}
        record(db, actor, "sensor.command", f"sensor:{sensor_id}", details, controller.clock())
        db.commit()
    return command_id
