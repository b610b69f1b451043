"""Phones behave like phones: TDMA and LTE patterns, operator blocks, power control, moving paths."""

from __future__ import annotations

import numpy as np
import pytest

from dsp.band_plan import BandPlan
from sim.power_control import UE_LIMITS_DBM, tx_power_dbm
from sim.signals import gsm
from sim.world import gsm_control_channel_hz

PHONE = """\
name: t
seed: 2
duration_s: {duration}
serving_cells: [{{operator: Vodafone, position: [{mast}, 0, 25]}}, {{operator: O2, position: [{mast}, 0, 25]}}]
phones:
  - id: p
    {network}
    place: {{position: [2, 1, 1.5]}}
    activities: [{activities}]
"""


def phone(duration: float, activities: str, network: str = "band: B8", mast: float = 1500.0) -> str:
    return PHONE.format(duration=duration, activities=activities, network=network, mast=mast)


def test_gsm_call_sends_one_burst_per_tdma_frame_with_sacch_and_the_idle_frame(make_world) -> None:
    world = make_world(phone(1.2, "{kind: gsm_call, start_s: 0, duration_s: 1.2}"))
    b = world.bursts
    frames = np.floor(b.start_s / gsm.FRAME_S + 1e-9).astype(int)  # timeslot offset < one frame
    assert np.all(np.diff(b.start_s) > 0)
    assert not np.any(frames % 26 == 25), "frame 25 of every 26-multiframe is idle (the 120 ms gap)"
    assert set(b.channel[frames % 26 == 12]) == {"SACCH"}
    assert len(b) == pytest.approx(1.2 / gsm.FRAME_S * 25 / 26, abs=2), "25 bursts per 26 frames (~208/s)"
    carrier = world.emitters[0]
    block = [blk for band in BandPlan.load().bands for blk in band.blocks if blk.operator == carrier.operator]
    assert any(blk.uplink_low_hz <= f - 100e3 and f + 100e3 <= blk.uplink_high_hz for f in b.freq_hz for blk in block)


def test_gsm_dtx_keeps_only_sacch_and_sid_frames(make_world) -> None:
    world = make_world(phone(1.2, "{kind: gsm_call, start_s: 0, duration_s: 1.2, dtx: true}"))
    assert len(world.bursts) == pytest.approx(1.2 / (26 * gsm.FRAME_S) * 9, abs=3), "8 SID + 1 SACCH per 120 ms"


def test_sms_is_an_access_burst_then_sdcch_blocks(make_world) -> None:
    b = make_world(phone(5, "{kind: gsm_sms, start_s: 0.5}")).bursts
    assert list(b.channel[:1]) == ["RACH"] and b.duration_s[0] == pytest.approx(88 * gsm.BIT_S)
    assert list(b.channel[1:]).count("SDCCH/8") == 40, "ten 4-burst SDCCH blocks"


def test_signalling_is_on_the_operators_control_channel_and_calls_keep_their_own(make_world) -> None:
    """Two phones of one network: their SMS and location update go to its GSM control carrier's uplink (C0,
    where a site's survey and scan focus look), their calls to their own traffic channels."""
    o2 = "band: B8\n    operator: O2"
    text = phone(3, "{kind: gsm_sms, start_s: 0.1}, {kind: gsm_call, start_s: 1.5, duration_s: 1}", o2)
    text += """  - id: q
    band: B8
    operator: O2
    place: {position: [4, 1, 1.5]}
    activities: [{kind: gsm_location_update, start_s: 0.2}, {kind: gsm_call, start_s: 1.5, duration_s: 1}]
"""
    world = make_world(text)
    b = world.bursts
    control_hz = gsm_control_channel_hz(BandPlan.load(), world.seed, "O2", "B8")
    signalling = np.isin(b.channel, ["RACH", "SDCCH/8"])
    assert signalling.sum() == 1 + 40 + 1 + 24, "both phones' access bursts and SDCCH blocks"
    assert np.all(b.freq_hz[signalling] == pytest.approx(control_hz)), "all of it on O2's control channel"
    traffic = np.isin(b.channel, ["TCH/F", "SACCH"])
    for emitter in (0, 1):
        own = b.emitter[traffic] == emitter
        assert own.any() and not np.all(b.freq_hz[traffic][own] == pytest.approx(control_hz)), "calls elsewhere"


def test_lte_data_has_pusch_pucch_at_both_edges_and_srs(make_world) -> None:
    world = make_world(phone(2, "{kind: lte_data, start_s: 0, duration_s: 2}", "band: B20\n    operator: O2"))
    b, carrier = world.bursts, world.emitters[0]
    assert {"PUSCH", "PUCCH", "SRS"} <= set(b.channel)
    pucch = b.freq_hz[b.channel == "PUCCH"] - carrier.carrier_hz
    assert set(np.round(np.abs(pucch) / 180e3, 1)) == {24.5}, "PUCCH in the outermost RB of a 50-RB carrier"
    assert np.all(np.abs(b.freq_hz - carrier.carrier_hz) + b.bandwidth_hz / 2 <= 4.5e6 + 1), "inside 10 MHz"


