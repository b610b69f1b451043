"""Live blocking in the simulator: units switched while the world runs radiate noise (with uplink leakage),
phones under them fall silent after their radio-link failure delay and only try access until it stops."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

import numpy as np
import pytest

from cellward.site import Site, load_site, reference_site_path
from sim.blocking import SACCH_BLOCK_S
from sim.events import observations
from sim.scenario import parse_scenario
from sim.world import World

ON_S = 10.0


@cache
def reference() -> Site:
    return load_site(reference_site_path())


def live_world(extra: str = "", live: str = "{}") -> World:
    text = f"""
name: live
seed: 3
duration_s: 60
live_blocking: {live}
phones:
  - {{id: gsm, band: B8, place: {{at: A-1-14}}, activities: [{{kind: gsm_call, start_s: 1, duration_s: 55}}]}}
  - {{id: lte, band: B20, place: {{at: A-1-14}}, activities: [{{kind: lte_data, start_s: 1, duration_s: 55}}]}}
  - {{id: far, band: B20, place: {{at: D-1-10}}, activities: [{{kind: lte_data, start_s: 1, duration_s: 55}}]}}
{extra}"""
    return World(reference(), parse_scenario(text))


def on_air(world: World, start_s: float, end_s: float) -> Counter:
    """(emitter, channel) of the bursts on the air starting in [start_s, end_s)."""
    b = world.bursts
    ids = world.starting(start_s, end_s)
    return Counter((world.emitters[b.emitter[i]].id, str(b.channel[i])) for i in ids)


def phone_traffic(counts: Counter, phone: str) -> int:
    return sum(n for (emitter, channel), n in counts.items() if emitter == phone and not channel.endswith("-retry"))


def test_phones_under_a_unit_fall_silent_after_their_radio_link_failure_delay_and_recover() -> None:
    world = live_world()
    blocking = world.blocking
    assert blocking.jammed_by("gsm") == ["BLK-A"] and blocking.jammed_by("lte") == ["BLK-A"]
    assert blocking.jammed_by("far") == ["BLK-D"], "a D-wing phone is out of BLK-A's reach"
    blocking.switch("BLK-A", ["B28", "B20", "B8", "B3"], True, ON_S)
    lte_silent = ON_S + 0.2 + 1.0  # Qout evaluation + T310
    gsm_silent = ON_S + 16 * SACCH_BLOCK_S  # RADIO_LINK_TIMEOUT 16 SACCH blocks
    assert blocking.silent_from("lte", 1.0) == pytest.approx(lte_silent)
    assert blocking.silent_from("gsm", 1.0) == pytest.approx(gsm_silent)
    assert blocking.silent_from("far", 1.0) is None
    before = on_air(world, lte_silent - 0.5, lte_silent - 0.01)
    assert phone_traffic(before, "lte") > 0 and phone_traffic(before, "gsm") > 0, "still in service"
    during = on_air(world, gsm_silent + 0.01, 40.0)
    assert phone_traffic(during, "lte") == 0 and phone_traffic(during, "gsm") == 0, "silent but for access"
    assert phone_traffic(during, "far") > 0, "out of reach: unaffected"
    retries = {channel for (emitter, channel) in during if emitter in ("gsm", "lte")}
    assert retries == {"RACH-retry", "PRACH-retry"}, "they keep trying access now and then"
    assert on_air(world, ON_S + 0.05, ON_S + 0.15)[("BLK-A/B8/ul", "blocker-segment")] == 1, "uplink leakage"
    blocking.switch("BLK-A", ["B28", "B20", "B8", "B3"], False, 40.0)
    assert phone_traffic(on_air(world, 42.0, 42.9), "lte") == 0, "still searching for the cell"
    after = on_air(world, 43.1, 50.0)
    assert phone_traffic(after, "lte") > 0 and phone_traffic(after, "gsm") > 0, "back in service"
    assert not any(channel.endswith("-retry") for (_, channel) in after)
    assert not any(emitter.startswith("BLK-A") for (emitter, _) in after), "the unit's noise stopped"


def test_a_short_switch_on_takes_no_phone_out_of_service() -> None:
    world = live_world()
    world.blocking.switch("BLK-A", ["B8"], True, ON_S)
    world.blocking.switch("BLK-A", ["B8"], False, ON_S + 1.0)  # shorter than the GSM radio-link timeout
    assert world.blocking.silent_from("gsm", 1.0) is None
    assert phone_traffic(on_air(world, ON_S, ON_S + 5.0), "gsm") > 0


def test_a_perimeter_sensor_hears_a_leaking_unit_outside_the_wall_and_not_a_healthy_one() -> None:
    def uplink_leakage_heard(world: World) -> list[float]:
        world.blocking.switch("BLK-A", ["B28", "B20", "B8", "B3"], True, ON_S)
        heard = observations(world, ON_S, ON_S + 1.0, sensor_ids=["PER-NE"])
        return [o.power_dbm for o in heard if world.emitters[world.bursts.emitter[o.burst_id]].id.endswith("/ul")]

    assert uplink_leakage_heard(live_world()) == [], "-45 dBc of leakage stays under the noise outside the wall"
    leaky = uplink_leakage_heard(live_world(live="{unit_leakage_dbc: {BLK-A: -5}}"))
    limit = -95.0  # the controller's default leak_limit_dbm
    assert len(leaky) >= 10 and min(leaky) > limit, f"a failed output filter is heard outside the wall: {leaky[:4]}"


def test_the_world_follows_the_switch_log_simulated_blocker_nodes_write(tmp_path) -> None:
    log = tmp_path / "switches.jsonl"
    world = live_world(live=f"{{switch_log: {log}}}")
    epoch = world.epoch_s(0.0)
    lines = [
        {"unit": "BLK-A", "band": "B20", "on": True, "power_dbm": 20.0, "at_s": epoch + ON_S},
        {"unit": "BLK-A", "band": "B20", "on": False, "power_dbm": 20.0, "at_s": epoch + 30.0},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines) + "not json\n" + '{"unit": "BLK-A"', "utf-8")
    assert world.blocking.is_on("BLK-A", "B20", 20.0) and not world.blocking.is_on("BLK-A", "B20", 31.0)
    assert world.blocking.silent_from("lte", 1.0) == pytest.approx(ON_S + 1.2)
    assert world.blocking.silent_from("gsm", 1.0) is None, "B8 was never switched"


def test_without_live_blocking_the_world_is_planned_as_before() -> None:
    plain = World(
        reference(), parse_scenario(live_world().scenario.model_copy(update={"live_blocking": None}).model_dump_json())
    )
    assert plain.blocking is None
    live = live_world()
    phones = [i for i, e in enumerate(live.emitters) if e.kind == "phone"]
    ours = np.isin(live.bursts.emitter, phones) & ~np.char.endswith(live.bursts.channel.astype(str), "-retry")
    assert np.array_equal(np.sort(live.bursts.start_s[ours]), np.sort(plain.bursts.start_s)), "same phone bursts"
