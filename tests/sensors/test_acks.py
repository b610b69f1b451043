"""A sensor obeys only its controller's signed acks: it forgets what they say is stored, sends again what
they say is missing, and refuses (and counts) every other payload on its ack topic without touching the spool."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from cellward.messages import ControllerAck, StreamAck
from cellward.signing import Keyring, NodeKey, sign_message
from sensors.resend import AckReceiver
from sensors.spool import Spool

DETECTIONS = "cellward.detections/1"
CONTROLLER = NodeKey.generate("controller")
RESEND_AFTER_S = 20.0
NOW_S = 1000.0


def _ack(target: str = "s-1", site: str = "hmp-test", key: NodeKey = CONTROLLER, **stream) -> bytes:
    fields = {"name": DETECTIONS, "through_seq": 0, "highest_seq": 0, "missing": []} | stream
    ack = ControllerAck(site=site, sender="controller", ts=NOW_S, seq=1, target=target, streams=[StreamAck(**fields)])
    return json.dumps(sign_message(ack.to_wire(), key)).encode()


@pytest.fixture
def receiver(tmp_path: Path) -> AckReceiver:
    spool = Spool(tmp_path / "spool.sqlite")
    for _ in range(6):
        spool.enqueue(DETECTIONS, "t", lambda seq: str(seq).encode())
    for message, sent_at in zip(spool.peek(), (900.0,) * 5 + (995.0,), strict=True):
        spool.hold(message.id, sent_at)
    ring = Keyring()
    ring.add("controller", CONTROLLER.public_b64)
    return AckReceiver("hmp-test", "s-1", ring, spool, RESEND_AFTER_S, threading.Event())


def test_an_ack_releases_what_is_stored_and_requeues_gaps_and_tails_lost_once_it_stalls(receiver: AckReceiver) -> None:
    # stored 1-2 and 4; 3 missing; 5 taken by the broker 100 s ago but never seen (lost); 6 sent 5 s ago
    assert receiver.receive(_ack(through_seq=2, highest_seq=4, missing=[3]))
    spool = receiver.spool
    assert spool.depth == 3 and receiver.released == 3, "1, 2 and 4 are stored"
    assert [m.payload for m in spool.peek()] == [b"3"], "5 waits: the controller may still be catching up"
    assert receiver.receive(_ack(through_seq=2, highest_seq=4, missing=[3])), "the same again: it is not"
    assert [m.payload for m in spool.peek()] == [b"3", b"5"], "3 (missing) and 5 (lost tail) go again"
    assert spool.held == 1, "6 may still be on its way"
    assert receiver.wake.is_set(), "requeued messages wake the sender"
    assert receiver.receive(_ack(through_seq=6, highest_seq=6))
    assert spool.depth == 0, "an ack through 6 releases everything"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"not json", "not JSON"),
        (json.dumps({"schema": "cellward.ack/1"}).encode(), "invalid fields"),
        (_ack(target="s-2", through_seq=6, highest_seq=6), "addressed to another sensor"),
        (_ack(site="hmp-other", through_seq=6, highest_seq=6), "another site"),
        (_ack(key=NodeKey.generate("controller"), through_seq=6, highest_seq=6), "signed by a key not in the ring"),
    ],
)
def test_anything_but_a_valid_ack_for_this_sensor_is_refused_and_counted(
    receiver: AckReceiver, payload: bytes, why: str
) -> None:
    assert not receiver.receive(payload), why
    assert receiver.rejected == 1 and receiver.spool.depth == 6 and receiver.spool.held == 6, why


def test_an_unsigned_ack_is_refused(receiver: AckReceiver) -> None:
    wire = json.loads(_ack(through_seq=6, highest_seq=6))
    del wire["sig"]
    assert not receiver.receive(json.dumps(wire).encode())
    assert receiver.spool.depth == 6


def test_a_seq_that_can_never_come_does_not_pin_the_spool(receiver: AckReceiver) -> None:
    """A seq the spool dropped stays missing at the controller forever; what came after it is still released."""
    receiver.spool.release(DETECTIONS, 2)  # 1-2 stored
    receiver.spool.release(DETECTIONS, 3)  # and 3 dropped by the bound, say
    assert receiver.receive(_ack(through_seq=2, highest_seq=6, missing=[3]))
    assert receiver.spool.depth == 0, "4-6 are stored: forgotten although 3 will never arrive"


def test_a_full_missing_list_releases_what_it_shows_stored_and_nothing_beyond_its_last_seq(
    receiver: AckReceiver,
) -> None:
    missing = [3, *range(5, 1004)]  # 1000 listed: the controller may be missing more above 1003
    assert receiver.receive(_ack(through_seq=2, highest_seq=5000, missing=missing))
    assert sorted(int(m.payload) for m in receiver.spool.peek()) == [3, 5], "1, 2, 4 released; 3, 5 again"
    assert receiver.spool.held == 1, "6, listed too, was sent too recently to be judged missing"
