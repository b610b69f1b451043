"""Commands on the sensor's own topic: each is acknowledged, and forged, replayed or stale ones are refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cellward.messages.schema_files import validate_wire
from cellward.recording import open_recording
from cellward.signing import NodeKey, sign_message, verify_message
from tests.sensors.harness import GSM_CARRIER_HZ, Listener, make_keys, running_node, write_config
from tests.support.mosquitto import MosquittoBroker

BCCH_HZ = 942.4e6


def _acks(listener: Listener, command_id: str) -> list[dict]:
    return [m for m in listener.of("state") if m["id"] == command_id]


def _final(listener: Listener, command_id: str, timeout_s: float = 20) -> dict:
    def finished(lst: Listener) -> bool:
        return any(a["result"] in ("done", "rejected", "failed") for a in _acks(lst, command_id))

    listener.wait_for(finished, timeout_s, f"the answer to command {command_id}")
    return next(a for a in _acks(listener, command_id) if a["result"] in ("done", "rejected", "failed"))


def test_every_command_is_acknowledged_and_acted_on(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    keys = make_keys(tmp_path)
    scene = {
        "kind": "scene",
        "ppm": 17.3,
        "emitters": [
            {"technology": "gsm_call", "freq_hz": GSM_CARRIER_HZ, "snr_db": 25},
            {"technology": "gsm_bcch", "freq_hz": BCCH_HZ, "snr_db": 20},
        ],
    }
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(write_config(tmp_path, mosquitto.port, source=scene)) as running:
            listener.wait_for(lambda lst: lst.of("detections"), 30, "scanning to start")
            pause = listener.publish_command(keys, "pause", {"duration_s": None}, seq=1)
            assert _final(listener, pause)["result"] == "done"
            listener.wait_for(lambda lst: lst.of("status")[-1]["state"] == "paused", 5, "status paused")
            resume = listener.publish_command(keys, "resume", {}, seq=2)
            assert _final(listener, resume)["result"] == "done"
            gain = listener.publish_command(keys, "set_gain", {"band": "B8", "gain_db": 20.0}, seq=3)
            answer = _final(listener, gain)
            assert answer["result"] == "done" and answer["data"]["gain_db"] == {"B8": 19.7}, (
                f"20 dB snaps to the R820T step 19.7 dB: {answer}"
            )
            calibrate = listener.publish_command(keys, "calibrate", {"reference_hz": BCCH_HZ}, seq=4)
            answer = _final(listener, calibrate)
            assert answer["result"] == "done", answer
            assert abs(answer["data"]["ppm"] - 17.3) < 0.2, f"the dongle runs 17.3 ppm fast: {answer['data']}"
            assert running.node.ppm == answer["data"]["ppm"], "the measured error is applied to later tunings"
            snippet = listener.publish_command(
                keys, "capture_snippet", {"freq_hz": GSM_CARRIER_HZ, "duration_s": 0.5, "reason": "incident 7"}, seq=5
            )
            answer = _final(listener, snippet)
            assert answer["result"] == "done", answer
            # report windows of 2 s from now on: what the 1 s windows hold goes out first, none is lost
            write_config(tmp_path, mosquitto.port, source=scene, reports={"window_s": 2.0})
            reload = listener.publish_command(keys, "reload_config", {}, seq=6)
            assert _final(listener, reload)["result"] == "done"
            reloaded_at = len(listener.of("detections"))
            listener.wait_for(lambda lst: len(lst.of("detections")) >= reloaded_at + 3, 30, "reports after the reload")
            assert running.node.aggregator.window_s == 2.0
    finally:
        listener.close()
    windows = [r["window_s"] for batch in listener.of("detections") for r in batch["reports"] if not r["cut_early"]]
    assert 1.0 in windows and windows[-1] == 2.0, "the reloaded report settings take effect in the running node"
    recording = open_recording(answer["data"]["file"], verify_checksum=True)
    assert recording.num_samples == answer["data"]["samples"] == round(0.5 * 2.4e6)
    assert abs(recording.center_freq_hz - GSM_CARRIER_HZ) < 1.0
    for ack in listener.of("state"):
        validate_wire(ack)
        verify_message(ack, keys.node_ring)
    for command_id in (calibrate, snippet):
        results = [a["result"] for a in _acks(listener, command_id)]
        assert results == ["accepted", "done"], f"slow commands are accepted, then done: {results}"


def test_forged_replayed_stale_and_misaddressed_commands_are_rejected(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    listener = Listener(mosquitto.host, mosquitto.port)
    impostor = NodeKey.generate("controller")
    try:
        with running_node(write_config(tmp_path, mosquitto.port)):
            listener.wait_for(lambda lst: lst.of("status"), 30, "the node to start")
            good = listener.publish_command(keys, "pause", {"duration_s": 1.0}, seq=10)
            assert _final(listener, good)["result"] == "done"
            cases = {
                "replayed": dict(seq=10, id="c-replay"),
                "stale": dict(seq=11, id="c-stale", expires="2020-01-01T00:00:00.000Z"),
                "misaddressed": dict(seq=12, id="c-other", target="s-2"),
                "wrong topic": dict(seq=13, id="c-topic", topic_name="resume"),
                "bad params": dict(seq=14, id="c-params", params={"duration_s": -1}),
                "unknown sender": dict(seq=15, id="c-who", sender="intruder"),
            }
            for case in cases.values():
                changes = dict(case)
                listener.publish_command(keys, "pause", changes.pop("params", {"duration_s": 1.0}), **changes)
            forged = {
                "schema": "cellward.command/1",
                "site": "hmp-test",
                "sender": "controller",
                "ts": "2026-11-23T07:00:00.000Z",
                "seq": 20,
                "command": "pause",
                "id": "c-forged",
                "target": "s-1",
                "expires": "2099-01-01T00:00:00.000Z",
                "params": {"duration_s": None},
            }
            listener.client.publish(
                "cellward/hmp-test/sensor/s-1/cmd/pause/set", json.dumps(sign_message(forged, impostor)), qos=1
            )
            listener.client.publish("cellward/hmp-test/sensor/s-1/cmd/pause/set", b"not json", qos=1)
            details = {}
            for name, changes in {**cases, "forged": {"id": "c-forged"}}.items():
                answer = _final(listener, changes["id"])
                details[name] = answer["detail"]
                assert answer["result"] == "rejected", f"{name} must be rejected: {answer}"
            listener.wait_for(lambda lst: any(a["id"] is None for a in lst.of("state")), 10, "unreadable answered")
            time.sleep(0.2)
    finally:
        listener.close()
    assert "replayed" in details["replayed"]
    assert "expired" in details["stale"]
    assert "not to this sensor" in details["misaddressed"]
    assert "arrived on cmd/resume/set" in details["wrong topic"]
    assert "BadSignature" in details["forged"]
    assert "UnknownSender" in details["unknown sender"]
    # QoS 1 is at least once: a status delivered twice is one message (its seq), as the controller counts it
    paused = {m["seq"] for m in listener.of("status") if m["state"] == "paused"}
    assert len(paused) == 1, "only the one genuine pause may take effect"


def test_command_sent_while_the_node_is_away_is_obeyed_when_it_returns(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    config = write_config(tmp_path, mosquitto.port)
    listener = Listener(mosquitto.host, mosquitto.port)
    try:
        with running_node(config):
            listener.wait_for(lambda lst: lst.of("status"), 30, "the node's first run")
        waiting = listener.publish_command(keys, "pause", {"duration_s": 5.0}, seq=1)
        with running_node(config):
            answer = _final(listener, waiting, timeout_s=30)
    finally:
        listener.close()
    assert answer["result"] == "done", "the broker kept the command for the node's durable session"
