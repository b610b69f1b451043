"""Blocking policy: never-block zones, the two-person rule, reactive holds, limits, emergency all-off
and interlocks, on the shipped reference site."""

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellward.site import Site, load_site, reference_site_path
from controller.blocking.interlocks import Interlocks
from controller.blocking.policy import BlockingPolicy, BlockingRefused, PolicyConfig, Schedule

NEVER = ("staff", "outside", "healthcare")  # never_block in the reference site
HOUR = 3600.0


@cache
def reference() -> Site:
    return load_site(reference_site_path())


def policy(**config) -> BlockingPolicy:
    return BlockingPolicy(reference(), PolicyConfig(**config))


@pytest.mark.parametrize("zone", NEVER)
def test_a_never_block_zone_refuses_a_manual_switch_on(zone: str) -> None:
    blocking = policy()
    with pytest.raises(BlockingRefused, match="never blocked"):
        blocking.request_on(zone, "officer1", 0.0)
    assert blocking.blocking_zones() == []


def test_a_wing_switches_on_and_off_by_hand_and_commands_its_unit() -> None:
    blocking = policy()
    change = blocking.request_on("cells-A", "officer1", 10.0)
    assert (change.on, change.units, change.actor) == (True, ("BLK-A",), "officer1")
    assert blocking.active_units() == {"BLK-A"}
    assert blocking.request_off("cells-A", "officer1", 20.0).on is False
    assert blocking.active_units() == set()


def test_a_sensitive_zone_needs_a_second_person() -> None:
    blocking = policy()
    blocking.units_of["visits"] = ("BLK-A",)  # the reference site has no unit over the visits hall
    assert blocking.request_on("visits", "officer1", 0.0) is None, "waits for approval"
    assert blocking.blocking_zones() == []
    with pytest.raises(BlockingRefused, match="two-person rule"):
        blocking.approve("visits", "officer1", 1.0)
    change = blocking.approve("visits", "authoriser1", 2.0)
    assert change.on and change.actor == "officer1+authoriser1"


def test_reactive_mode_holds_then_rests() -> None:
    blocking = policy(reactive_zones=frozenset({"cells-B"}), reactive_hold_s=120, reactive_cooldown_s=300)
    assert blocking.phone_activity("cells-B", 100.0).on
    assert blocking.phone_activity("cells-B", 150.0) is None, "already on: the hold is extended"
    assert blocking.tick(260.0, 0.0) == [], "hold extended to 150 + 120 s"
    [ended] = blocking.tick(270.0, 0.0)
    assert (ended.on, ended.reason) == (False, "hold-ended")
    assert blocking.phone_activity("cells-B", 300.0) is None, "resting after a hold"
    assert blocking.phone_activity("cells-B", 571.0).on, "cooldown over at 270 + 300 s"


def test_no_zone_stays_on_longer_than_the_maximum() -> None:
    blocking = policy(max_on_s=1800)
    blocking.request_on("cells-C", "officer1", 0.0)
    assert blocking.tick(1799.0, 0.0) == []
    [off] = blocking.tick(1800.0, 0.0)
    assert (off.on, off.reason) == (False, "max-on-time")


def test_schedules_switch_on_and_off_but_never_a_never_block_zone() -> None:
    night = (Schedule("cells-D", 22 * HOUR, 6 * HOUR), Schedule("staff", 22 * HOUR, 6 * HOUR))
    blocking = policy(schedules=night)
    changes = blocking.tick(0.0, 23 * HOUR)
    assert [(c.zone_id, c.on) for c in changes] == [("cells-D", True)]
    assert [(c.zone_id, c.on) for c in blocking.tick(10.0, 7 * HOUR)] == [("cells-D", False)]


def test_emergency_all_off_switches_everything_off_and_holds_until_cleared() -> None:
    blocking = policy(reactive_zones=frozenset({"cells-A"}))
    blocking.request_on("cells-B", "officer1", 0.0)
    blocking.phone_activity("cells-A", 1.0)
    changes = blocking.emergency_all_off("admin1", 2.0)
    assert {c.zone_id for c in changes} == {"cells-A", "cells-B"} and not any(c.on for c in changes)
    with pytest.raises(BlockingRefused, match="emergency"):
        blocking.request_on("cells-B", "officer1", 3.0)
    assert blocking.phone_activity("cells-A", 4.0) is None
    blocking.clear_emergency("admin1")
    assert blocking.request_on("cells-B", "officer1", 5.0).on


