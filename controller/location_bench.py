"""`cellward bench location`: how often the locator names the right wing, landing and cell, against the
Cramér-Rao bound, for several sensor densities, with and without a model that matches the truth.

Truth. Phones are placed uniformly inside cells (random height in the landing), transmit at a random
power, and every sensor measures level = tx - PL_truth + antenna terms + shadowing_truth + 1 dB of
measurement noise, kept when it is above the sensor's sensitivity. PL_truth comes from a second
`PropagationModel` whose parameters can differ from the locator's (walls and floors lossier than the
locator believes, another path-loss exponent, per-sensor calibration errors); the shadowing is the truth
model's spatially correlated field for one "building" seed, so a calibration survey taken in that building
sees the same shadowing as the phones later do, as in a real prison.

Cramér-Rao bound. With r_s = P - 10 n log10 |p - p_s| + (terms constant in p) + e_s, e_s ~ N(0, sigma^2)
independent across sensors, the unknowns theta = (x, y, P) (the landing, i.e. z, taken as known) have
Fisher information J = (1 / sigma^2) sum_s a_s a_s^T with a_s = (-(10 n / ln 10) (p - p_s)_xy / |p - p_s|^2, 1)
over the sensors that heard the burst; the bound on the horizontal RMS error is sqrt([J^-1]_xx + [J^-1]_yy).
Walls and floors add losses that are piecewise constant in p, so they add nothing to J: the bound is that of
free-space geometry. Non-detections carry information the bound ignores, and the locator's answer is
a room (its error is at least about the cell size), so the two answer different questions; the bound shows
what the geometry and the shadowing allow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from cellward.site import Site, load_site, reference_site_path
from cellward.site.propagation import PropagationModel, PropagationParams

from controller.correlate import HeardEmission
from controller.locate import Locator, room_points
from controller.observations import Observation
from controller.survey import Survey, SurveySample, fit_survey

MEASUREMENT_NOISE_DB = 1.0
SURVEY_TX_DBM = 10.0
SURVEY_POINTS_PER_ROOM = 4
# (technology, centre frequency, bandwidth): GSM 900 bursts and LTE 800 allocations, alternately.
CARRIERS = (("gsm", 897.4e6, 200e3), ("lte", 847.0e6, 1.08e6))


@dataclass
class Tally:
    """Counts of correct answers over the trials of one case."""

    trials: int = 0
    heard: int = 0
    wing: int = 0
    landing: int = 0
    cell: int = 0
    near: int = 0
    errors_m: list[float] = field(default_factory=list)
    crb_m: list[float] = field(default_factory=list)

    def pct(self, n: int) -> float:
        return 100.0 * n / max(1, self.trials)

    @property
    def pct_cell(self) -> float:
        return self.pct(self.cell)

    def add(self, other: Tally) -> None:
        for name in ("trials", "heard", "wing", "landing", "cell", "near"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors_m.extend(other.errors_m)
        self.crb_m.extend(other.crb_m)

    def row(self) -> str:
        """Markdown cells: heard, wing, landing, cell, within one cell, RMS and median error, median CRB."""
        rms = math.sqrt(float(np.mean(np.square(self.errors_m)))) if self.errors_m else math.nan
        median = float(np.median(self.errors_m)) if self.errors_m else math.nan
        # Median, not RMS, for the bound: a burst heard by three nearly collinear sensors has an unbounded CRB.
        crb = float(np.median(self.crb_m)) if self.crb_m else math.nan
        return (
            f"{self.pct(self.heard):.1f} | {self.pct(self.wing):.1f} | {self.pct(self.landing):.1f} | "
            f"{self.pct(self.cell):.1f} | {self.pct(self.near):.1f} | {rms:.1f} | {median:.1f} | {crb:.1f}"
        )


@dataclass(frozen=True)
class Truth:
    """How the simulated building differs from what the locator believes."""

    name: str
    params: PropagationParams
    sensor_error_db: float = 0.0  # spread of uncorrected per-sensor calibration errors


def crb_horizontal_m(
    position: Sequence[float], sensors: Sequence[Sequence[float]], exponent: float, sigma_db: float
) -> float:
    """Cramér-Rao bound (m, horizontal RMS) for RSS location with unknown tx power; inf if under-determined."""
    p = np.asarray(position, dtype=float)
    q = np.asarray(sensors, dtype=float)
    if len(q) < 3:
        return math.inf
    d = p[None, :] - q
    dist2 = np.maximum((d * d).sum(axis=1), 1.0)
    k = 10.0 * exponent / math.log(10.0)
    a = np.column_stack([-k * d[:, 0] / dist2, -k * d[:, 1] / dist2, np.ones(len(q))])
    fisher = a.T @ a / sigma_db**2
    try:
        inv = np.linalg.inv(fisher)
    except np.linalg.LinAlgError:
        return math.inf
    var = inv[0, 0] + inv[1, 1]
    return math.sqrt(var) if var > 0 else math.inf


def random_point_in_room(room, floor_height_m: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """A uniform point inside a room's polygon at a random height between 0.5 m and 2 m above its floor."""
    poly = np.asarray(room.polygon, dtype=float)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    z = room.landing * floor_height_m + rng.uniform(0.5, min(2.0, floor_height_m - 0.2))
    candidates = room_points(room, 0.5)
    for _ in range(50):
        x, y = rng.uniform(lo, hi)
        if any(abs(x - cx) < 0.5 and abs(y - cy) < 0.5 for cx, cy, _ in candidates):
            return float(x), float(y), float(z)
    cx, cy, _ = room.centroid
    return float(cx), float(cy), float(z)


