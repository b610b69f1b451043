"""The controller and its blocker units over a real Mosquitto: every switch becomes signed, sequenced QoS 1
commands; the units' state, heartbeats, answers and faults are checked like sensor messages and recorded;
interlocks (leakage at a perimeter sensor, lost heartbeat) switch a unit off with an alarm; emergency
all-off reaches every unit; a tripped unit comes back only by an admin's reset and a new decision."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cellward.signing import Keyring
from controller.app import create_app
from controller.audit import AuditEntry
from controller.blocking.interlocks import Interlocks
from controller.blocking.policy import BlockingPolicy, BlockingRefused, PolicyConfig
from controller.db.incidents import AlertRecord
from tests.controller.blocker_messages import CommandListener, UnitNode
from tests.controller.conftest import SITE_ID, wait_for
from tests.controller.sensor_messages import activity_report
from tests.controller.test_api import login, make_user
from tests.controller.test_incident_pipeline import Listener as AlertListener
from tests.controller.test_incident_pipeline import validator

UNIT = "BLK-A"  # the small site's one unit: cells-A, bands B8 and B3


@pytest.fixture
def unit_world(sqlite_world, mosquitto):
    """The controller with ingest on a real broker, BLK-A's key in its keyring, a command listener."""
    world = sqlite_world
    unit = UnitNode(SITE_ID, UNIT, ["B8", "B3"], ["cells-A"])
    keyring = Keyring.load(world.tmp_path / "keyring.json")
    keyring.add(UNIT, unit.key.public_b64)
    keyring.save(world.tmp_path / "keyring.json")
    config = yaml.safe_load(world.config_path.read_text())
    config["blocking"] = {"heartbeat_timeout_s": 60.0, "keepalive_s": 0.5}
    world.config_path.write_text(yaml.safe_dump(config))
    controller = world.start()
    publisher = controller.ingest.publisher
    listener = CommandListener(mosquitto.port, SITE_ID, publisher.sender, publisher.key.public_b64)
    yield world, controller, unit, listener
    listener.close()


def audit(controller, prefix: str = "blocking.") -> list[tuple[str, str, str]]:
    with controller.sessions() as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.seq))
        return [(e.actor, e.action, e.target) for e in rows]


def wideband(report):
    """The report as a blocker's leakage looks: one 35 MHz-wide burst held for the whole dwell."""
    burst = replace(report.bursts[0], bandwidth_hz=35e6, duration_s=0.09)
    return replace(report, bursts=[burst])


def switch(controller, zone: str, on: bool, actor: str = "officer1"):
    policy = controller.blocking.policy
    call = policy.request_on if on else policy.request_off
    return controller.blocking.act(actor, "on" if on else "off", zone, lambda now: call(zone, actor, now))


def test_switching_a_zone_sends_signed_commands_with_increasing_seq(unit_world):
    _, controller, _, listener = unit_world
    switch(controller, "cells-A", True)
    switch(controller, "cells-A", False)
    commands = wait_for(lambda: len(listener.named("set_blocking")) == 2 and listener.named("set_blocking"))
    assert [(c.target, c.params.zone, c.params.bands, c.params.on) for c in commands] == [
        (UNIT, "cells-A", ["B8", "B3"], True),
        (UNIT, "cells-A", ["B8", "B3"], False),
    ]
    assert commands[0].seq < commands[1].seq and commands[0].id != commands[1].id
    assert commands[0].expires > commands[0].ts, "a command carries its expiry"
    assert listener.bad == [], "every command verifies against the controller's key and the schema"
    keepalives = wait_for(lambda: listener.named("keepalive", UNIT), what="a keepalive to the unit")
    assert keepalives[0].params.model_dump() == {}


def test_unit_state_heartbeat_answers_and_faults_are_recorded_and_shown(unit_world, publisher):
    _, controller, unit, listener = unit_world
    switch(controller, "cells-A", True)
    [command] = wait_for(lambda: listener.named("set_blocking"))
    for message in (
        unit.state(["B8", "B3"]),
        unit.heartbeat(["B8", "B3"]),
        unit.ack("set_blocking", command.id, "refused", "out_of_policy", "zone cells-B is not in my allow-list"),
        unit.fault("actuator", "relay B3 did not close"),
    ):
        publisher.publish(*message)
    record = controller.blocking.units.records[UNIT]
    wait_for(lambda: record.faults, what="the fault to be recorded")
    assert record.reported["bands_on"] == ["B8", "B3"] and record.reported["mode"] == "normal"
    assert (record.last_answer["result"], record.last_answer["reason"]) == ("refused", "out_of_policy")
    kinds = [(a.unit_id, a.kind) for a in controller.blocking.interlocks.alarms]
    assert kinds == [(UNIT, "command-refused"), (UNIT, "fault-actuator")]
    assert audit(controller, "blocking.unit-problem") == [("system", "blocking.unit-problem", f"unit:{UNIT}")] * 2
    with TestClient(create_app(controller)) as client:
        viewer = make_user(client, login(client), "viewer1", ["viewer"])
        [shown] = [u for u in client.get("/api/blocking", headers=viewer).json()["units"] if u["unit"] == UNIT]
    assert shown["commanded_zones"] == ["cells-A"] and shown["reported"]["summary"] == "normal: radiating B8, B3"
    assert shown["last_answer"]["detail"] == "zone cells-B is not in my allow-list"


