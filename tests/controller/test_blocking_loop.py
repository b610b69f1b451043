"""The whole blocking loop on a real Mosquitto: the controller commands a real blocker node (`sensors/blocker`,
simulator actuator), the simulated world follows the node's switches, and a phone under the unit falls
silent; emergency all-off switches the node off; a node that loses the controller goes to its fail-safe
on its own, and a node that goes silent is taken out of service with an alarm."""

from __future__ import annotations

import time

import pytest
import yaml

from cellward.signing import Keyring
from cellward.site import load_site, small_site_path
from sim.blocking import SACCH_BLOCK_S
from sim.scenario import parse_scenario
from sim.world import World
from tests.blocking.blocker_harness import UNIT, make_keys, running_blocker, write_config
from tests.controller.conftest import wait_for

BANDS = ["B8", "B3"]


@pytest.fixture
def loop(sqlite_world, mosquitto, tmp_path):
    """Controller (ingest on the broker) and the BLK-A node trusting each other's keys; the live world."""
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    keys = make_keys(node_dir)
    keys.controller.save(tmp_path / "controller-signing-key.pem")  # the key the controller signs with
    keyring = Keyring.load(tmp_path / "keyring.json")
    keyring.add(UNIT, keys.node.public_b64)
    keyring.save(tmp_path / "keyring.json")
    config = yaml.safe_load(sqlite_world.config_path.read_text())
    config["blocking"] = {"heartbeat_timeout_s": 1.5, "keepalive_s": 0.3}
    sqlite_world.config_path.write_text(yaml.safe_dump(config))
    node_config = write_config(node_dir, mosquitto.port, failsafe={"timeout_s": 2.0})
    controller = sqlite_world.start()
    scenario = parse_scenario(
        f"""
name: loop
seed: 5
duration_s: 3600
start_utc: "{time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 1))}"
live_blocking: {{switch_log: {node_dir / "switches.jsonl"}}}
phones:
  - {{id: burner, band: B8, place: {{at: A-0-02}}, activities: [{{kind: gsm_call, start_s: 0, duration_s: 3500}}]}}
"""
    )
    world = World(load_site(small_site_path()), scenario)
    with running_blocker(node_config) as node:
        wait_for(lambda: controller.blocking.units.records[UNIT].last_heard_s, what="the node's first heartbeat")
        yield controller, node, world


def sim_now(world: World) -> float:
    return time.time() - world.epoch_s(0.0)


def radiating(world: World) -> list[str]:
    return world.blocking.on_bands(UNIT, sim_now(world))


def test_a_zone_switched_on_radiates_in_the_world_and_its_phone_falls_silent_then_emergency_switches_it_off(loop):
    controller, _, world = loop
    assert world.blocking.jammed_by("burner") == [UNIT]
    policy = controller.blocking.policy
    controller.blocking.act("officer1", "on", "cells-A", lambda now: policy.request_on("cells-A", "officer1", now))
    wait_for(lambda: radiating(world) == sorted(BANDS), what="the unit radiating in the simulated world")
    [(on_s, _)] = world.blocking.intervals(UNIT, "B8")
    assert world.blocking.silent_from("burner", 0.0) == pytest.approx(on_s + 16 * SACCH_BLOCK_S)
    record = controller.blocking.units.records[UNIT]
    wait_for(lambda: (record.last_answer or {}).get("result") == "applied", what="the node's answer recorded")

    controller.blocking.act("officer1", "emergency", "*", lambda now: policy.emergency_all_off("officer1", now))
    wait_for(lambda: radiating(world) == [], what="emergency all-off to reach the unit")
    wait_for(lambda: controller.blocking.units.records[UNIT].reported["bands_on"] == [], what="the node's report")


def test_a_node_that_loses_the_controller_goes_to_its_fail_safe_on_its_own(loop, sqlite_world):
    controller, node, world = loop
    policy = controller.blocking.policy
    controller.blocking.act("officer1", "on", "cells-A", lambda now: policy.request_on("cells-A", "officer1", now))
    wait_for(lambda: radiating(world) == sorted(BANDS), what="the unit on")
    sqlite_world.stop()  # no more keepalives: after its 2 s fail-safe timeout the node switches off
    wait_for(lambda: radiating(world) == [], what="the node's fail-safe (off)")
    assert node.node.mode == "failsafe"


def test_a_node_that_goes_silent_is_taken_out_of_service_with_an_alarm(loop):
    controller, node, world = loop
    policy = controller.blocking.policy
    controller.blocking.act("officer1", "on", "cells-A", lambda now: policy.request_on("cells-A", "officer1", now))
    wait_for(lambda: radiating(world) == sorted(BANDS), what="the unit on")
    node.stop()  # its bands go off and its heartbeats stop
    wait_for(lambda: UNIT in policy.tripped_units, what="the heartbeat interlock")
    assert [a.kind for a in controller.blocking.interlocks.alarms if a.unit_id == UNIT] == ["heartbeat-lost"]
    assert policy.blocking_zones() == [] and radiating(world) == []
