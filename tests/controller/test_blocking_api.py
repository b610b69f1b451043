"""Blocking through the API: officers switch zones, never-block zones refuse, emergency all-off holds
until an admin clears it, and every step (refusals too) is in the audit log."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cellward.config import ConfigError
from controller.app import create_app
from controller.audit import AuditEntry, verify_database
from controller.blocking.control import OWN_EMISSION_AFTERGLOW_S
from controller.blocking.policy import PolicyConfig
from controller.events import LifecycleEvent
from controller.sighting import Sighting
from tests.controller.conftest import write_config
from tests.controller.test_api import login, make_user


@pytest.fixture
def client(world):
    controller = world.start(with_ingest=False)
    with TestClient(create_app(controller)) as test_client:
        yield test_client


def audit_actions(client) -> list[tuple[str, str, str]]:
    controller = client.app.state.controller
    with controller.sessions() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action.like("blocking.%")).order_by(AuditEntry.seq))
        return [(e.actor, e.action, e.target) for e in entries]


def test_an_officer_switches_a_wing_on_and_off_and_it_is_audited(client):
    admin = login(client)
    officer = make_user(client, admin, "officer1", ["officer"])
    on = client.post("/api/blocking/zones/cells-A/on", headers=officer)
    assert on.status_code == 200, on.text
    assert [(c["zone_id"], c["on"], c["units"]) for c in on.json()] == [("cells-A", True, ["BLK-A"])]
    state = client.get("/api/blocking", headers=officer).json()
    assert {z["zone"]: z["on"] for z in state["zones"]}["cells-A"] is True
    assert client.post("/api/blocking/zones/cells-A/off", headers=officer).json()[0]["on"] is False
    assert audit_actions(client) == [
        ("officer1", "blocking.on", "zone:cells-A"),
        ("officer1", "blocking.off", "zone:cells-A"),
    ]
    assert verify_database(client.app.state.controller.engine.url).ok


def test_a_never_block_zone_is_refused_and_the_refusal_audited(client):
    officer = make_user(client, login(client), "officer1", ["officer"])
    refused = client.post("/api/blocking/zones/staff/on", headers=officer)
    assert refused.status_code == 409 and "never blocked" in refused.json()["detail"]
    assert audit_actions(client) == [("officer1", "blocking.refused", "zone:staff")]
    assert not any(z["on"] for z in client.get("/api/blocking", headers=officer).json()["zones"])


def test_viewers_cannot_switch_and_only_an_admin_clears_an_emergency(client):
    admin = login(client)
    viewer = make_user(client, admin, "viewer1", ["viewer"])
    officer = make_user(client, admin, "officer1", ["officer"])
    assert client.post("/api/blocking/zones/cells-A/on", headers=viewer).status_code == 403
    client.post("/api/blocking/zones/cells-A/on", headers=officer)
    off = client.post("/api/blocking/emergency-off", headers=officer)
    assert [(c["zone_id"], c["on"], c["reason"]) for c in off.json()] == [("cells-A", False, "emergency")]
    assert client.post("/api/blocking/zones/cells-A/on", headers=officer).status_code == 409
    assert client.post("/api/blocking/emergency-clear", headers=officer).status_code == 403
    assert client.post("/api/blocking/emergency-clear", headers=admin).status_code == 204
    assert ("admin", "blocking.requested", "zone:*") in audit_actions(client), "clearing the latch is audited"
    assert client.post("/api/blocking/zones/cells-A/on", headers=officer).status_code == 200


def test_a_new_incident_in_a_reactive_zone_switches_it_on_and_its_detections_are_marked_as_own(world):
    controller = world.start(with_ingest=False)
    blocking = controller.blocking
    blocking.policy.config = PolicyConfig(reactive_zones=frozenset({"cells-A"}))
    controller.bus.emit(LifecycleEvent("incident", "new", "inc-1", None, {"zone": "cells-A", "suppressed": False}))
    assert blocking.policy.blocking_zones() == ["cells-A"]
    heard = Sighting(0.0, 1.0, 897e6, 200e3, "gsm", "B8", ("Vodafone",), "A-0-01", "A", 0, "cells-A", 0.9, "rss")
    assert blocking.own_emission(heard) == "blocker BLK-A on over cells-A in B8"
    assert controller.suppressor.reason(heard).startswith("own emission: blocker BLK-A")
    elsewhere = Sighting(0.0, 1.0, 897e6, 200e3, "gsm", "B8", ("Vodafone",), None, None, None, "staff", 0.9, "rss")
    assert blocking.own_emission(elsewhere) is None
    # switched off at t = 100 s: a detection that began while it was on is reported and located later, still its own
    off_s = 100.0
    blocking.policy.request_off("cells-A", "officer1", off_s)
    assert blocking.policy.blocking_zones() == []
    began_on = replace(heard, start_s=off_s - 3.0, end_s=off_s - 2.0)
    assert blocking.own_emission(began_on) == "blocker BLK-A on over cells-A in B8"
    began_off = replace(heard, start_s=off_s + OWN_EMISSION_AFTERGLOW_S + 0.5, end_s=off_s + 3.0)
    assert blocking.own_emission(began_off) is None, "begun once the unit was off: not its emission"


def test_a_known_phone_heard_again_switches_an_idle_reactive_zone_on_but_never_prolongs_blocking(world):
    """A phone whose incident predates the zone's last blocking (a brief burst a minute before its data
    session, in `cellward bench blocking`) raises no new incident when it becomes active: its incident's
    update with more activity switches the zone on. While the zone blocks, more activity of known phones
    (those it put out of service try access now and then) does not hold it on; an officer's step (no new
    activity) switches nothing."""
    controller = world.start(with_ingest=False)
    blocking, policy = controller.blocking, controller.blocking.policy
    policy.config = PolicyConfig(reactive_zones=frozenset({"cells-A"}), reactive_hold_s=15.0, reactive_cooldown_s=5.0)
    state = {"zone": "cells-A", "suppressed": False, "activity_count": 1}

    def update(activity_count: int) -> None:
        after = {**state, "activity_count": activity_count}
        controller.bus.emit(LifecycleEvent("incident", "update", "inc-1", state, after))

    update(1)
    assert policy.blocking_zones() == [], "an officer's step on the incident is no phone activity"
    update(2)
    assert policy.blocking_zones() == ["cells-A"]
    hold_until_s = policy.state["cells-A"].hold_until_s
    blocking.clock = lambda: controller.clock() + 10.0
    update(3)
    assert policy.state["cells-A"].hold_until_s == hold_until_s, "activity of a known phone does not extend the hold"
    controller.bus.emit(LifecycleEvent("incident", "new", "inc-2", None, state))
    assert policy.state["cells-A"].hold_until_s > hold_until_s, "a new phone in the zone does"


def test_a_daily_schedule_from_the_config_switches_its_zone_by_the_clock(world, tmp_path, database_url, mosquitto):
    windows = [
        {"zone": "cells-A", "start": "19:30", "end": "07:30"},
        {"zone": "staff", "start": "00:00", "end": "23:59"},
    ]
    world.config_path = write_config(tmp_path, database_url, mosquitto.port, blocking={"schedules": windows})
    blocking = world.start(with_ingest=False).blocking

    def tick_at(hour: float) -> list[tuple[str, bool, str]]:
        changes = blocking.act("system", "tick", "*", lambda now: blocking.policy.tick(now, hour * 3600))
        return [(c.zone_id, c.on, c.reason) for c in changes]

    assert tick_at(12) == []
    assert tick_at(23) == [("cells-A", True, "schedule")]  # the staff zone is never blocked, scheduled or not
    assert tick_at(3) == []
    assert tick_at(8) == [("cells-A", False, "schedule")]


@pytest.mark.parametrize(
    ("blocking", "where"),
    [
        ({"schedules": [{"zone": "cells-Z", "start": "19:30", "end": "07:30"}]}, "schedules[0].zone"),
        ({"reactive_zones": ["cells-A", "cells-Z"]}, "reactive_zones[1]"),
    ],
)
def test_a_zone_the_site_lacks_is_a_configuration_error(world, tmp_path, database_url, mosquitto, blocking, where):
    world.config_path = write_config(tmp_path, database_url, mosquitto.port, blocking=blocking)
    with pytest.raises(ConfigError, match=rf"blocking\.{re.escape(where)}: no zone 'cells-Z'"):
        world.start(with_ingest=False)
