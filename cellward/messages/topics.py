"""The MQTT topic tree: cellward/<site>/<kind>/<node_id>/<leaf>, kind sensor or blocker (asyncapi.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

SENSOR_LEAVES = ("availability", "detections", "status", "stats", "spectrum", "snippet")
BLOCKER_LEAVES = ("availability", "state", "heartbeat", "faults")
NODE_LEAVES = {"sensor": SENSOR_LEAVES, "blocker": BLOCKER_LEAVES}
ALL_SENSORS = "cellward/+/sensor/+/#"  # what the controller subscribes to
ALL_BLOCKERS = "cellward/+/blocker/+/#"


def node_topic(kind: str, site: str, node_id: str, leaf: str) -> str:
    """Topic of one of a node's own streams; `kind` is sensor or blocker."""
    return f"cellward/{site}/{kind}/{node_id}/{leaf}"


def sensor_topic(site: str, sensor_id: str, leaf: str) -> str:
    """Topic of one of a sensor's own streams (availability, detections, status, stats, spectrum, snippet)."""
    return node_topic("sensor", site, sensor_id, leaf)


def blocker_topic(site: str, blocker_id: str, leaf: str) -> str:
    """Topic of one of a blocker node's own streams (availability, state, heartbeat, faults)."""
    return node_topic("blocker", site, blocker_id, leaf)


def command_topic(site: str, sensor_id: str, command: str, kind: str = "sensor") -> str:
    """Where the controller publishes `command` for this node."""
    return node_topic(kind, site, sensor_id, f"cmd/{command}/set")


def command_state_topic(site: str, sensor_id: str, command: str, kind: str = "sensor") -> str:
    """Where the node acknowledges `command`."""
    return node_topic(kind, site, sensor_id, f"cmd/{command}/state")


def blocker_command_topic(site: str, blocker_id: str, command: str) -> str:
    """The topic a command to one blocker node is published on."""
    return command_topic(site, blocker_id, command, kind="blocker")


def blocker_command_state_topic(site: str, blocker_id: str, command: str) -> str:
    """Where a blocker node acknowledges `command`."""
    return command_state_topic(site, blocker_id, command, kind="blocker")


@dataclass(frozen=True, slots=True)
class SensorTopic:
    site: str
    sensor_id: str  # the node id (a sensor's or, from parse_blocker_topic, a blocker's)
    leaf: str  # one of the kind's leaves, or set | state
    command: str | None = None  # for cmd/<command>/{set,state}
    kind: str = "sensor"


def parse_node_topic(topic: str, kind: str) -> SensorTopic | None:
    """Split a topic of the `kind` tree (sensor or blocker); None for any other topic."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "cellward" or parts[2] != kind:
        return None
    site, node_id, rest = parts[1], parts[3], parts[4:]
    if len(rest) == 1 and rest[0] in NODE_LEAVES[kind]:
        return SensorTopic(site, node_id, rest[0], kind=kind)
    if len(rest) == 3 and rest[0] == "cmd" and rest[2] in ("set", "state"):
        return SensorTopic(site, node_id, rest[2], rest[1], kind=kind)
    return None


def parse_sensor_topic(topic: str) -> SensorTopic | None:
    """Split a topic of the sensor tree; None for any other topic."""
    return parse_node_topic(topic, "sensor")


def parse_blocker_topic(topic: str) -> SensorTopic | None:
    """Split a topic of the blocker tree; None for any other topic."""
    return parse_node_topic(topic, "blocker")