def test_unsigned_replayed_and_foreign_unit_messages_are_refused_and_counted(unit_world, publisher):
    _, controller, unit, _ = unit_world
    metric = "cellward_controller_messages_rejected_total"

    def rejected(reason: str) -> float:
        return controller.metrics.registry.get_sample_value(metric, {"reason": reason}) or 0.0

    publisher.publish(*unit.heartbeat(["B8"]))
    wait_for(lambda: controller.blocking.units.records[UNIT].reported, what="the first heartbeat")
    publisher.publish(*unit.heartbeat(["B3"], sign=False))
    publisher.publish(*unit.heartbeat(["B3"], seq=1))  # an old seq with new content: a replay
    stranger = UnitNode(SITE_ID, "BLK-X", ["B8"], ["cells-A"])
    publisher.publish(*stranger.heartbeat(["B8"]))
    wait_for(lambda: rejected("unsigned") == 1 and rejected("replayed") == 1 and rejected("unknown_sender") == 1)
    assert controller.blocking.units.records[UNIT].reported["bands_on"] == ["B8"], "nothing refused was applied"


def test_leakage_at_a_perimeter_sensor_switches_the_unit_off_and_only_an_admin_resets_it(unit_world, publisher):
    world, controller, _, listener = unit_world
    switch(controller, "cells-A", True)
    perimeter = world.nodes["PER-S"]
    read_at = datetime.now(UTC)
    impulse = activity_report(read_at, [-50.0], freq_hz=897.5e6, technology="unknown", operators=())
    publisher.publish(*perimeter.detections([impulse]))  # a short, narrow burst: not leakage
    leak = wideband(activity_report(read_at, [-85.0], freq_hz=897.5e6, technology="unknown", operators=()))
    publisher.publish(*perimeter.detections([leak]))
    [all_off] = wait_for(lambda: listener.named("all_off", UNIT), what="all_off to the leaking unit")
    assert "interlock" in all_off.params.reason
    assert controller.blocking.policy.tripped_units == {UNIT} and controller.blocking.policy.blocking_zones() == []
    [alarm] = [a for a in controller.blocking.interlocks.alarms if a.kind == "leakage"]
    assert alarm.unit_id == UNIT and "-85.0 dBm at perimeter sensor PER-S" in alarm.detail
    assert alarm.at_s == pytest.approx(read_at.timestamp(), abs=1e-3), "the trip carries the reading's own time"
    assert ("system", "blocking.unit-tripped", f"unit:{UNIT}") in audit(controller)

    with TestClient(create_app(controller)) as client:
        admin = login(client)
        officer = make_user(client, admin, "officer1", ["officer"])
        assert client.post(f"/api/blocking/units/{UNIT}/reset", headers=officer).status_code == 403
        assert client.post("/api/blocking/units/BLK-9/reset", headers=admin).status_code == 409
        assert client.post(f"/api/blocking/units/{UNIT}/reset", headers=admin).status_code == 204
        state = client.get("/api/blocking", headers=officer).json()
        assert state["tripped_units"] == [] and state["awaiting_decision"] == [UNIT]
        sent = len(listener.named("set_blocking", UNIT))
        assert client.post("/api/blocking/zones/cells-A/on", headers=officer).status_code == 200
    assert ("admin", "blocking.unit-reset", f"unit:{UNIT}") in audit(controller)
    ons = wait_for(lambda: len(listener.named("set_blocking", UNIT)) > sent and listener.named("set_blocking", UNIT))
    assert ons[-1].params.on is True, "back on only by the new decision"


