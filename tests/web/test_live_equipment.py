"""Blocking and sensor health on the live map: each blocker and zone in its real state, in words, and a
change of either published on the event stream for the open maps to redraw."""

from __future__ import annotations

from controller.api.sensor_watch import SensorWatch
from tests.web.conftest import SENSOR_IDS, log_in, sensor_heard, switch_on


def _events(controller, kind: str) -> list:
    seen: list = []
    controller.bus.add_sink(lambda event: seen.append(event) if event.kind == kind else None)
    return seen


def test_the_map_shows_each_blocker_and_zone_in_the_state_blocking_control_holds(client, controller):
    log_in(client, "vera")
    assert "Blocking zone cells-A: off" in client.get("/map/equipment").text
    switch_on(controller)
    side = client.get("/map/equipment").text
    assert "Blocking zone cells-A: BLOCKING ON (manual)" in side and "unit BLK-A (cells-A): ON" in side
    assert ">BLK-A ON</text>" in client.get("/map/landing/1").text, "the unit's triangle says ON"
    assert "Blocking zone cells-A: BLOCKING ON (manual)</text>" in client.get("/map/landing/0").text, (
        "the zone is framed on every landing it covers, not only where its unit hangs"
    )
    blocking = controller.blocking
    blocking.act("system", "interlock", "*", lambda now: blocking.interlocks.perimeter_reading("PER-S", -60.0, now))
    side = client.get("/map/equipment").text
    assert "unit BLK-A (cells-A): TRIPPED" in side and "Blocking zone cells-A: OUT OF SERVICE" in side
    assert ">BLK-A TRIPPED</text>" in client.get("/map?landing=1").text


def test_a_blocking_change_is_published_once_for_the_live_map(controller):
    events = _events(controller, "blocking")
    controller.blocking.tick()
    assert events == [], "nothing changed: nothing published"
    switch_on(controller)
    assert len(events) == 1 and events[0].after["zones"]["cells-A"]["on"] is True
    assert events[0].before["zones"]["cells-A"]["on"] is False
    controller.blocking.tick()
    assert len(events) == 1, "a tick that changes nothing publishes nothing"
    blocking = controller.blocking
    blocking.act("olive", "emergency", "*", lambda now: blocking.policy.emergency_all_off("olive", now))
    assert events[-1].after["emergency_by"] == "olive" and not events[-1].after["zones"]["cells-A"]["on"]


def test_a_sensor_going_offline_is_published_but_a_silence_growing_longer_is_not(controller):
    watch = SensorWatch(controller)
    sensor_heard(controller, SENSOR_IDS[0], "online")
    assert watch.check() is None, "the first look is the baseline"
    assert watch.check() is None, "the never-heard sensors' problems did not change"
    sensor_heard(controller, SENSOR_IDS[0], "offline")
    event = watch.check()
    assert event is not None and event.kind == "sensors"
    assert event.before[SENSOR_IDS[0]]["healthy"] and not event.after[SENSOR_IDS[0]]["healthy"]
    assert f"sensor {SENSOR_IDS[0]} is offline" in event.after[SENSOR_IDS[0]]["problems"]
    assert watch.check() is None


def test_the_side_list_names_a_sensor_that_went_offline(client, controller):
    sensor_heard(controller, SENSOR_IDS[0], "offline")
    log_in(client, "vera")
    assert f"! {SENSOR_IDS[0]}: sensor {SENSOR_IDS[0]} is offline" in client.get("/map/equipment").text
