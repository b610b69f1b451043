"""Reports from several sensors, through MQTT, correlation and location, become an incident in the right cell;
what the controller publishes about it satisfies firmware-interface/schemas/controller.*.json."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from cellward.messages.schema_files import SCHEMA_DIR
from tests.controller.conftest import SITE_ID, wait_for
from tests.controller.sensor_messages import activity_report

SENSITIVITY_DBM = -100.0


class Listener:
    """Collects what the controller publishes under cellward/<site>/controller/#."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, dict, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-listener")
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"cellward/{SITE_ID}/controller/#", qos=1)
        self.client.loop_start()

    def _on(self, _c, _u, message) -> None:
        with self.lock:
            self.messages.append((message.topic, json.loads(message.payload), bool(message.retain)))

    def on(self, leaf: str) -> list[dict]:
        with self.lock:
            return [body for topic, body, _ in self.messages if topic.endswith(f"/controller/{leaf}")]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def validator(file_name: str) -> Draft202012Validator:
    documents = [json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json")]
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents)
    return Draft202012Validator(json.loads((SCHEMA_DIR / file_name).read_text()), registry=registry)


def phone_in(world, cell_id: str, tx_dbm: float = 5.0, freq_hz: float = 897.4e6):
    """Per sensor that would hear it: the level of a phone at the cell's centre (the site's own model)."""
    from cellward.site.propagation import PropagationModel, PropagationParams

    model = PropagationModel(world.site, PropagationParams())
    room = next(r for r in world.site.rooms if r.id == cell_id)
    levels = {s.id: model.received_power_dbm(tx_dbm, tuple(room.centroid), s, freq_hz) for s in world.site.sensors}
    return {sensor: level for sensor, level in levels.items() if level > SENSITIVITY_DBM}


def test_a_phone_in_a_known_cell_becomes_one_incident_in_that_cell_published_on_mqtt(world, publisher, mosquitto):
    listener = Listener(mosquitto.port)
    try:
        controller = world.start()
        cell = world.site.cells[0]
        heard = phone_in(world, cell.id)
        assert len(heard) >= 2, f"the test phone must be heard by several sensors, got {heard}"
        start = datetime.now(UTC)
        for sensor_id, level in heard.items():
            report = activity_report(start, [level, level - 0.3, level + 0.2])
            publisher.publish(*world.nodes[sensor_id].detections([report]))
        incidents = wait_for(lambda: listener.on("incidents"), what="the incident on MQTT")
        first = incidents[0]
        assert first["type"] == "new" and first["before"] is None
        assert first["after"]["cell_id"] == cell.id, f"placed in {first['after']['cell_id']}, truth {cell.id}"
        assert first["after"]["operators"] == ["Vodafone"] and first["after"]["technology"] == "gsm"
        new_incident = wait_for(
            lambda: [a for a in listener.on("alerts") if a["after"]["rule"] == "new_incident"], what="the alert"
        )
        assert new_incident[0]["after"]["incident_id"] == first["id"] and new_incident[0]["type"] == "new"
        alerts = listener.on("alerts")
        for body in incidents:
            validator("controller.incident.v1.json").validate(body)
        for body in alerts:
            validator("controller.alert.v1.json").validate(body)
        availability = listener.on("availability")
        assert availability and availability[-1]["state"] == "online"
        validator("availability.v1.json").validate(availability[-1])
        with controller.sessions() as db:
            from controller.db.incidents import IncidentRecord

            rows = db.query(IncidentRecord).all()
        assert len(rows) == 1, "one phone, one incident"
    finally:
        listener.close()