def test_a_reset_unit_stays_off_while_its_zone_is_still_on():
    from cellward.site import load_site, reference_site_path

    policy = BlockingPolicy(load_site(reference_site_path()), PolicyConfig())
    policy.units_of["cells-A"] = ("BLK-A", "BLK-B")  # two units over one zone
    policy.request_on("cells-A", "officer1", 0.0)
    assert policy.trip_unit("BLK-A", "leak", 1.0) == [], "the other unit keeps the zone on"
    policy.reset_unit("BLK-A")
    assert policy.active_units() == {"BLK-B"}, "reset is not a switch-on"
    change = policy.request_on("cells-A", "officer1", 2.0)
    assert set(change.units) == {"BLK-A", "BLK-B"} and policy.active_units() == {"BLK-A", "BLK-B"}
    with pytest.raises(BlockingRefused, match="not tripped"):
        policy.reset_unit("BLK-A")


def test_a_lost_heartbeat_takes_the_unit_out_of_service_with_an_alarm(unit_world, publisher, mosquitto):
    _, controller, unit, listener = unit_world
    alerts = AlertListener(mosquitto.port)
    try:
        controller.blocking.interlocks.heartbeat_timeout_s = 1.0  # (60 s in the other tests)
        publisher.publish(*unit.heartbeat([]))
        switch(controller, "cells-A", True)
        wait_for(lambda: controller.blocking.policy.tripped_units == {UNIT}, what="the heartbeat interlock")
        assert [a.kind for a in controller.blocking.interlocks.alarms] == ["heartbeat-lost"]
        assert controller.blocking.policy.blocking_zones() == [], "its zone had no other unit: off"
        wait_for(lambda: listener.named("all_off", UNIT), what="all_off to the silent unit (in case it still hears)")
        [raised] = wait_for(
            lambda: [a for a in alerts.on("alerts") if a["after"]["rule"] == "blocking_alarm"],
            what="the alarm as an alert on MQTT",
        )
    finally:
        alerts.close()
    validator("controller.alert.v1.json").validate(raised)
    after = raised["after"]
    assert (raised["type"], after["rule"], after["class"], after["severity"]) == (
        "new",
        "blocking_alarm",
        "system",
        "critical",
    )
    assert after["key"] == f"blocking:heartbeat-lost:{UNIT}" and UNIT in after["message"]
    with controller.sessions() as db:
        stored = db.scalars(select(AlertRecord).where(AlertRecord.rule == "blocking_alarm")).all()
    assert [(a.key, a.active) for a in stored] == [(after["key"], True)], "stored for the alert list, once"


def test_emergency_all_off_reaches_every_unit_over_mqtt(unit_world):
    _, controller, _, listener = unit_world
    switch(controller, "cells-A", True)
    policy = controller.blocking.policy
    controller.blocking.act("officer1", "emergency", "*", lambda now: policy.emergency_all_off("officer1", now))
    units = {b.id for b in controller.site.blockers}
    wait_for(lambda: {c.target for c in listener.named("all_off")} == units, what="all_off to every unit")
    assert "emergency all-off by officer1" in listener.named("all_off", UNIT)[0].params.reason


NEVER = ("staff", "outside")  # never_block in the small site
ACTIONS = st.tuples(
    st.sampled_from(["on", "off", "activity", "tick", "emergency", "clear", "reset"]),
    st.sampled_from(["cells-A", "hub", *NEVER]),
)


def test_no_command_over_mqtt_ever_switches_on_a_never_block_zone(unit_world):
    _, controller, _, listener = unit_world
    blocking = controller.blocking

    @settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(actions=st.lists(ACTIONS, max_size=12))
    def run(actions):
        blocking.policy = BlockingPolicy(controller.site, PolicyConfig(reactive_zones=frozenset({"cells-A", *NEVER})))
        for zone in NEVER:  # even a unit wrongly configured over a never-block zone
            blocking.policy.units_of[zone] = (UNIT,)
        blocking.interlocks = Interlocks(blocking.policy)
        policy = blocking.policy
        for action, zone in actions:
            calls = {
                "on": lambda now, z=zone: policy.request_on(z, "officer1", now),
                "off": lambda now, z=zone: policy.request_off(z, "officer1", now),
                "activity": lambda now, z=zone: policy.phone_activity(z, now),
                "tick": lambda now: policy.tick(now, 0.0),
                "emergency": lambda now: policy.emergency_all_off("officer1", now),
                "clear": lambda now: policy.clear_emergency("admin"),
                "reset": lambda now: policy.reset_unit(UNIT),
            }
            with contextlib.suppress(BlockingRefused):
                blocking.act("officer1", action, zone, calls[action])

    run()
    wait_for(lambda: listener.named("set_blocking"), what="some switching to have reached the broker")
    on = [c.params.zone for c in listener.named("set_blocking") if c.params.on]
    assert on and not set(on) & set(NEVER), f"switch-on commands named {sorted(set(on))}"
    assert listener.bad == []
    assert json.dumps(blocking.snapshot())  # the state stays JSON for the API
