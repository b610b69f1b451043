"""`cellward bench location`: how often the locator names the right wing, landing and cell, against the
Cramér-Rao bound, for several sensor layouts, with and without a model that matches the truth.

Truth. Phones are placed uniformly inside cells (0.5-2 m above the floor) and transmit one burst at a
random power (0-23 dBm). Every sensor measures

    level = tx - PL_truth + antenna terms + shadowing_truth + sensor error + Rician fading + 0.5 dB noise

and reports it when it is above its sensitivity. PL_truth comes from a second `PropagationModel` whose
parameters can differ from the locator's (heavier walls, per-wall random deviations, another path-loss
exponent, uncorrected sensor calibration errors); shadowing_truth is that model's spatially correlated
field for one "building" seed, so a calibration survey walked in the building sees the same shadowing as
the phones found there later, as in a real prison. The locator never sees the truth's parameters.

Cramér-Rao bound. With r_s = P - 10 n log10 |p - p_s| + (terms constant in p) + e_s, where
e_s ~ N(0, sigma^2) independent across sensors, sigma^2 = sigma_shadowing^2 + sigma_fading^2, and the
unknowns theta = (x, y, P) (the landing, i.e. z, taken as known), the Fisher information over the
sensors that heard the burst is

    J = (1 / sigma^2) sum_s a_s a_s^T,   a_s = ( -(10 n / ln 10) (p - p_s)_xy / |p - p_s|^2 ,  1 )

and no unbiased estimator has a horizontal RMS error below sqrt([J^-1]_xx + [J^-1]_yy). Walls and floors
add losses that are piecewise constant in p, so they add nothing to J (the bound is that of the distance
term alone); non-detections carry information the bound leaves out. The locator answers with a room, not
a point, so its error is also limited by the room size; the bound shows what geometry and shadowing allow.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from cellward.site import Site, load_site, reference_site_path
from cellward.site.fading import fading_db
from cellward.site.model import SensorPlacement
from cellward.site.neighbours import neighbouring_cells
from cellward.site.propagation import PropagationModel, PropagationParams
from cellward.site.scan_groups import group_members, sensor_groups
from controller.correlate import Correlator, HeardEmission
from controller.locate import (
    MODEL_ERROR_DB,
    OUTLIER_PROBABILITY,
    OUTLIER_SPREAD_DB,
    Locator,
    fading_stats_db,
    room_points,
)
from controller.observations import Observation
from controller.survey import Survey, SurveySample, fit_survey

MEASUREMENT_NOISE_DB = 0.5
SURVEY_TX_DBM = 10.0
SURVEY_POINTS_PER_ROOM = 4
# The survey transmitter sends continuously while it is walked round a cell: each survey sample averages
# this many bursts (a quarter of a second of a GSM call), so fading hardly touches the fingerprints.
SURVEY_BURSTS = 50
# A phone in use is reported per activity window; one window of a call averages many bursts.
REPORT_BURSTS = (1, 20)
# (technology, centre frequency, bandwidth): GSM 900 bursts and LTE 800 allocations, alternately.
CARRIERS = (("gsm", 897.4e6, 200e3), ("lte", 847.0e6, 1.08e6))
# Confidence bins of the reliability tables: a calibrated locator is right about as often as it says.
CONFIDENCE_BINS = (0.0, 0.5, 0.7, 0.9, 0.99, 1.0)


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
    # Per located phone with a cell answer: the confidence given and whether the cell was right.
    confidences: list[float] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)

    def pct(self, n: int) -> float:
        return 100.0 * n / max(1, self.trials)

    @property
    def pct_wing(self) -> float:
        return self.pct(self.wing)

    @property
    def pct_cell(self) -> float:
        return self.pct(self.cell)

    def add(self, other: Tally) -> None:
        for name in ("trials", "heard", "wing", "landing", "cell", "near"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors_m.extend(other.errors_m)
        self.crb_m.extend(other.crb_m)
        self.confidences.extend(other.confidences)
        self.right.extend(other.right)

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

    def _in_bin(self, low: float, high: float) -> np.ndarray:
        conf = np.asarray(self.confidences)
        return (conf >= low) & ((conf < high) | (high >= 1.0))

    def reliability(self, low: float, high: float = 1.0) -> tuple[int, float, float]:
        """Cell answers given a confidence in [low, high) (1 included): how many, their mean confidence
        and the % of them right (both %, nan when none)."""
        inside = self._in_bin(low, high)
        n = int(inside.sum())
        if not n:
            return 0, math.nan, math.nan
        conf = 100.0 * float(np.asarray(self.confidences)[inside].mean())
        return n, conf, 100.0 * float(np.asarray(self.right)[inside].mean())

    def calibration_row(self) -> str:
        """Markdown cells: % right among answers given >= 0.9 and >= 0.99 (with their share of all answers),
        mean confidence and % right over all answers, expected calibration error over CONFIDENCE_BINS."""
        total = max(1, len(self.confidences))
        cells = []
        for low in (0.9, 0.99):
            n, _, right = self.reliability(low)
            cells.append(f"{right:.1f} ({100.0 * n / total:.0f} %)")
        _, mean_conf, right = self.reliability(0.0)
        ece = sum(
            n / total * abs(conf - pct)
            for n, conf, pct in (self.reliability(low, high) for low, high in itertools.pairwise(CONFIDENCE_BINS))
            if n
        )
        return f"{cells[0]} | {cells[1]} | {mean_conf:.1f} | {right:.1f} | {ece:.1f}"

    def bins_row(self) -> str:
        """Markdown cells, one per confidence bin: answers in it, % of them right."""
        rows = []
        for low, high in itertools.pairwise(CONFIDENCE_BINS):
            n, _, right = self.reliability(low, high)
            rows.append(f"{n}, {right:.0f}" if n else "0")
        return " | ".join(rows)


@dataclass(frozen=True)
class Truth:
    """How the simulated building differs from what the locator believes."""

    name: str
    params: PropagationParams
    wall_offset_db: float = 0.0  # every wall lossier than its material says
    wall_variation_db: float = 0.0  # each wall's own random deviation from its material
    sensor_error_db: float = 0.0  # spread of uncorrected per-sensor calibration errors


def truth_site(site: Site, wall_offset_db: float, wall_variation_db: float, seed: int) -> Site:
    """The site with every wall given its own material: the material's loss plus `wall_offset_db` plus a
    per-wall normal deviation of `wall_variation_db`, at every tabulated frequency (never below 0 dB)."""
    if wall_offset_db == 0.0 and wall_variation_db == 0.0:
        return site
    rng = np.random.default_rng(seed + 104729)
    materials = {m.id: m for m in site.materials}
    own_materials = []
    walls = []
    for i, wall in enumerate(site.walls):
        base = materials[wall.material]
        delta = wall_offset_db + rng.normal(0.0, wall_variation_db)
        own = base.model_copy(
            update={"id": f"{base.id}~{i}", "loss_db": {f: max(0.0, v + delta) for f, v in base.loss_db.items()}}
        )
        own_materials.append(own)
        walls.append(wall.model_copy(update={"material": own.id}))
    return _rebuilt(site, materials=[*site.materials, *own_materials], walls=walls)


def _rebuilt(site: Site, **changes) -> Site:
    """A new Site (geometry index rebuilt) with some fields replaced."""
    return Site(**{**{name: getattr(site, name) for name in type(site).model_fields}, **changes})


def crb_horizontal_m(
    position: Sequence[float], sensors: Sequence[Sequence[float]], exponent: float, sigma_db: float
) -> float:
    """Cramér-Rao bound (m, horizontal RMS) for RSS location with unknown tx power; inf if under-determined."""
    p = np.asarray(position, dtype=float)[:2]
    q = np.asarray(sensors, dtype=float).reshape(-1, 3)[:, :2] if len(sensors) else np.zeros((0, 2))
    if len(q) < 3:
        return math.inf
    d = p[None, :] - q
    dist2 = np.maximum((d * d).sum(axis=1), 1.0)
    k = 10.0 * exponent / math.log(10.0)
    a = np.column_stack([-k * d[:, 0] / dist2, -k * d[:, 1] / dist2, np.ones(len(q))])
    fisher = a.T @ a / sigma_db**2
    if np.linalg.cond(fisher) > 1e12:
        return math.inf
    inv = np.linalg.inv(fisher)
    return math.sqrt(max(inv[0, 0] + inv[1, 1], 0.0))


def random_point_in_room(room, floor_height_m: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """A uniform point inside a room's polygon at a random height between 0.5 m and 2 m above its floor."""
    z = room.landing * floor_height_m + rng.uniform(0.5, min(2.0, floor_height_m - 0.2))
    poly = np.asarray(room.polygon, dtype=float)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    inside = room_points(room, 0.25, max_points=2000)  # a fine grid of the polygon: sample near one of its points
    x, y, _ = inside[int(rng.integers(len(inside)))]
    x = float(np.clip(x + rng.uniform(-0.125, 0.125), lo[0], hi[0]))
    y = float(np.clip(y + rng.uniform(-0.125, 0.125), lo[1], hi[1]))
    return x, y, float(z)