class Building:
    """The simulated truth: a site, its real propagation, its shadowing field, its sensors' real errors."""

    def __init__(self, site: Site, truth: Truth, seed: int, noise_figure_db: float = 7.0):
        self.site = site
        self.truth = truth
        self.seed = seed
        self.model = PropagationModel(site, truth.params)
        rng = np.random.default_rng(seed + 7919)
        self.sensor_error_db = {s.id: float(rng.normal(0.0, truth.sensor_error_db)) for s in site.sensors}
        self.noise_figure_db = noise_figure_db

    def emission(
        self,
        position: tuple[float, float, float],
        tx_dbm: float,
        carrier: tuple[str, float, float],
        sensitivity_dbm: float,
        rng: np.random.Generator,
        t_s: float = 0.0,
    ) -> HeardEmission | None:
        """What the sensors report for one burst; None when no sensor hears it."""
        technology, freq_hz, bw_hz = carrier
        observations = []
        for sensor in self.site.sensors:
            level = self.model.received_power_dbm(
                tx_dbm, position, sensor, freq_hz, shadowing_db=self.model.shadowing_db(position, sensor.id, self.seed)
            )
            level += self.sensor_error_db[sensor.id] + rng.normal(0.0, MEASUREMENT_NOISE_DB)
            if level >= sensitivity_dbm:
                observations.append(Observation(sensor.id, freq_hz, bw_hz, technology, t_s, t_s + 1e-3, float(level)))
        if not observations:
            return None
        observations.sort(key=lambda o: -o.power_dbm)
        return HeardEmission(freq_hz, bw_hz, technology, t_s, t_s + 1e-3, tuple(observations))

    def survey(self, locator: Locator, rng: np.random.Generator, rooms: Sequence | None = None) -> Survey:
        """Walk the survey transmitter through `rooms` (default every cell) and fit the survey."""
        carrier = CARRIERS[0]
        sens = locator.sensitivity_dbm(carrier[2])
        samples = []
        for room in rooms if rooms is not None else self.site.cells:
            for _ in range(SURVEY_POINTS_PER_ROOM):
                pos = random_point_in_room(room, self.site.floor_height_m, rng)
                emission = self.emission(pos, SURVEY_TX_DBM, carrier, sens, rng)
                if emission is not None:
                    samples.append(SurveySample(room.id, pos, SURVEY_TX_DBM, emission))
        return fit_survey(locator, samples)


def neighbours_within_one_cell(site: Site) -> dict[str, set[str]]:
    """Cells on the same wing and landing whose centroids are within 1.5 cell pitches of each other."""
    cells = site.cells
    xy = np.array([c.centroid[:2] for c in cells])
    same = np.array([[a.wing == b.wing and a.landing == b.landing for b in cells] for a in cells])
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    d[~same] = np.inf
    np.fill_diagonal(d, np.inf)
    pitch = float(np.median(d.min(axis=1)))
    return {c.id: {cells[j].id for j in np.flatnonzero(d[i] <= 1.5 * pitch)} for i, c in enumerate(cells)}


