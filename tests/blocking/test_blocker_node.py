"""The blocker node on a real broker: authentic in-policy commands switch the simulated unit; every other
command is refused with its reason, counted, and never reaches the actuator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from cellward.signing import NodeKey, sign_message
from cellward.site import load_site, small_site_path
from sim.blockers import BlockerSwitchboard
from sim.scenario import Scenario
from sim.world import World
from tests.blocking.blocker_harness import UNIT, Controller, make_keys, running_blocker, write_config
from tests.support.mosquitto import MosquittoBroker


def band(state: dict, name: str) -> dict:
    return next(b for b in state["bands"] if b["band"] == name)


def test_authentic_commands_are_accepted_applied_and_radiated_in_the_simulated_world(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    try:
        with running_blocker(write_config(tmp_path, mosquitto.port)) as unit:
            controller.wait_online()
            controller.wait_for(lambda: controller.of("state"), "the first state")
            assert controller.state()["mode"] == "normal" and not any(b["on"] for b in controller.state()["bands"])
            on = controller.send(
                controller.command("set_blocking", {"zone": "cells-A", "bands": ["B8"], "on": True}, 1)
            )
            assert controller.final_ack(on)["result"] == "applied"
            assert [a["result"] for a in controller.acks(on)] == ["accepted", "applied"]
            assert unit.radiating("B8") == 20.0, "B8 radiates at its start power (the limit)"
            assert unit.radiating("B3") is None
            power = controller.send(controller.command("set_power", {"band": "B8", "power_dbm": 12.5}, 2))
            assert controller.final_ack(power)["result"] == "applied"
            assert unit.radiating("B8") == 12.5
            controller.wait_for(lambda: band(controller.state(), "B8")["power_dbm"] == 12.5, "the state to follow")
            b8 = band(controller.state(), "B8")
            assert b8 == {"band": "B8", "on": True, "power_dbm": 12.5, "max_power_dbm": 20.0, "zones": ["cells-A"]}
            controller.wait_for(lambda: controller.of("heartbeat") and controller.of("heartbeat")[-1]["bands_on"], "hb")
            off = controller.send(controller.command("all_off", {"reason": "test"}, 3))
            assert controller.final_ack(off) | {"ts": None, "seq": None, "sig": None} == {
                "schema": "cellward.blocker_ack/1",
                "site": "hmp-test",
                "sender": UNIT,
                "ts": None,
                "seq": None,
                "sig": None,
                "command": "all_off",
                "id": off,
                "result": "applied",
                "reason": None,
                "detail": "every band off (test)",
                "bands_on": [],
            }
            assert unit.radiating("B8") is None
            heartbeat = controller.of("heartbeat")[-1]
            assert heartbeat["mode"] == "normal" and heartbeat["controller_heard"] is not None
            start_s = unit.switchboard.switches()[0].at_s - 1.0
            runs = unit.switchboard.runs(start_s)
        controller.wait_for(lambda: controller.state()["mode"] == "stopped", "the stopped state at exit")
        assert controller.of("availability")[-1]["state"] == "stopped"
        controller.check_all_signed_and_valid()
    finally:
        controller.close()
    assert [(r.bands, r.power_dbm) for r in runs] == [(["B8"], 20.0), (["B8"], 12.5)], "one run per power"
    world = World(load_site(small_site_path()), Scenario(name="switched", duration_s=60, blockers=runs))
    assert sorted(e.id for e in world.emitters) == ["BLK-A/B8", "BLK-A/B8"], "the world radiates what was switched"


def test_every_refused_command_is_answered_with_its_reason_counted_and_never_actuated(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    intruder = NodeKey.generate("intruder")
    impostor = NodeKey.generate("controller")  # right name, wrong key
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    on = {"zone": "cells-A", "bands": ["B8"], "on": True}

    def unsigned(seq: int) -> dict:
        message = controller.command("set_blocking", on, seq)
        del message["sig"]
        return message

    def tampered(seq: int) -> dict:
        message = controller.command("set_blocking", {**on, "on": False}, seq)
        message["params"]["on"] = True
        return message

    cases = [  # (what, payload, topic command or None, reason)
        ("not JSON", b"{switch it on", "set_blocking", "malformed"),
        (
            "fails the schema",
            controller.command("set_blocking", on, 20) | {"params": {"zone": "cells-A"}},
            None,
            "malformed",
        ),
        (
            "a sensor command",
            {**controller.command("set_blocking", on, 21), "schema": "cellward.command/1"},
            None,
            "malformed",
        ),
        ("payload and topic differ", controller.command("set_blocking", on, 22), "all_off", "wrong_topic"),
        ("another unit", controller.command("set_blocking", on, 23, target="BLK-B"), None, "wrong_target"),
        ("another site", controller.command("set_blocking", on, 24, site="hmp-other"), None, "wrong_target"),
        ("unsigned", unsigned(25), None, "unsigned"),
        (
            "unknown sender",
            sign_message(controller.command("set_blocking", on, 26) | {"sender": "intruder"}, intruder),
            None,
            "unknown_sender",
        ),
        ("wrong key", sign_message(controller.command("set_blocking", on, 27), impostor), None, "bad_signature"),
        ("tampered after signing", tampered(28), None, "bad_signature"),
        ("expired", controller.command("set_blocking", on, 29, expires_in_s=-5), None, "expired"),
        (
            "zone not the unit's",
            controller.command("set_blocking", {**on, "zone": "cells-B"}, 30),
            None,
            "out_of_policy",
        ),
        (
            "band not the unit's",
            controller.command("set_blocking", {**on, "bands": ["B8", "B20"]}, 31),
            None,
            "out_of_policy",
        ),
        (
            "power above the limit",
            controller.command("set_power", {"band": "B8", "power_dbm": 20.5}, 32),
            None,
            "out_of_policy",
        ),
        (
            "fail-safe hold forbidden",
            controller.command("set_failsafe", {"state": "hold", "timeout_s": 5}, 33),
            None,
            "out_of_policy",
        ),
        ("replayed seq", controller.command("set_blocking", on, 33), None, "replayed"),  # 33 was just accepted
        ("keepalive replayed", controller.command("keepalive", {}, 10), None, "replayed"),
    ]
    try:
        with running_blocker(write_config(tmp_path, mosquitto.port)) as unit:
            controller.wait_online()
            for what, payload, topic_command, reason in cases:
                answered = len(controller.of("ack"))
                command_id = controller.send(payload, topic_command)
                controller.wait_for(lambda n=answered: len(controller.of("ack")) > n, f"an answer to {what}")
                answer = controller.of("ack")[-1]
                assert (answer["result"], answer["reason"]) == ("refused", reason), f"{what}: {answer}"
                assert answer["id"] == command_id, what
                assert answer["bands_on"] == [], f"{what}: nothing may be on"
                assert unit.switched_on() == [], f"{what} reached the actuator"
            expected: dict[str, int] = {}
            for *_, reason in cases:
                expected[reason] = expected.get(reason, 0) + 1
            controller.wait_for(lambda: controller.of("heartbeat")[-1]["refusals"] == expected, "refusals counted")
            with urllib.request.urlopen(f"http://127.0.0.1:{unit.node.http.port}/metrics") as response:
                families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
            refused = {
                s.labels["reason"]: s.value
                for s in families["cellward_blocker_commands_refused"].samples
                if s.name.endswith("_total")
            }
            assert {r: int(n) for r, n in refused.items() if n} == expected, "/metrics counts what the heartbeat does"
            assert controller.of("heartbeat")[-1]["commands_applied"] == 0
        assert [s for s in unit.switchboard.switches() if s.on] == [], "no refused command was ever actuated"
        controller.check_all_signed_and_valid()
    finally:
        controller.close()


def test_a_replayed_command_is_refused_after_a_restart_too(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    config = write_config(tmp_path, mosquitto.port)
    on = controller.command("set_blocking", {"zone": "cells-A", "bands": ["B3"], "on": True}, 7)
    try:
        with running_blocker(config) as unit:
            controller.wait_online()
            assert controller.final_ack(controller.send(on))["result"] == "applied"
            assert unit.radiating("B3") == 15.0
            controller.send(controller.command("all_off", {"reason": "end of test"}, 8))
            controller.wait_for(lambda: unit.radiating("B3") is None, "B3 off")
        onlines = controller.onlines()
        with running_blocker(config, unit.switchboard) as unit:
            controller.wait_online(onlines)
            switches_before = len(unit.switchboard.switches())
            controller.send(on)
            controller.wait_for(
                lambda: len([a for a in controller.acks(on["id"]) if a["result"] == "refused"]) == 1,
                "the replay refused",
            )
            refused = next(a for a in controller.acks(on["id"]) if a["result"] == "refused")
            assert refused["reason"] == "replayed" and "seq 7 is not above 8" in refused["detail"], refused
            assert unit.radiating("B3") is None
            assert all(not s.on for s in unit.switchboard.switches()[switches_before:]), "a replay never actuates"
    finally:
        controller.close()
    assert json.loads((tmp_path / "switches.jsonl").read_text().splitlines()[-1])["on"] is False


def test_the_blocker_process_stops_on_sigterm_with_every_band_off(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    config = write_config(tmp_path, mosquitto.port, http=None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cellward.cli", "blocker", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        controller.wait_online()
        on = controller.send(controller.command("set_blocking", {"zone": "cells-A", "bands": ["B8"], "on": True}, 1))
        assert controller.final_ack(on)["result"] == "applied"
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0, process.stdout.read().decode() if process.stdout else ""
        controller.wait_for(lambda: controller.state()["mode"] == "stopped", "the stopped state")
        assert not any(b["on"] for b in controller.state()["bands"])
    finally:
        if process.poll() is None:
            process.kill()
        controller.close()
    board = BlockerSwitchboard.load(load_site(small_site_path()), tmp_path / "switches.jsonl")
    assert board.emitting(UNIT, "B8", time.time()) is None, "the simulator sees the unit off after it stopped"


def metric(unit, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{unit.node.http.port}/metrics") as response:
        families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
    return sum(s.value for s in families[name].samples if s.name.endswith("_total"))


def test_keepalives_queued_while_the_node_was_away_are_dropped_without_an_answer(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    controller = Controller(mosquitto.host, mosquitto.port, keys)
    config = write_config(tmp_path, mosquitto.port)
    try:
        with running_blocker(config):
            controller.wait_online()
        onlines = controller.onlines()
        for seq in (1, 2, 3):  # the node is away; its durable session keeps these at the broker
            controller.send(controller.command("keepalive", {}, seq, expires_in_s=0.2))
        time.sleep(0.5)  # let them expire (no timing is asserted)
        with running_blocker(config) as unit:
            controller.wait_online(onlines)
            controller.wait_for(lambda: metric(unit, "cellward_blocker_stale_keepalives") == 3, "3 stale keepalives")
            fresh = controller.command("keepalive", {}, 4)
            forged = sign_message(controller.command("keepalive", {}, 5), NodeKey.generate("controller"))
            controller.send(fresh)
            controller.send(forged)
            answer = controller.final_ack(forged["id"])
            assert (answer["result"], answer["reason"]) == ("refused", "bad_signature"), "other refusals are answered"
            controller.wait_for(lambda: controller.of("heartbeat")[-1]["refusals"] == {"bad_signature": 1}, "counted")
            assert controller.acks("b-1") == controller.acks("b-4") == [], "stale and accepted keepalives: no answer"
    finally:
        controller.close()
