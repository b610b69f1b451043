"""How well a sensor layout can place phones: a plain RSS maximum-likelihood locator against shadowed truth.

Phones are put at random points inside every cell (0.5-1.8 m above the floor), their levels at each sensor drawn
from the propagation model with correlated shadowing and 1 dB measurement noise; the locator knows only the
mean model at cell centroids and the unknown transmit power, and picks the cell whose predicted levels fit best
(heard sensors by least squares after removing the common power offset, unheard ones penalised for predicting a
level above the detection threshold). The figures justify the reference site's default sensor density
(docs/site.md); they are a floor for what `controller.locate` should reach, not its result.

    python -m cellward.site.layout_study [--every 4] [--sigma-db 4] [--trials 2]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellward.site.load import load_site, reference_site_path
from cellward.site.propagation import PropagationModel, PropagationParams
from cellward.site.site import Site

PHONE_TX_DBM = 20.0
DETECTION_THRESHOLD_DBM = -105.0
MEASUREMENT_NOISE_DB = 1.0
NEIGHBOUR_M = 3.0


@dataclass(frozen=True)
class LayoutScore:
    sensors: int
    trials: int
    wing: float
    landing: float
    cell: float
    within_one_cell: float


def _random_points_in_cells(site: Site, rng: np.random.Generator) -> np.ndarray:
    points = []
    for cell in site.cells:
        corners = np.asarray(cell.polygon)
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        while True:  # rejection sampling keeps non-rectangular cells honest
            x, y = lo + rng.random(2) * (hi - lo)
            if site.room_at(x, y, (cell.landing + 0.5) * site.floor_height_m) is cell:
                break
        points.append((x, y, cell.landing * site.floor_height_m + rng.uniform(0.5, 1.8)))
    return np.asarray(points)


def score_layout(
    site: Site, sigma_db: float = 4.0, trials: int = 2, freq_hz: float = 900e6, seed: int = 1
) -> LayoutScore:
    """Fractions of phones placed in the right wing, landing and cell (and within one cell of the right one)."""
    model = PropagationModel(site, PropagationParams(shadowing_sigma_db=sigma_db))
    sensors = [s for s in site.sensors if s.role == "internal"]
    cells = site.cells
    h = site.floor_height_m
    centroids = np.array([(*c.centroid[:2], c.landing * h + 1.2) for c in cells])
    predicted = -model.path_loss_table_db(centroids, freq_hz, sensors)  # level for 0 dBm, (C, S)
    plan = centroids[:, :2]
    rng = np.random.default_rng(seed)
    hits = {"wing": 0, "landing": 0, "cell": 0, "near": 0}
    for trial in range(trials):
        truth = _random_points_in_cells(site, rng)
        levels = PHONE_TX_DBM - model.path_loss_table_db(truth, freq_hz, sensors)
        for j, sensor in enumerate(sensors):
            levels[:, j] -= model.shadowing_db_many(truth, sensor.id, seed + trial)
        levels += rng.normal(0.0, MEASUREMENT_NOISE_DB, levels.shape)
        for i, measured in enumerate(levels):
            heard = measured > DETECTION_THRESHOLD_DBM
            offset = (measured[heard] - predicted[:, heard]).mean(axis=1, keepdims=True)  # estimated tx power
            misfit = ((measured[heard] - predicted[:, heard] - offset) ** 2).sum(axis=1)
            too_loud = np.clip(offset + predicted[:, ~heard] - DETECTION_THRESHOLD_DBM, 0.0, None)
            best = int(np.argmin(misfit + (too_loud**2).sum(axis=1)))
            same_landing = cells[best].wing == cells[i].wing and cells[best].landing == cells[i].landing
            hits["wing"] += cells[best].wing == cells[i].wing
            hits["landing"] += same_landing
            hits["cell"] += best == i
            # a neighbour in the same row: centroids one 2.4 m pitch apart (the cell opposite is 7.2 m away)
            hits["near"] += same_landing and float(np.hypot(*(plan[best] - plan[i]))) <= NEIGHBOUR_M
    n = trials * len(cells)
    return LayoutScore(len(sensors), trials, hits["wing"] / n, hits["landing"] / n, hits["cell"] / n, hits["near"] / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--every",
        type=int,
        default=None,
        help="rebuild the reference site with a corridor sensor every N cells of a row (default: the shipped site)",
    )
    parser.add_argument("--sigma-db", type=float, default=4.0)
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    if args.every is None:
        site = load_site(reference_site_path())
    else:
        from cellward.site import reference_builder

        reference_builder.SENSOR_EVERY_CELLS = args.every
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "reference.yaml"
            path.write_text(reference_builder.to_yaml(reference_builder.build_reference()), encoding="utf-8")
            site = load_site(path)
    s = score_layout(site, args.sigma_db, args.trials)
    print(
        f"internal_sensors={s.sensors} sigma_db={args.sigma_db} phones={s.trials * len(site.cells)} "
        f"wing={s.wing:.3f} landing={s.landing:.3f} cell={s.cell:.3f} within_one_cell={s.within_one_cell:.3f}"
    )


if __name__ == "__main__":
    main()