def run_case(
    building: Building,
    locator: Locator,
    trials_per_cell: int,
    rng: np.random.Generator,
    neighbours: dict[str, set[str]],
) -> Tally:
    tally = Tally()
    site = building.site
    sensor_pos = {s.id: s.position for s in site.sensors}
    for k in range(trials_per_cell):
        for room in site.cells:
            carrier = CARRIERS[k % len(CARRIERS)]
            pos = random_point_in_room(room, site.floor_height_m, rng)
            tx_dbm = float(rng.uniform(0.0, 23.0))
            emission = building.emission(pos, tx_dbm, carrier, locator.sensitivity_dbm(carrier[2]), rng)
            tally.trials += 1
            if emission is None:
                continue
            tally.heard += 1
            loc = locator.locate(emission)
            tally.wing += loc.wing == room.wing
            tally.landing += loc.wing == room.wing and loc.landing == room.landing
            tally.cell += loc.cell_id == room.id
            tally.near += loc.cell_id == room.id or loc.cell_id in neighbours[room.id]
            tally.errors_m.append(math.dist(loc.position[:2], pos[:2]))
            heard = [sensor_pos[o.sensor_id] for o in emission.observations]
            tally.crb_m.append(
                crb_horizontal_m(
                    pos[:2], [h[:2] for h in heard], building.truth.params.exponent, building.truth.params.sigma_db
                )
            )
    return tally


def thinned(site: Site, keep: Callable[[int], bool]) -> Site:
    """The site with only the sensors whose index passes `keep`."""
    return site.model_copy(update={"sensors": [s for i, s in enumerate(site.sensors) if keep(i)]})


def densified(site: Site) -> Site:
    """The site with one extra internal sensor at the middle of every landing room that has none."""
    sensors = list(site.sensors)
    taken = {site.room_at(*s.position).id for s in sensors if site.room_at(*s.position) is not None}
    template = next(s for s in sensors if s.role == "internal")
    for room in site.rooms:
        if room.kind == "landing" and room.id not in taken:
            x, y, _ = room.centroid
            z = room.landing * site.floor_height_m + 2.5
            sensors.append(template.model_copy(update={"id": f"extra-{room.id}", "position": (x, y, z)}))
    return site.model_copy(update={"sensors": sensors})


def truths(base: PropagationParams) -> list[Truth]:
    """The shared model, and buildings that differ from what the locator believes."""

    def vary(**changes) -> PropagationParams:
        return base.model_copy(update=changes)

    return [
        Truth("shared model", base),
        Truth("walls +4 dB, floors +5 dB", _lossier(base, 4.0, 5.0)),
        Truth("path-loss exponent +0.4", vary(exponent=base.exponent + 0.4)),
        Truth(
            "walls -3 dB, exponent -0.3, sensor errors 3 dB",
            _lossier(base, -3.0, 0.0, exponent=base.exponent - 0.3),
            3.0,
        ),
    ]


def _lossier(base: PropagationParams, wall_db: float, floor_db: float, **extra) -> PropagationParams:
    return base.model_copy(
        update={"wall_loss_db": base.wall_loss_db + wall_db, "floor_loss_db": base.floor_loss_db + floor_db, **extra}
    )


def run_location_bench(trials_per_cell: int = 3, seeds: int = 2) -> int:
    """Print the location accuracy table (markdown) for docs/benchmarks.md."""
    site = load_site(reference_site_path())
    base = PropagationParams()
    densities = [
        ("sparse (every other sensor)", thinned(site, lambda i: i % 2 == 0)),
        ("default", site),
        ("dense (+1 per landing)", densified(site)),
    ]
    print(
        f"reference site {site.name}: {len(site.cells)} cells, {len(site.rooms)} rooms; "
        f"{trials_per_cell} phones per cell x {seeds} buildings per case; phones 0-23 dBm, GSM 900 and LTE 800; "
        f"locator sigma {base.sigma_db} dB"
    )
    print()
    print(
        "| sensors | truth | survey | heard % | wing % | landing % | cell % | within one cell % "
        "| RMS error m | median error m | median CRB m |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    for label, variant in densities:
        locator = Locator(variant, PropagationModel(variant, base))
        neighbours = neighbours_within_one_cell(variant)
        for truth in truths(base):
            plain, surveyed = Tally(), Tally()
            for seed in range(seeds):
                building = Building(variant, truth, seed)
                plain.add(run_case(building, locator, trials_per_cell, np.random.default_rng(seed), neighbours))
                if truth.name != "shared model":
                    survey = building.survey(locator, np.random.default_rng(1000 + seed))
                    with_survey = Locator(variant, locator.model, survey)
                    surveyed.add(
                        run_case(building, with_survey, trials_per_cell, np.random.default_rng(seed), neighbours)
                    )
            name = f"{label}, {len(variant.sensors)}"
            print(f"| {name} | {truth.name} | none | {plain.row()} |", flush=True)
            if surveyed.trials:
                print(f"| {name} | {truth.name} | every cell | {surveyed.row()} |", flush=True)
    print()
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0