class Building:
    """The simulated truth: a site, its real propagation, its shadowing field, its sensors' real errors."""

    def __init__(self, site: Site, truth: Truth, seed: int):
        self.site = site
        self.truth = truth
        self.seed = seed
        self.model = PropagationModel(
            truth_site(site, truth.wall_offset_db, truth.wall_variation_db, seed), truth.params
        )
        rng = np.random.default_rng(seed + 7919)
        self.sensor_error_db = {s.id: float(rng.normal(0.0, truth.sensor_error_db)) for s in site.sensors}
        _, self.fading_std_db = fading_stats_db(truth.params.fading_k_db)

    def levels_dbm(
        self, positions: np.ndarray, tx_dbm: np.ndarray, freq_hz: float, rng: np.random.Generator, bursts: int = 1
    ) -> np.ndarray:
        """Reported level (dBm) from each position at each sensor, averaged in dB over `bursts` independently
        faded bursts: (positions, sensors)."""
        positions = np.asarray(positions, dtype=float).reshape(-1, 3)
        sensors = self.site.sensors
        # The model's shadowing is an extra loss; the truth's sensors carry their own calibration errors.
        level = self.model.received_power_table_dbm(np.asarray(tx_dbm, dtype=float), positions, freq_hz, self.seed)
        errors = np.array([self.sensor_error_db[s.id] for s in sensors])
        fading = fading_db(rng, (bursts, *level.shape), self.truth.params.fading_k_db).mean(axis=0)
        noise = rng.normal(0.0, MEASUREMENT_NOISE_DB, level.shape)
        return level + errors[None, :] + fading + noise

    def emissions(
        self,
        positions: np.ndarray,
        tx_dbm: np.ndarray,
        carrier: tuple[str, float, float],
        sensitivity_dbm: float,
        rng: np.random.Generator,
        bursts: int = 1,
    ) -> list[HeardEmission | None]:
        """What the sensors report for `bursts` bursts from each position; None where no sensor hears them."""
        technology, freq_hz, bw_hz = carrier
        levels = self.levels_dbm(positions, tx_dbm, freq_hz, rng, bursts)
        out: list[HeardEmission | None] = []
        for row in levels:
            heard = [
                Observation(s.id, freq_hz, bw_hz, technology, 0.0, 1e-3, float(level), bursts)
                for s, level in zip(self.site.sensors, row, strict=True)
                if level >= sensitivity_dbm
            ]
            heard.sort(key=lambda o: -o.power_dbm)
            out.append(HeardEmission(freq_hz, bw_hz, technology, 0.0, 1e-3, tuple(heard)) if heard else None)
        return out

    def survey(self, locator: Locator, rng: np.random.Generator, rooms: Sequence | None = None) -> Survey:
        """Walk the survey transmitter through `rooms` (default every cell) and fit the survey."""
        carrier = CARRIERS[0]
        walked = [
            room for room in (rooms if rooms is not None else self.site.cells) for _ in range(SURVEY_POINTS_PER_ROOM)
        ]
        positions = np.array([random_point_in_room(room, self.site.floor_height_m, rng) for room in walked])
        tx = np.full(len(walked), SURVEY_TX_DBM)
        emissions = self.emissions(positions, tx, carrier, locator.sensitivity_dbm(carrier[2]), rng, SURVEY_BURSTS)
        samples = [
            SurveySample(room.id, tuple(pos), SURVEY_TX_DBM, emission)
            for room, pos, emission in zip(walked, positions, emissions, strict=True)
            if emission is not None
        ]
        return fit_survey(locator, samples)


