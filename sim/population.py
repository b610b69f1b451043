"""A scenario's population: contraband phones in cells, staff phones in authorised zones, phones on the
road, placed and given activities by the seed (for load tests and demos that need many phones)."""

from __future__ import annotations

import numpy as np
from cellward.site import Site

from sim.scenario import Activity, Phone, Place, Population, Waypoint

CONTRABAND_KINDS = ("gsm_call", "gsm_sms", "lte_data", "lte_idle", "nr_data", "gsm_call")
STAFF_KINDS = ("lte_data", "lte_idle")
ROAD_SPEED_M_S = 1.4  # walking pace along the outside of the wall


class PopulationError(ValueError):
    """The site has no room of the kind the population asks for."""


def _activity(kind: str, start_s: float, duration_s: float, rng: np.random.Generator) -> Activity:
    begin = start_s + float(rng.uniform(0, max(0.0, duration_s - start_s) * 0.3))
    return Activity(kind=kind, start_s=begin, duration_s=max(1.0, duration_s - begin), period_s=20.0)


def population_phones(site: Site, population: Population, duration_s: float, seed: int) -> list[Phone]:
    """The phones of a population, deterministic for a seed."""
    rng = np.random.default_rng([seed, 0x9090])
    phones: list[Phone] = []
    cells = [r.id for r in site.cells]
    authorised = {z.id for z in site.zones if z.phones_authorised}
    staff_rooms = [r.id for r in site.rooms if r.zone in authorised]
    roads = [r for r in site.rooms if r.kind == "road"]
    wanted = (("contraband", population.contraband, cells), ("staff", population.staff, staff_rooms))
    for label, count, rooms in wanted:
        if count and not rooms:
            raise PopulationError(f"population.{label}: site {site.name} has no rooms for {label} phones")
        kinds = CONTRABAND_KINDS if label == "contraband" else STAFF_KINDS
        for k in range(count):
            kind = kinds[int(rng.integers(len(kinds)))]
            phones.append(
                Phone(
                    id=f"{label}-{k}",
                    place=Place(at=str(rooms[int(rng.integers(len(rooms)))])),
                    activities=[_activity(kind, population.start_s, duration_s, rng)],
                )
            )
    if population.road and not roads:
        raise PopulationError(f"population.road: site {site.name} has no room of kind 'road'")
    for k in range(population.road):
        road = roads[int(rng.integers(len(roads)))]
        xs, ys = zip(*road.polygon, strict=True)
        y = float(rng.uniform(min(ys), max(ys)))
        z = road.landing * site.floor_height_m + 1.5
        length = max(xs) - min(xs)
        phones.append(
            Phone(
                id=f"road-{k}",
                path=[
                    Waypoint(t_s=0.0, position=(min(xs), y, z)),
                    Waypoint(t_s=max(1.0, length / ROAD_SPEED_M_S), position=(max(xs), y, z)),
                ],
                activities=[_activity("lte_data", population.start_s, duration_s, rng)],
            )
        )
    return phones
