"""A running node, through a real Mosquitto, spends its revisit slots where the controller's signed scan
focus says, and ignores a forged one (observed through its live spectra: one per dwell, with the tuning)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cellward.messages import ScanFocus, scan_focus_topic
from cellward.signing import NodeKey, sign_message
from tests.sensors.harness import GSM_CARRIER_HZ, SITE, Listener, make_keys, running_node, write_config
from tests.sensors.test_commands import _final
from tests.support.mosquitto import MosquittoBroker

FOCUS_HZ = 882.4e6  # a B8 channel with nothing on it, far from the phone's tuning
STREAM_S = 20.0  # long enough for both halves; the test stops the node once it has them


def _publish_focus(listener: Listener, key: NodeKey, seq: int) -> None:
    focus = ScanFocus(site=SITE, sender="controller", ts=time.time(), seq=seq, channels_hz=[FOCUS_HZ], valid_s=60.0)
    payload = json.dumps(sign_message(focus.to_wire(), key))
    listener.client.publish(scan_focus_topic(SITE), payload, qos=1, retain=True).wait_for_publish(5)


def test_revisit_slots_follow_the_controllers_focus_and_not_a_forged_one(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    keys = make_keys(tmp_path)
    listener = Listener(mosquitto.host, mosquitto.port)
    # all of B8 (18 tunings), a revisit every 3rd slot: without a focus they go where the node heard the phone.
    # Short dwells in long slots; and should a loaded machine still make the node take only every other
    # slot, every 3rd of those is a revisit all the same (with every 2nd, none would be).
    scan = {"bands": ["B8"], "revisit_every": 3, "slot_s": 0.3, "dwell_s": 0.04}
    config = write_config(tmp_path, mosquitto.port, scan=scan)
    try:
        with running_node(config) as running:
            listener.wait_for(lambda lst: lst.of("detections"), 60, "the phone to be heard")
            _publish_focus(listener, NodeKey.generate("controller"), seq=1)  # not the controller's key
            stream = listener.publish_command(keys, "stream_spectrum", {"duration_s": STREAM_S}, seq=1)
            assert _final(listener, stream)["result"] == "done"
            time.sleep(5.0)
            forged_frames = len(listener.of("spectrum"))
            _publish_focus(listener, keys.controller, seq=2)
            # taken, then in force from its ts + FOCUS_APPLIES_AFTER_S
            listener.wait_for(lambda _: running.node.focus.at(time.time()) is not None, 10, "the focus in force")
            focused_from = len(listener.of("spectrum")) + 1
            listener.wait_for(lambda lst: len(lst.of("spectrum")) >= focused_from + 14, 30, "dwells under the focus")
            rejected = running.node.focus.rejected
    finally:
        listener.close()
    frames = listener.of("spectrum")
    before, after = frames[:forged_frames], frames[focused_from:]
    assert rejected == 1, "the forged focus is refused and counted"
    # a third of the dwells are revisits; a tuning's regular visits are one slot in 18 (where a node without
    # a valid focus revisits is tested in test_scan_plan: on a loaded machine it hears its phone unevenly)
    assert _share(before, FOCUS_HZ) <= 0.12, "under the forged focus the channel gets its regular visits only"
    assert _share(after, FOCUS_HZ) >= 0.2, "with the focus every revisit slot goes there"
    # the phone's 200 kHz channel straddles two tunings' edge: it counts on both
    assert _share(after, GSM_CARRIER_HZ) <= 0.15


def _share(frames: list[dict], freq_hz: float, half_width_hz: float = 100e3) -> float:
    """The share of dwells whose span reaches the channel `freq_hz` ± `half_width_hz`."""
    assert frames, "no dwells"
    reached = [
        f
        for f in frames
        if f["start_hz"] - half_width_hz <= freq_hz < f["start_hz"] + f["bins"] * f["bin_hz"] + half_width_hz
    ]
    return len(reached) / len(frames)