def run_case(
    building: Building,
    locator: Locator,
    trials_per_cell: int,
    rng: np.random.Generator,
    neighbours: dict[str, frozenset[str]],
    bursts: int = 1,
    groups: Sequence[frozenset[str]] = (),
) -> Tally:
    """Place `trials_per_cell` phones in every cell of the building and score the locator on the reports
    (each averaging `bursts` bursts). With scan `groups`, each phone is heard in a regular slot: only by the
    sensors of one group (in turn over the cells), which the emission names as the ones listening."""
    tally = Tally()
    site = building.site
    sensor_pos = {s.id: s.position for s in site.sensors}
    exponent = building.truth.params.path_loss_exponent
    sigma_db = math.hypot(building.truth.params.shadowing_sigma_db, building.fading_std_db / math.sqrt(bursts))
    for k in range(trials_per_cell):
        # Half the cells get a GSM 900 phone and half an LTE 800 one, swapping on the next trial.
        for c, carrier in enumerate(CARRIERS):
            rooms = [room for i, room in enumerate(site.cells) if (i + k) % len(CARRIERS) == c]
            positions = np.array([random_point_in_room(room, site.floor_height_m, rng) for room in rooms])
            tx_dbm = rng.uniform(0.0, 23.0, len(rooms))
            sensitivity = locator.sensitivity_dbm(carrier[2])
            emissions = building.emissions(positions, tx_dbm, carrier, sensitivity, rng, bursts)
            if groups:
                emissions = [heard_by(e, groups[(i + k) % len(groups)]) for i, e in enumerate(emissions)]
            for room, pos, emission in zip(rooms, positions, emissions, strict=True):
                tally.trials += 1
                if emission is None:
                    continue
                tally.heard += 1
                loc = locator.locate(emission)
                tally.wing += loc.wing == room.wing
                tally.landing += loc.wing == room.wing and loc.landing == room.landing
                tally.cell += loc.cell_id == room.id
                tally.near += loc.cell_id == room.id or loc.cell_id in neighbours[room.id]
                if loc.cell_id is not None:
                    tally.confidences.append(loc.confidence)
                    tally.right.append(loc.cell_id == room.id)
                tally.errors_m.append(math.dist(loc.position[:2], pos[:2]))
                heard = [sensor_pos[o.sensor_id] for o in emission.observations]
                tally.crb_m.append(crb_horizontal_m(pos, heard, exponent, sigma_db))
    return tally