def test_lte_idle_sends_prach_then_short_pusch_each_period(make_world) -> None:
    b = make_world(phone(10, "{kind: lte_idle, start_s: 0, duration_s: 10, period_s: 4}")).bursts
    prach = b.start_s[b.channel == "PRACH"]
    assert prach == pytest.approx([0.0, 4.0, 8.0], abs=1e-3), "one tracking-area update per period"
    assert np.all(b.bandwidth_hz[b.channel == "PRACH"] == pytest.approx(1.0475e6))


def test_nr_data_runs_in_n28(make_world) -> None:
    world = make_world(phone(1, "{kind: nr_data, start_s: 0, duration_s: 1}", ""))
    assert world.emitters[0].band == "B28" and np.all((world.bursts.freq_hz > 703e6) & (world.bursts.freq_hz < 733e6))


def test_power_control_lowers_a_phone_near_its_mast_and_clamps_far_away(make_world) -> None:
    near = make_world(phone(0.5, "{kind: lte_data, start_s: 0, duration_s: 0.5}", mast=30.0)).bursts.tx_dbm
    far = make_world(phone(0.5, "{kind: lte_data, start_s: 0, duration_s: 0.5}", mast=30e3)).bursts.tx_dbm
    assert far.max() == UE_LIMITS_DBM[1] and np.median(far) > np.median(near) + 10, "coupling loss sets power"
    gsm_far = make_world(phone(0.2, "{kind: gsm_call, start_s: 0, duration_s: 0.2}", mast=30e3)).bursts.tx_dbm
    assert gsm_far.max() == 33.0, "GSM 900 at most 33 dBm"


def test_pucch_and_prach_follow_their_own_power_targets() -> None:
    tx = tx_power_dbm("lte", np.array(["PUSCH", "PUCCH", "PRACH"], object), np.full(3, 180e3), np.full(3, 100.0), 8e8)
    assert tx == pytest.approx([-90 + 80, -105 + 100, -104 + 100])


def test_a_moving_phone_is_where_its_path_says(make_world) -> None:
    text = phone(4, "{kind: gsm_call, start_s: 0, duration_s: 4}").replace(
        "place: {position: [2, 1, 1.5]}", "path: [{t_s: 0, position: [0, 0, 1.5]}, {t_s: 4, position: [40, 0, 1.5]}]"
    )
    world = make_world(text)
    records = list(world.truth())
    for r in records[:: len(records) // 5]:
        assert r["position_m"][0] == pytest.approx(10 * r["start_s"], abs=0.5), "1 m per 0.1 s along x"


def test_truth_power_is_tx_plus_the_sites_link_gain_plus_fading(make_world, site) -> None:
    world = make_world(phone(0.1, "{kind: gsm_call, start_s: 0, duration_s: 0.1}"))
    record = next(world.truth())
    sensor = site.sensors[1]
    mean = world.model.received_power_dbm(
        record["tx_power_dbm"], tuple(record["position_m"]), sensor, world.emitters[0].carrier_hz,
        shadowing_db=world.model.shadowing_db(tuple(record["position_m"]), sensor.id, world.seed),
    )  # fmt: skip
    assert abs(record["rx_power_dbm"][sensor.id] - mean) < 12, "per-burst fading spreads a few dB about the mean"
    levels = np.array([r["rx_power_dbm"][sensor.id] for r in world.truth()])
    assert abs(levels.mean() - mean) < 1.0 and 1.5 < levels.std() < 4.5, "fading: zero mean, ~3 dB at 200 kHz"


def test_a_population_puts_contraband_in_cells_and_walkers_on_the_road(make_world, site) -> None:
    text = "name: crowd\nseed: 3\nduration_s: 20\npopulation: {contraband: 6, road: 2}\n"
    world = make_world(text)
    rooms: dict[str, set] = {e.id: set() for e in world.emitters}
    for r in world.truth():
        rooms[r["emitter"]].add(r["room"])
    kind = {room.id: room.kind for room in site.rooms}
    contraband = [r for k, v in rooms.items() if k.startswith("contraband") for r in v]
    assert contraband and all(kind[r] == "cell" for r in contraband)
    road = [r for k, v in rooms.items() if k.startswith("road") for r in v]
    assert road and all(r == "ROAD" for r in road), "walkers stay on the road outside the wall"
    again = make_world(text)
    assert [e.id for e in again.emitters] == [e.id for e in world.emitters] and len(again.bursts) == len(world.bursts)


def test_staff_phones_need_rooms_in_an_authorised_zone(make_world) -> None:
    with pytest.raises(ValueError, match=r"population\.staff: site small has no rooms for staff phones"):
        make_world("name: crowd\nseed: 3\nduration_s: 20\npopulation: {staff: 2}\n")
