"""A sensor follows only its controller's signed, current scan focus for its site; anything else on the
focus topic is refused and counted, and a replayed or older focus does not displace the newer one."""

from __future__ import annotations

import json

import pytest

from cellward.messages import FOCUS_APPLIES_AFTER_S, ScanFocus
from cellward.signing import Keyring, NodeKey, sign_message
from sensors.scan_focus import FocusReceiver

CONTROLLER = NodeKey.generate("controller")
NOW_S = 1000.0
LATER_S = NOW_S + 5.0  # every focus written at NOW_S is in force by then


def _focus(seq: int = 2, channels=(882.4e6,), site: str = "hmp-test", key: NodeKey = CONTROLLER, ts=NOW_S) -> bytes:
    focus = ScanFocus(site=site, sender="controller", ts=ts, seq=seq, channels_hz=list(channels), valid_s=30.0)
    return json.dumps(sign_message(focus.to_wire(), key)).encode()


class Clock:
    def __init__(self) -> None:
        self.now_s = NOW_S

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver(clock: Clock) -> FocusReceiver:
    ring = Keyring()
    ring.add("controller", CONTROLLER.public_b64)
    return FocusReceiver("hmp-test", "s-1", ring, clock)


def test_a_signed_focus_is_held_with_its_expiry_and_only_a_newer_one_replaces_it(receiver: FocusReceiver) -> None:
    assert receiver.receive(_focus(seq=2, channels=(882.4e6, 1745e6)))
    held = receiver.at(LATER_S)
    assert held is not None and held.channels_hz == (882.4e6, 1745e6) and held.expires_s == pytest.approx(1030.0)
    assert not receiver.receive(_focus(seq=2, channels=())), "a retained copy or replay changes nothing"
    assert not receiver.receive(_focus(seq=1, channels=())), "an older focus does not displace a newer one"
    assert receiver.at(LATER_S) == held and receiver.rejected == 0
    assert receiver.receive(_focus(seq=3, channels=()))
    assert receiver.at(LATER_S) is not None and receiver.at(LATER_S).channels_hz == ()


def test_a_focus_is_obeyed_from_its_time_plus_the_delay_every_sensor_shares_the_one_before_until_then(
    receiver: FocusReceiver, clock: Clock
) -> None:
    """Sensors get a focus at different moments; each obeys it only from its ts + FOCUS_APPLIES_AFTER_S, so all
    of them change their revisits at the same slot. A slot worked out late (the event fleet) is looked up by
    its start, not by when it is worked out."""
    assert receiver.receive(_focus(seq=2, channels=(882.4e6,)))
    clock.now_s = NOW_S + 3.0
    assert receiver.receive(_focus(seq=3, channels=(708.2e6,), ts=NOW_S + 3.0))
    assert receiver.at(NOW_S) is None, "the first focus is not in force before its delay"
    first_from = NOW_S + FOCUS_APPLIES_AFTER_S
    assert receiver.at(first_from).channels_hz == (882.4e6,)
    assert receiver.at(NOW_S + 3.0 + FOCUS_APPLIES_AFTER_S - 1e-3).channels_hz == (882.4e6,), "received, not yet due"
    assert receiver.at(NOW_S + 3.0 + FOCUS_APPLIES_AFTER_S).channels_hz == (708.2e6,)
    assert receiver.at(first_from + 1.0).channels_hz == (882.4e6,), "an earlier slot keeps the focus of its time"


def test_once_the_held_focus_expired_a_restarted_controller_counting_from_1_is_followed(
    receiver: FocusReceiver, clock: Clock
) -> None:
    assert receiver.receive(_focus(seq=900))
    clock.now_s = NOW_S + 31
    assert receiver.receive(_focus(seq=1, channels=(708.2e6,), ts=NOW_S + 31))
    assert receiver.at(NOW_S + 35).channels_hz == (708.2e6,)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"\xff not json", "not JSON"),
        (json.dumps({"schema": "cellward.scan_focus/1"}).encode(), "invalid fields"),
        (_focus(site="hmp-other"), "another site"),
        (_focus(key=NodeKey.generate("controller")), "signed by a key not in the ring"),
    ],
)
def test_anything_but_a_valid_focus_for_this_site_is_refused_and_counted(
    receiver: FocusReceiver, payload: bytes, why: str
) -> None:
    assert not receiver.receive(payload), why
    assert receiver.rejected == 1 and receiver.at(LATER_S) is None, why


def test_an_unsigned_focus_is_refused(receiver: FocusReceiver) -> None:
    wire = json.loads(_focus())
    del wire["sig"]
    assert not receiver.receive(json.dumps(wire).encode())
    assert receiver.rejected == 1 and receiver.at(LATER_S) is None