def heard_by(emission: HeardEmission | None, listening: frozenset[str]) -> HeardEmission | None:
    """`emission` as only the `listening` sensors report it (one scan group's dwell), saying who listened."""
    if emission is None:
        return None
    kept = tuple(o for o in emission.observations if o.sensor_id in listening)
    return replace(emission, observations=kept, listening=listening) if kept else None


def busy_second(seed: int = 5, bursts: int = 5000, channels: int = 150, sensors: int = 8) -> list[Observation]:
    """Observations of one busy second: GSM bursts on random ARFCNs in B8, each heard by half the sensors
    with +-0.1 ms of clock skew (inside the half timeslot the grouping needs), in arrival order."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(sensors)]
    out = []
    for k in range(bursts):
        freq_hz = 880.2e6 + int(rng.integers(channels)) * 200e3
        t_s = 1.8e9 + k / bursts
        for i in rng.choice(sensors, sensors // 2, replace=False):
            start_s = t_s + float(rng.uniform(-1e-4, 1e-4))
            out.append(Observation(ids[i], freq_hz, 200e3, "gsm", start_s, start_s + 546e-6, -70.0))
    return out


def correlator_rate_per_s() -> float:
    """Observations grouped per second of one core by the correlator on `busy_second()`."""
    observations = busy_second()
    corr = Correlator()
    started = time.perf_counter()
    corr.add_many(observations)
    corr.flush()
    return len(observations) / (time.perf_counter() - started)


# --- sensor layouts ---------------------------------------------------------------------------------


def with_sensors(site: Site, sensors: list[SensorPlacement]) -> Site:
    return _rebuilt(site, sensors=sensors)


def _axis(points: np.ndarray) -> np.ndarray:
    """Unit vector of the principal direction of a set of 2-D points (a corridor's length)."""
    centred = points - points.mean(axis=0)
    return np.linalg.svd(centred, full_matrices=False)[2][0]


def _landing_sensors(site: Site) -> dict[str, list[SensorPlacement]]:
    """Internal sensors by the landing (corridor) room they hang in, ordered along the corridor."""
    out: dict[str, list[SensorPlacement]] = {}
    for sensor in site.sensors:
        room = site.room_at(*sensor.position)
        if sensor.role == "internal" and room is not None and room.kind == "landing":
            out.setdefault(room.id, []).append(sensor)
    for room_id, sensors in out.items():
        axis = _axis(np.asarray(site.room(room_id).polygon, dtype=float))
        sensors.sort(key=lambda s: float(np.dot(s.position[:2], axis)))
    return out


def sparse_layout(site: Site) -> Site:
    """Every other sensor on each landing dropped (the ends kept), perimeter and hub sensors kept."""
    dropped = {s.id for sensors in _landing_sensors(site).values() for s in sensors[1:-1:2]}
    return with_sensors(site, [s for s in site.sensors if s.id not in dropped])


def dense_layout(site: Site) -> Site:
    """A sensor added midway between each pair of neighbours on a landing."""
    sensors = list(site.sensors)
    for room_id, on_landing in _landing_sensors(site).items():
        for i, (a, b) in enumerate(itertools.pairwise(on_landing)):
            mid = tuple(float(v) for v in (np.asarray(a.position) + np.asarray(b.position)) / 2)
            sensors.append(a.model_copy(update={"id": f"extra-{room_id}-{i}", "position": mid}))
    return with_sensors(site, sensors)


def in_cell_layout(site: Site, every: int = 4) -> Site:
    """The default sensors plus one inside every `every`-th cell of each landing (near the ceiling), on
    alternate sides of the corridor: walls then differ between a sensor's own side and the far side."""
    sensors = list(site.sensors)
    template = next(s for s in sensors if s.role == "internal")
    by_landing: dict[tuple[str | None, int], list] = {}
    for cell in site.cells:
        by_landing.setdefault((cell.wing, cell.landing), []).append(cell)
    for cells in by_landing.values():
        xy = np.array([c.centroid[:2] for c in cells])
        axis = _axis(xy)
        across = np.array([-axis[1], axis[0]])
        order = sorted(range(len(cells)), key=lambda i: (round(float(xy[i] @ axis), 1), float(xy[i] @ across)))
        for j in range(0, len(order), every):
            # Facing cells sort next to each other: stepping one further on every other pick swaps sides.
            cell = cells[order[min(j + (j // every) % 2, len(order) - 1)]]
            x, y, _ = cell.centroid
            z = (cell.landing + 0.9) * site.floor_height_m
            sensors.append(template.model_copy(update={"id": f"cell-{cell.id}", "position": (x, y, z)}))
    return with_sensors(site, sensors)


LAYOUTS: dict[str, Callable[[Site], Site]] = {
    "sparse (every other landing sensor)": sparse_layout,
    "default": lambda site: site,
    "dense (one more between each pair)": dense_layout,
    "default + one in every 4th cell": in_cell_layout,
}


def truths(base: PropagationParams) -> list[Truth]:
    """The shared model, and buildings that differ from what the locator believes."""

    def vary(**changes) -> PropagationParams:
        return base.model_copy(update=changes)

    return [
        Truth("shared model", base),
        Truth("walls +4 dB", base, wall_offset_db=4.0),
        Truth("per-wall variation 4 dB", base, wall_variation_db=4.0),
        Truth("path-loss exponent 2.4", vary(path_loss_exponent=base.path_loss_exponent + 0.4)),
        Truth(
            "all of: walls +3 dB, per-wall 3 dB, floors x1.3, exponent 2.3, sensor errors 2 dB",
            vary(path_loss_exponent=base.path_loss_exponent + 0.3, floor_loss_scale=1.3),
            wall_offset_db=3.0,
            wall_variation_db=3.0,
            sensor_error_db=2.0,
        ),
    ]


def baseline_locator(site: Site, model: PropagationModel) -> Locator:
    """The locator before its outlier mixture and model-error term: Gaussian levels, shadowing spread only."""
    return Locator(site, model, sigma_db=model.params.shadowing_sigma_db, outlier_probability=0.0)


def run_location_bench(
    trials_per_cell: int = 1,
    seeds: int = 2,
    layouts: Sequence[str] = (),
    truth_names: Sequence[str] = (),
    surveys: bool = True,
    gaussian_baseline: bool = False,
    scan_groups: int = 1,
) -> int:
    """Print the location accuracy and calibration tables (markdown) for docs/benchmarks.md. `layouts` and
    `truth_names` pick some of LAYOUTS and `truths`; `surveys` False skips the surveyed cases;
    `gaussian_baseline` also runs every case on the same phones with `baseline_locator`; `scan_groups` > 1
    also runs every case on the same phones heard by one scan group each (a regular slot's dwell)."""
    site = load_site(reference_site_path())
    base = PropagationParams()
    all_truths = truths(base)
    for asked, known in ((layouts, list(LAYOUTS)), (truth_names, [t.name for t in all_truths])):
        unknown = [name for name in asked if name not in known]
        if unknown:
            print(f"unknown {unknown[0]!r}; choose from: {', '.join(known)}", file=sys.stderr)
            return 2
    likelihoods = ["gaussian", "mixture"] if gaussian_baseline else ["mixture"]
    survey_cases = ("none", "every cell") if surveys else ("none",)
    print(
        f"site {site.name}: {len(site.cells)} cells, {len(site.rooms)} rooms; {trials_per_cell} phone(s) per cell "
        f"x {seeds} buildings (shadowing fields) per case, 0-23 dBm, GSM 900 and LTE 800 alternately; a report "
        f"averages 1 burst or {REPORT_BURSTS[-1]}; survey: {SURVEY_POINTS_PER_ROOM} points per cell, "
        f"{SURVEY_BURSTS} bursts each; locator: PropagationParams() (sigma {base.shadowing_sigma_db} dB, "
        f"exponent {base.path_loss_exponent}, Rician K {base.fading_k_db} dB); likelihood: mixture = model error "
        f"{MODEL_ERROR_DB} dB added to the shadowing, outliers with probability {OUTLIER_PROBABILITY} spread "
        f"{OUTLIER_SPREAD_DB} dB more; gaussian = neither (the locator before)"
    )
    print(f"correlator: {correlator_rate_per_s():,.0f} observations/s grouped on one core")
    print()
    print(
        "| sensors | truth | survey | bursts | likelihood | heard % | wing % | landing % | cell % "
        "| within one cell % | RMS error m | median error m | median CRB m |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    results: list[tuple[str, Tally]] = []
    for label, layout in LAYOUTS.items():
        if layouts and label not in layouts:
            continue
        variant = layout(site)
        model = PropagationModel(variant, base)
        locators = {"mixture": Locator(variant, model)}
        if gaussian_baseline:
            locators["gaussian"] = baseline_locator(variant, model)
        neighbours = neighbouring_cells(variant)
        # Every truth at the default layout; the shared model and the worst mismatch elsewhere.
        cases = all_truths if label == "default" else [all_truths[0], all_truths[-1]]
        for truth in cases:
            if truth_names and truth.name not in truth_names:
                continue
            heard_cases: dict[str, tuple[frozenset[str], ...]] = {"": ()}
            if scan_groups > 1:
                members = group_members(sensor_groups(variant, scan_groups))
                heard_cases[f", 1 of {scan_groups} scan groups"] = tuple(members.values())
            tallies = {
                (survey, bursts, likelihood, heard): Tally()
                for survey in survey_cases
                for bursts in REPORT_BURSTS
                for likelihood in likelihoods
                for heard in heard_cases
            }
            for seed in range(seeds):
                building = Building(variant, truth, seed)
                by_survey = {("none", k): locator for k, locator in locators.items()}
                if surveys:
                    survey = building.survey(locators["mixture"], np.random.default_rng(1000 + seed))
                    by_survey |= {("every cell", k): locator.with_survey(survey) for k, locator in locators.items()}
                for (name, bursts, likelihood, heard), tally in tallies.items():
                    which = by_survey[(name, likelihood)]
                    rng = np.random.default_rng(seed)  # the same phones and levels in every case
                    groups = heard_cases[heard]
                    tally.add(run_case(building, which, trials_per_cell, rng, neighbours, bursts, groups))
            for (name, bursts, likelihood, heard), tally in tallies.items():
                case = f"{label}, {len(variant.sensors)}{heard} | {truth.name} | {name} | {bursts} | {likelihood}"
                print(f"| {case} | {tally.row()} |", flush=True)
                results.append((case, tally))
    bins = " | ".join(f"{low:g}-{high:g}" for low, high in itertools.pairwise(CONFIDENCE_BINS))
    print()
    print("Calibration: % of cell answers right among those given confidence >= 0.9 and >= 0.99 (their share of")
    print("the answers), mean confidence against % right, expected calibration error (points), and per")
    print("confidence bin: answers, % right.")
    print()
    print(
        f"| sensors | truth | survey | bursts | likelihood | right at >= 0.9 | right at >= 0.99 | mean confidence % "
        f"| right % | ECE | {bins} |"
    )
    print("|---" * (10 + len(CONFIDENCE_BINS) - 1) + "|")
    for case, tally in results:
        print(f"| {case} | {tally.calibration_row()} | {tally.bins_row()} |")
    print()
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0