def test_a_leaking_unit_is_switched_off_at_the_perimeter_reading_and_alarms() -> None:
    blocking = policy()
    interlocks = Interlocks(blocking, leak_limit_dbm=-70.0)
    blocking.request_on("cells-A", "officer1", 0.0)
    blocking.request_on("cells-C", "officer1", 0.0)
    assert interlocks.perimeter_reading("PER-E", -75.0, 5.0) == [], "below the limit"
    [off] = interlocks.perimeter_reading("PER-NE", -60.0, 6.0)
    assert (off.zone_id, off.on, off.at_s) == ("cells-A", False, 6.0), "switched off at the reading itself"
    assert [a.unit_id for a in interlocks.alarms] == ["BLK-A"]
    assert blocking.active_units() == {"BLK-C"}, "the other wing's unit keeps blocking"
    with pytest.raises(BlockingRefused, match="no blocker unit in service"):
        blocking.request_on("cells-A", "officer1", 7.0)


def test_a_lost_heartbeat_takes_the_unit_out_of_service_with_an_alarm() -> None:
    blocking = policy()
    interlocks = Interlocks(blocking, heartbeat_timeout_s=10.0)
    for unit in ("BLK-A", "BLK-B"):
        interlocks.heartbeat(unit, 0.0)
    blocking.request_on("cells-A", "officer1", 0.0)
    interlocks.heartbeat("BLK-B", 9.0)
    assert interlocks.check_heartbeats(9.0) == []
    [off] = interlocks.check_heartbeats(10.5)
    assert (off.zone_id, off.on) == ("cells-A", False)
    assert [(a.unit_id, a.kind) for a in interlocks.alarms] == [("BLK-A", "heartbeat-lost")]
    assert interlocks.check_heartbeats(12.0) == [] and len(interlocks.alarms) == 1, "one alarm, not one a second"


ZONES = ("cells-A", "cells-B", "cells-C", "cells-D", "hub", "exercise", "visits", *NEVER, "nowhere")
ACTIONS = st.tuples(
    st.sampled_from(["on", "off", "approve", "activity", "tick", "emergency", "clear", "trip", "reset"]),
    st.sampled_from(ZONES),
    st.sampled_from(["officer1", "authoriser1"]),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(actions=st.lists(ACTIONS, max_size=40))
def test_no_sequence_of_requests_and_policies_ever_blocks_a_never_block_zone(actions) -> None:
    blocking = policy(
        reactive_zones=frozenset(ZONES),
        schedules=tuple(Schedule(z, 0.0, 24 * HOUR) for z in ZONES),
    )
    for unit in NEVER:  # even a unit wrongly configured over a never-block zone must not be used
        blocking.units_of[unit] = ("BLK-A",)
    now = 0.0
    for action, zone, actor in actions:
        now += 7.0
        try:
            match action:
                case "on":
                    blocking.request_on(zone, actor, now)
                case "off":
                    blocking.request_off(zone, actor, now)
                case "approve":
                    blocking.approve(zone, actor, now)
                case "activity":
                    blocking.phone_activity(zone, now)
                case "tick":
                    blocking.tick(now, now % (24 * HOUR))
                case "emergency":
                    blocking.emergency_all_off(actor, now)
                case "clear":
                    blocking.clear_emergency(actor)
                case "trip":
                    blocking.trip_unit("BLK-A", "test", now)
                case "reset":
                    blocking.reset_unit("BLK-A")
        except BlockingRefused:
            pass
        assert not set(blocking.blocking_zones()) & set(NEVER), f"after {action} {zone} by {actor}"
        if blocking.emergency_by is not None:
            assert blocking.blocking_zones() == [], "nothing blocks during an emergency all-off"


def test_a_reading_two_units_could_cause_switches_both_off() -> None:
    blocking = policy()
    interlocks = Interlocks(blocking, leak_limit_dbm=-95.0)
    for zone in ("cells-A", "cells-D", "cells-B"):
        blocking.request_on(zone, "officer1", 0.0)
    changes = interlocks.perimeter_reading("PER-E", -80.0, 5.0)  # east wall: as near to BLK-A as to BLK-D
    assert {c.zone_id for c in changes} == {"cells-A", "cells-D"}, "one reading cannot tell them apart: both off"
    assert blocking.active_units() == {"BLK-B"}, "the west wing's unit is not a suspect"
