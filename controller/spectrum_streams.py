"""Starting a sensor's live spectrum stream on a person's request (the API and the web page share it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.sensor_commands import send_sensor_command

if TYPE_CHECKING:
    from controller.runtime import Controller


def start_spectrum_stream(controller: Controller, actor: str, sensor_id: str, duration_s: float) -> tuple[str, float]:
    """Ask `sensor_id` for a spectrum per dwell for `duration_s`, capped by config; returns (command id, s)."""
    duration_s = min(duration_s, controller.config.captures.spectrum_max_s)
    command_id = send_sensor_command(controller, actor, sensor_id, "stream_spectrum", {"duration_s": duration_s})
    return command_id, duration_s
