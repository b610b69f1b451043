"""The MQTT topic tree: cellward/<site>/sensor/<sensor_id>/<leaf> (firmware-interface/asyncapi.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

SENSOR_LEAVES = ("availability", "detections", "status", "stats", "spectrum", "snippet")
ALL_SENSORS = "cellward/+/sensor/+/#"  # what the controller subscribes to


def sensor_topic(site: str, sensor_id: str, leaf: str) -> str:
    """Topic of one of a sensor's own streams (availability, detections, status, stats, spectrum, snippet)."""
    return f"cellward/{site}/sensor/{sensor_id}/{leaf}"


def command_topic(site: str, sensor_id: str, command: str) -> str:
    """Where the controller publishes `command` for this sensor."""
    return f"cellward/{site}/sensor/{sensor_id}/cmd/{command}/set"


def command_state_topic(site: str, sensor_id: str, command: str) -> str:
    """Where the sensor acknowledges `command`."""
    return f"cellward/{site}/sensor/{sensor_id}/cmd/{command}/state"


@dataclass(frozen=True, slots=True)
class SensorTopic:
    site: str
    sensor_id: str
    leaf: str  # availability | detections | status | stats | spectrum | snippet | set | state
    command: str | None = None  # for cmd/<command>/{set,state}


def parse_sensor_topic(topic: str) -> SensorTopic | None:
    """Split a topic of the sensor tree; None for any other topic."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "cellward" or parts[2] != "sensor":
        return None
    site, sensor_id, rest = parts[1], parts[3], parts[4:]
    if len(rest) == 1 and rest[0] in SENSOR_LEAVES:
        return SensorTopic(site, sensor_id, rest[0])
    if len(rest) == 3 and rest[0] == "cmd" and rest[2] in ("set", "state"):
        return SensorTopic(site, sensor_id, rest[2], rest[1])
    return None