def test_a_new_phone_reported_early_then_by_whole_windows_is_one_incident_refined_by_the_late_sensor(
    world, publisher, mosquitto
):
    """Sensors that hear a new phone cut their window at the dwell's end and report at once; one sensor had
    heard that network lately, so reports the same bursts only with its whole window; the others' rest of
    the window follows. The early reports open the incident; the window's end adds the sensor, not another
    incident."""
    from controller.db.incidents import IncidentRecord

    listener = Listener(mosquitto.port)
    try:
        controller = world.start()
        cell = world.site.cells[0]
        heard = phone_in(world, cell.id)
        assert len(heard) >= 3, f"the test phone must be heard by several sensors, got {heard}"
        late = sorted(heard)[-1]
        second = datetime.now(UTC).replace(microsecond=0)
        first_at, cut = second + timedelta(seconds=0.1), second + timedelta(seconds=0.19)
        early = {s: activity_report(first_at, [level, level - 0.3]) for s, level in heard.items()}
        rest = {
            s: replace(
                activity_report(second + timedelta(seconds=0.6), [level + 0.2, level - 0.1]),
                window_start=cut,
                window_s=0.81,
            )
            for s, level in heard.items()
        }
        for sensor_id in sorted(set(heard) - {late}):
            cut_report = replace(early[sensor_id], window_s=0.19, cut_early=True)
            publisher.publish(*world.nodes[sensor_id].detections([cut_report]))
        new = wait_for(lambda: listener.on("incidents"), what="the incident from the early reports")[0]
        assert new["type"] == "new" and new["after"]["cell_id"] == cell.id
        for sensor_id in sorted(heard):
            if sensor_id == late:
                whole = replace(
                    early[sensor_id], bursts=early[sensor_id].bursts + rest[sensor_id].bursts, burst_count=4
                )
                publisher.publish(*world.nodes[sensor_id].detections([whole]))
            else:
                publisher.publish(*world.nodes[sensor_id].detections([rest[sensor_id]]))

        def refined() -> list:
            with controller.sessions() as db:
                rows = db.query(IncidentRecord).all()
            return rows if len(rows) > 1 or sum(r.activity_count for r in rows) > 1 else []

        rows = wait_for(refined, what="the late sensor's sighting merged into the incident")
        assert [(r.id, r.activity_count) for r in rows] == [(new["id"], 2)], "one phone, one incident"
    finally:
        listener.close()


def test_a_phone_gone_silent_ends_its_incident_on_mqtt_and_in_the_api(world, publisher, mosquitto):
    config = yaml.safe_load(world.config_path.read_text(encoding="utf-8"))
    config["incidents"] = {"end_after_silent_s": 1}
    world.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    listener = Listener(mosquitto.port)
    try:
        controller = world.start()
        cell = world.site.cells[0]
        start = datetime.now(UTC)
        for sensor_id, level in phone_in(world, cell.id).items():
            publisher.publish(*world.nodes[sensor_id].detections([activity_report(start, [level, level - 0.3])]))
        new = wait_for(lambda: [m for m in listener.on("incidents") if m["type"] == "new"], what="the incident")[0]
        ended = wait_for(
            lambda: [m for m in listener.on("incidents") if m["type"] == "end"], timeout_s=30, what="its end"
        )
        assert len(ended) == 1 and ended[0]["id"] == new["id"]
        assert ended[0]["before"]["ended_at"] is None and ended[0]["after"]["ended_at"] is not None
        assert ended[0]["after"]["status"] == "new", "a silent device ends the incident, officers still have it"
        validator("controller.incident.v1.json").validate(ended[0])
        with controller.sessions() as db:
            from controller.api.models.incidents import IncidentOut
            from controller.db.incidents import IncidentRecord

            row = IncidentOut.model_validate(db.get(IncidentRecord, new["id"]), from_attributes=True)
        assert row.ended_at is not None and row.status == "new"
    finally:
        listener.close()


def test_a_clean_stop_publishes_stopped_with_the_will_seq(world, mosquitto):
    listener = Listener(mosquitto.port)
    try:
        world.start()
        online = wait_for(lambda: listener.on("availability"), what="online")[-1]
        world.stop()
        stopped = wait_for(lambda: [m for m in listener.on("availability") if m["state"] == "stopped"], what="stopped")[
            -1
        ]
        assert stopped["seq"] == online["seq"] + 1, "stopped takes the will's seq, so the stream has no gap"
    finally:
        listener.close()


def test_a_sensor_that_goes_offline_raises_a_system_alert_that_ends_when_it_returns(world, publisher, mosquitto):
    listener = Listener(mosquitto.port)
    try:
        world.start()
        node = next(iter(world.nodes.values()))
        publisher.publish(*node.status())
        publisher.publish(*node.availability("offline"))
        raised = wait_for(
            lambda: [a for a in listener.on("alerts") if a["after"]["key"] == f"sensor_silent:{node.sensor_id}"],
            timeout_s=15,
            what="the sensor-silent alert",
        )
        assert raised[0]["type"] == "new" and raised[0]["after"]["class"] == "system"
        publisher.publish(*node.availability("online"))
        wait_for(
            lambda: [
                a
                for a in listener.on("alerts")
                if a["after"]["key"] == f"sensor_silent:{node.sensor_id}" and a["type"] == "end"
            ],
            timeout_s=15,
            what="the alert to end when the sensor is back",
        )
    finally:
        listener.close()
