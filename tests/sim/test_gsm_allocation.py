"""The network never puts two phones of one operator on one ARFCN in one timeslot of one frame."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from cellward.site import load_site, reference_site_path
from sim.behaviours.gsm_call import plan as plan_call
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.gsm_allocation import GsmAllocation
from sim.scenario import Activity, load_scenario
from sim.signals import gsm
from sim.world import World

SCENARIOS = Path(__file__).resolve().parents[2] / "sim" / "scenarios"

CARRIER = Carrier("gsm", "B8", "Vodafone", 881.2e6, 200e3, 1, (881.2e6, 881.8e6, 883.6e6))


def _call(seed: int = 3) -> PlannedBursts:
    activity = Activity(kind="gsm_call", start_s=1.0, duration_s=2.0)
    return plan_call(activity, CARRIER, np.random.default_rng(seed))


def _slots(planned) -> np.ndarray:
    return np.round(planned.start_s / gsm.SLOT_S).astype(np.int64)


def test_a_second_call_on_the_same_timeslot_and_hops_is_moved_to_a_free_timeslot() -> None:
    allocation = GsmAllocation()
    first = allocation.assign("Vodafone", CARRIER.centre_hz, _call())
    second = allocation.assign("Vodafone", CARRIER.centre_hz, _call())
    assert np.array_equal(first.start_s, _call().start_s), "the first call keeps what it drew"
    assert not np.isin(_slots(second), _slots(first)).any()
    assert np.array_equal(_slots(second) // 8, _slots(first) // 8), "same frames, so the same hops"
    assert len(set((_slots(second) - _slots(first)) % 8)) == 1, "the whole call moves to one other timeslot"
    other_network = allocation.assign("O2", CARRIER.centre_hz, _call())
    assert np.array_equal(other_network.start_s, _call().start_s), "another operator's network is its own"


def test_random_access_bursts_stay_where_the_phone_sent_them() -> None:
    allocation = GsmAllocation()
    rach = _call()
    rach = replace(rach, channel=np.full(len(rach), "RACH", object))
    allocation.assign("Vodafone", CARRIER.centre_hz, _call())
    assert allocation.assign("Vodafone", CARRIER.centre_hz, rach) is rach


def test_the_reference_evening_has_no_two_calls_on_one_arfcn_and_timeslot() -> None:
    """Its crowd drew two calls of one operator (contraband-5 and contraband-27) onto one timeslot with an
    ARFCN in common: 2,252 bursts on the air from two places at once, which no network sends."""
    world = World(load_site(reference_site_path()), load_scenario(SCENARIOS / "reference-evening.yaml"))
    b = world.bursts
    dedicated = b.channel != "RACH"
    gsm_bursts = dedicated & np.array([world.emitters[e].technology == "gsm" for e in b.emitter])
    assert len({int(e) for e in b.emitter[gsm_bursts]}) > 10, "a crowd with many GSM phones"
    first_owner: dict[tuple, int] = {}
    shared = set()
    for i in np.flatnonzero(gsm_bursts):
        emitter = world.emitters[b.emitter[i]]
        key = (emitter.operator, round(b.start_s[i] / gsm.SLOT_S), round(b.freq_hz[i] / 200e3))
        owner = first_owner.setdefault(key, int(b.emitter[i]))
        if owner != b.emitter[i]:
            shared.add((world.emitters[owner].id, emitter.id))
    assert not shared
