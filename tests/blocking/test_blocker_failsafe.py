"""A blocker node that loses the controller goes to its fail-safe state on its own, reports it, and comes
back when the controller is heard again; an actuator that fails leaves the unit off and in fault."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tests.blocking.blocker_harness import Controller, make_keys, running_blocker, write_config
from tests.support.mosquitto import MosquittoBroker

ON = {"zone": "cells-A", "bands": ["B8", "B3"], "on": True}


def faults(controller: Controller, kind: str, event: str) -> list[dict]:
    return [f for f in controller.of("faults") if f["kind"] == kind and f["event"] == event]


def test_controller_silence_switches_every_band_off_until_the_controller_is_heard(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    config = write_config(tmp_path, mosquitto.port, failsafe={"state": "off", "timeout_s": 1.5})
    try:
        with running_blocker(config) as unit:
            controller.wait_online()
            assert (
                controller.final_ack(controller.send(controller.command("set_blocking", ON, 1)))["result"] == "applied"
            )
            assert unit.radiating("B8") == 20.0 and unit.radiating("B3") == 15.0
            # the controller now says nothing at all
            controller.wait_for(lambda: faults(controller, "controller_silent", "raised"), "the fail-safe fault")
            assert unit.radiating("B8") is None and unit.radiating("B3") is None, "fail-safe off: every band off"
            raised = faults(controller, "controller_silent", "raised")[0]
            assert (raised["action"], sorted(raised["bands"])) == ("bands_off", ["B3", "B8"])
            controller.wait_for(lambda: controller.state()["mode"] == "failsafe", "the failsafe state")
            assert "no valid command or keepalive" in controller.state()["detail"]
            assert not any(b["on"] for b in controller.state()["bands"])
            controller.wait_for(lambda: controller.of("heartbeat")[-1]["mode"] == "failsafe", "heartbeats go on")
            assert len(faults(controller, "controller_silent", "raised")) == 1, "raised once, not every tick"
            # a keepalive is not answered, but ends the fail-safe; the bands stay off
            acks_before = len(controller.of("ack"))
            controller.send(controller.command("keepalive", {}, 2))
            controller.wait_for(lambda: faults(controller, "controller_silent", "cleared"), "the fault cleared")
            controller.wait_for(lambda: controller.state()["mode"] == "normal", "back to normal")
            assert unit.radiating("B8") is None, "coming back switches nothing on"
            assert len(controller.of("ack")) == acks_before, "an accepted keepalive is not acknowledged"
        controller.check_all_signed_and_valid()
    finally:
        controller.close()


def test_fail_safe_hold_keeps_the_bands_when_the_controller_falls_silent(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    config = write_config(tmp_path, mosquitto.port, failsafe={"state": "off", "timeout_s": 600, "allow_hold": True})
    try:
        with running_blocker(config) as unit:
            controller.wait_online()
            hold = controller.send(controller.command("set_failsafe", {"state": "hold", "timeout_s": 1.0}, 1))
            assert controller.final_ack(hold)["result"] == "applied"
            assert (
                controller.final_ack(controller.send(controller.command("set_blocking", ON, 2)))["result"] == "applied"
            )
            controller.wait_for(lambda: faults(controller, "controller_silent", "raised"), "the fail-safe fault")
            assert faults(controller, "controller_silent", "raised")[0]["action"] == "held"
            assert unit.radiating("B8") == 20.0, "hold keeps what the controller last set"
            assert controller.state()["failsafe"] == {"state": "hold", "timeout_s": 1.0}
    finally:
        controller.close()


def test_broker_loss_switches_the_unit_off_at_once_and_the_node_recovers_after_the_broker_restarts(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    config = write_config(tmp_path, mosquitto.port)  # controller silence alone would take 600 s
    try:
        with running_blocker(config) as unit:
            controller.wait_online()
            assert (
                controller.final_ack(controller.send(controller.command("set_blocking", ON, 1)))["result"] == "applied"
            )
            onlines = controller.onlines()
            mosquitto.stop()
            controller.wait_for(lambda: unit.radiating("B8") is None, "the unit off without the broker")
            assert unit.radiating("B3") is None
            assert unit.node.mode == "failsafe"
            mosquitto.start()
            controller.wait_online(onlines)
            # what the node said while the broker was away arrives, in order, from its spool
            controller.wait_for(lambda: faults(controller, "broker_lost", "raised"), "the broker_lost fault")
            controller.wait_for(lambda: controller.state()["mode"] == "failsafe", "the failsafe state")
            controller.send(controller.command("keepalive", {}, 2))
            controller.wait_for(lambda: controller.state()["mode"] == "normal", "back to normal")
            again = controller.send(controller.command("set_blocking", {**ON, "bands": ["B8"]}, 3))
            assert controller.final_ack(again)["result"] == "applied", "commands work again after the restart"
            assert unit.radiating("B8") == 20.0
        controller.check_all_signed_and_valid()
        heartbeats = controller.of("heartbeat")
        seqs = [h["seq"] for h in heartbeats]
        assert sorted(set(seqs)) == list(range(min(seqs), max(seqs) + 1)), "no heartbeat lost across the outage"
    finally:
        controller.close()


def test_an_actuator_that_fails_answers_failed_and_leaves_the_unit_in_fault(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    try:
        with running_blocker(write_config(tmp_path, mosquitto.port)) as unit:
            controller.wait_online()
            log = tmp_path / "switches.jsonl"
            log.unlink()
            log.mkdir()  # the simulator's switch log can no longer be written: the actuator fails
            first = controller.send(controller.command("set_blocking", ON, 1))
            answer = controller.final_ack(first)
            assert (answer["result"], answer["reason"]) == ("failed", "actuator"), answer
            assert [a["result"] for a in controller.acks(first)] == ["accepted", "failed"]
            controller.wait_for(lambda: controller.state()["mode"] == "fault", "the fault state")
            assert faults(controller, "actuator", "raised")
            refused = controller.final_ack(controller.send(controller.command("set_blocking", ON, 2)))
            assert (refused["result"], refused["reason"]) == ("refused", "fault"), "no switch-on while in fault"
            assert unit.radiating("B8") is None and unit.radiating("B3") is None
            shutil.rmtree(log)  # repaired: the node finds out on its own
            controller.wait_for(lambda: faults(controller, "actuator", "cleared"), "the recovery", timeout_s=30)
            controller.wait_for(lambda: controller.state()["mode"] == "normal", "normal again")
            again = controller.final_ack(controller.send(controller.command("set_blocking", ON, 3)))
            assert again["result"] == "applied"
        controller.check_all_signed_and_valid()
    finally:
        controller.close()


def test_the_controller_gets_the_whole_timeout_from_when_the_nodes_mqtt_session_came_up(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    """A slow start-up (here the broker comes up 3 s after the node) is not a silent controller: the fail-safe
    timeout counts from the node's MQTT session, and the fail-safe still follows a real silence."""
    timeout_s, broker_late_s = 10.0, 3.0
    keys = make_keys(tmp_path)
    config = write_config(tmp_path, mosquitto.port, failsafe={"state": "off", "timeout_s": timeout_s})
    mosquitto.stop()
    with running_blocker(config) as unit:
        started = unit.node.started_at  # when the node was made (wall clock)
        time.sleep(max(0.0, started + broker_late_s - time.time()))
        mosquitto.start()
        controller = Controller(mosquitto.host, mosquitto.port, keys)
        try:
            controller.wait_online()
            # past the timeout counted from the node's start, within the one counted from its session
            while time.time() < started + timeout_s + 1.0:
                assert unit.node.lost is None, f"fail-safe before the controller had its time: {unit.node.lost}"
                time.sleep(0.05)
            controller.send(controller.command("keepalive", {}, 1))
            applied = controller.final_ack(controller.send(controller.command("set_blocking", ON, 2)))
            assert applied["result"] == "applied" and unit.radiating("B8") == 20.0
            # the controller now says nothing: the fail-safe follows on its own
            controller.wait_for(lambda: faults(controller, "controller_silent", "raised"), "the fail-safe", 40)
            assert unit.radiating("B8") is None and unit.radiating("B3") is None, "every band off"
            assert faults(controller, "broker_lost", "raised") == [], "the late broker is no fault either"
        finally:
            controller.close()


def test_a_broker_never_reached_after_start_up_is_reported_with_the_unit_off(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    config = write_config(tmp_path, mosquitto.port, failsafe={"state": "off", "timeout_s": 1.5})
    mosquitto.stop()
    with running_blocker(config) as unit:
        deadline = time.monotonic() + 20
        while unit.node.lost is None:
            assert time.monotonic() < deadline, "no fault while the broker stays away"
            time.sleep(0.05)
        assert unit.node.lost[0] == "broker_lost" and "since start-up" in unit.node.lost[1], unit.node.lost
        assert unit.node.mode == "failsafe" and unit.switched_on() == []
        mosquitto.start()
        controller = Controller(mosquitto.host, mosquitto.port, keys)
        try:
            # the retained state the node spooled while the broker was away says why the unit is off
            # (a newer state may follow it once the node is connected again: look for it among them all)
            named = lambda: [s for s in controller.of("state") if "since start-up" in (s["detail"] or "")]  # noqa: E731
            controller.wait_for(named, "the state naming the missing broker", timeout_s=60)
            assert named()[0]["mode"] == "failsafe"
        finally:
            controller.close()
