"""`cellward bench sim`: how much faster than real time one sensor's IQ is made, on the shipped sites.

The load is a busy evening: phones in cells across the site (GSM calls, LTE and NR data, idle
updates, an SMS), LoRa telemetry, a CW spur and impulses. The sensor is the site's first, tuned at
2.4 MS/s to the band of the busiest GSM/LTE carrier. Real-time factor = simulated seconds / wall seconds
for samples ready to stream (receiver model and 8-bit quantisation included); the number of sensors one
core drives in real time is that factor. Event mode is timed over every sensor of the site.
"""

from __future__ import annotations

import time

import numpy as np
from cellward.site import load_site

from sim.commands import site_path
from sim.events import observations
from sim.feed import SensorFeed
from sim.scenario import Scenario
from sim.world import World

SAMPLE_RATE_HZ = 2.4e6
BLOCK_S = 0.1
KINDS = ("gsm_call", "gsm_call", "lte_data", "lte_data", "nr_data", "lte_idle", "gsm_sms")


def busy_scenario(room_ids: list[str], duration_s: float, phones: int = 24, seed: int = 1) -> Scenario:
    """A scenario with `phones` handsets in rooms drawn from `room_ids`, all active the whole time."""
    rng = np.random.default_rng(seed)
    rooms = rng.choice(room_ids, phones, replace=len(room_ids) < phones)
    items = []
    for k, room in enumerate(rooms):
        kind = KINDS[k % len(KINDS)]
        band = {"gsm_call": "B8", "gsm_sms": "B8", "lte_data": "B8"}.get(kind)
        items.append(
            {
                "id": f"phone-{k}",
                "band": band,
                "place": {"at": str(room)},
                "activities": [{"kind": kind, "start_s": 0.0, "duration_s": duration_s, "period_s": 5.0}],
            }
        )
    first = room_ids[0]
    emitters = [
        {"id": "lora", "kind": "lora", "place": {"at": first}, "freq_hz": 868.1e6, "period_s": 2.0},
        {"id": "spur", "kind": "cw", "place": {"at": first}, "freq_hz": 896.55e6, "power_dbm": -40.0},
        {"id": "sparks", "kind": "impulses", "place": {"at": first}, "freq_hz": 900e6, "period_s": 0.05},
    ]
    return Scenario.model_validate(
        {"name": "bench", "seed": seed, "duration_s": duration_s, "phones": items, "emitters": emitters}
    )


def measure(site_name: str, seconds: float) -> tuple[float, int, int]:
    """(real-time factor, phones, bursts in the window) for one sensor of the named site."""
    site = load_site(site_path(site_name))
    scenario = busy_scenario([r.id for r in site.cells], seconds)
    world = World(site, scenario)
    feed = SensorFeed(world, world.sensors[0].id)
    gsm = [e for e in world.emitters if e.technology == "gsm" and e.band == "B8"]
    centre = gsm[0].carrier_hz if gsm else world.emitters[0].carrier_hz
    block = round(BLOCK_S * SAMPLE_RATE_HZ)
    feed.read_cu8(centre, SAMPLE_RATE_HZ, 0.0, block)  # fill the waveform pools, as a running server has
    began = time.perf_counter()
    for k in range(round(seconds / BLOCK_S)):
        feed.read_cu8(centre, SAMPLE_RATE_HZ, k * BLOCK_S, block)
    elapsed = time.perf_counter() - began
    half = SAMPLE_RATE_HZ / 2
    in_band = world.overlapping(0.0, seconds, centre - half, centre + half).size
    return seconds / elapsed, len(scenario.phones), in_band


def measure_events(site_name: str, seconds: float) -> tuple[int, int, float]:
    """(sensors, observations, simulated seconds per wall second) of event mode over every sensor."""
    site = load_site(site_path(site_name))
    world = World(site, busy_scenario([r.id for r in site.cells], seconds))
    began = time.perf_counter()
    count = sum(1 for _ in observations(world))
    return len(world.sensors), count, seconds / (time.perf_counter() - began)


def run_bench(seconds: float) -> int:
    print(f"IQ for one sensor at {SAMPLE_RATE_HZ / 1e6:g} MS/s, {seconds:g} s simulated, one core:")
    for name in ("small", "reference"):
        factor, phones, bursts = measure(name, seconds)
        print(
            f"  {name:9s} site: {phones} phones, {bursts} bursts in the tuned band: "
            f"{factor:5.1f}x real time -> {int(factor)} sensor(s) per core, {int(2 * factor)} on 2 cores"
        )
    print("Event mode (detections from the propagation model, every sensor of the site):")
    for name in ("small", "reference"):
        sensors, count, factor = measure_events(name, seconds)
        print(f"  {name:9s} site: {sensors} sensors, {count} observations: {factor:6.1f}x real time")
    return 0
