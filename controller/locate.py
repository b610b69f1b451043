"""Places a heard emission in a room (wing, landing, cell) from the levels several sensors measured.

Model. A phone at candidate point c transmitting P dBm arrives at sensor s at

    r_s = P + G[c, s] + e_s,       e_s ~ (1 - eps) N(0, v_s) + eps N(0, v_s + sigma_out^2),
                                   v_s = sigma_cs^2 + sigma_fading^2 / n_s

where G[c, s] is the level predicted for a 0 dBm transmitter: the site's propagation model plus the mean
of the per-burst fading in dB, plus either the sensor offset of a calibration survey or, in rooms the
survey walked, the room's measured correction. sigma_cs is the static spread (log-normal shadowing for the
model, with a model-error term added, as no real building follows the model exactly; the residual
in-room spread where a survey corrected it) and sigma_fading the spread of one burst's Rician fading in
dB, which shrinks with the n_s bursts the reported level averages. With probability eps a level is an
outlier, wrong by far more than that (a dwell near compression, a reflection or a miscalibration the
model cannot know): such a level then costs a few nats instead of tens, so one bad sensor cannot make a
wrong cell near-certain (eps = 0 is the plain Gaussian, the locator before; docs/benchmarks.md). Cells get
several candidate points because the multi-wall loss to a distant sensor changes by whole walls across a
cell. P is unknown: for each candidate it is replaced by its maximum-likelihood value, the weighted
mean of r_s - G[c, s] over the sensors that heard the burst (inverse-variance weights, then a few EM steps
that weight each level by how likely it is not an outlier), clipped to what a phone can transmit. A
listening sensor that did not hear the burst is a censored observation: its level was below its
sensitivity S_s, which contributes the log of the mixture's probability of that, (1 - eps)
Phi((S_s - P - G[c, s]) / sigma_s) + eps Phi(... / sigma_s,out). With a prior per
room (phones are in cells; staff rooms and the road outside are possible but rarer) the posterior over
candidate points is summed per room, and the answer is chosen top-down: the likeliest wing, the likeliest
landing in it, the likeliest room on that landing.

Two grids. The table G (points × sensors, one per band) on a coarse grid (`grid_m`, 1.2 m) is computed once
and scores the whole site with a few array operations. The room posterior is the mean likelihood over a
room's points, and a straight line to a sensor across the corridor crosses one party wall more or less
within a few tens of centimetres of the phone's position, so six points per cell integrate that mean
poorly: the rooms holding almost all the coarse posterior (at most REFINE_ROOMS) are scored again on a
fine grid (`fine_grid_m`, 0.3 m), whose per-room tables are computed on first use and cached; the answer
is chosen among them. On the reference site this raised cell accuracy from 79 % to 87 % for single bursts
(docs/benchmarks.md). On both grids the non-detection terms are evaluated only at the points that can
matter (`Locator._add_censored`).
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cellward.site.fading import fading_db
from controller.byte_budget_cache import ByteBudgetCache
from controller.correlate import HeardEmission
from controller.level_fit import censored_sum, censoring_table, heard_offsets, loglik_at, robust_fit, room_sums
from dsp.band_plan import BandPlan

if TYPE_CHECKING:
    from cellward.site import Site
    from cellward.site.propagation import PropagationModel
    from controller.survey import Survey

log = logging.getLogger(__name__)

# A phone's transmit power range (dBm): LTE/NR power control reaches -40, GSM 900 peaks at 33.
TX_POWER_MIN_DBM = -40.0
TX_POWER_MAX_DBM = 33.0
# Non-detection terms are evaluated best point first, FIRST_CENSORED_CHUNK points and then as many as may still
# matter, until the points not yet evaluated together carry less than e^-NEGLIGIBLE_NATS (~5e-5) of the best
# point's weight. The bounds of the points that may matter are first tightened by the terms of the LOUD_MISSED
# missed sensors that the best point so far should have heard best.
FIRST_CENSORED_CHUNK = 16
NEGLIGIBLE_NATS = 10.0
LOUD_MISSED = 32
# Fine scoring: the likeliest rooms until they hold all but REFINE_TAIL of the coarse posterior, at most
# REFINE_ROOMS of them. Fine per-room tables and the model levels they are built from are kept, least recently
# used dropped first, within a byte budget each (they grow with the number of sensors).
REFINE_TAIL = 1e-4
REFINE_ROOMS = 24
# Extra spread (dB) of the coarse levels while choosing the rooms to score finely: a party wall (7-8 dB)
# crossed over part of the 1.2 m around a coarse point.
COARSE_SPREAD_DB = 3.0
FINE_TABLE_CACHE_BYTES = 64 << 20
MODEL_LEVEL_CACHE_BYTES = 16 << 20
# Heavy tail of the level errors: with this probability a sensor's level is wrong by far more than the
# shadowing says (a dwell near compression, a reflection the model lacks, a mis-set calibration), spread
# OUTLIER_SPREAD_DB more. One such level then costs a few nats, not tens, and cannot make a wrong cell
# near-certain. The transmit power is fitted to the mixture (a few EM steps from the Gaussian fit).
# The model's own error (walls lossier or lighter than their material, a path-loss exponent off): added to
# the shadowing spread, as the levels of a real building never follow the model exactly.
MODEL_ERROR_DB = 2.0
SINGLE_SENSOR = "single-sensor"  # a Location's method when one sensor heard it: its coverage region
OUTLIER_PROBABILITY = 0.05
OUTLIER_SPREAD_DB = 15.0
TX_FIT_STEPS = 3

# Prior weight of a room by kind, per room: phones are hidden in cells; staff rooms, landings and
# yards see them less often; the road outside the wall is a real alternative that must be able to win.
DEFAULT_ROOM_PRIORS: dict[str, float] = {
    "cell": 1.0,
    "landing": 0.3,
    "office": 0.2,
    "hub": 0.2,
    "visits": 0.2,
    "exercise": 0.2,
    "road": 0.3,
}
DEFAULT_OTHER_PRIOR = 0.1


@functools.cache
def fading_stats_db(rician_k_db: float | None) -> tuple[float, float]:
    """Mean and standard deviation (dB) of one burst's fading (Rician, Rayleigh for None) for an emission
    narrower than the coherence bandwidth, by Monte Carlo with a fixed seed."""
    draws = fading_db(np.random.default_rng(0), 400_000, rician_k_db)
    return float(draws.mean()), float(draws.std())


def sensitivity_dbm(bandwidth_hz: float, noise_figure_db: float = 7.0, detection_snr_db: float = 6.0) -> float:
    """Weakest level a sensor detects in `bandwidth_hz`: kTB (-174 dBm/Hz) + noise figure + detection SNR."""
    return -174.0 + 10.0 * math.log10(bandwidth_hz) + noise_figure_db + detection_snr_db


@dataclass(frozen=True, slots=True)
class Location:
    """Where an emission most likely came from.

    `cell_id` is set only when the answer is a single cell; `room_id` is the likeliest room of any kind
    (an office, the road outside the wall). `region` is the smallest set of rooms holding 90 % of the
    posterior; for a "single-sensor" answer it is instead the heard sensor's coverage region (the rooms
    where the model makes it the strongest sensor), likeliest first, `cell_id`/`room_id` stay None unless
    that region is one room, and `confidence` is the posterior mass inside it. `position` is the
    posterior-mean position (m), used to compare with the Cramér-Rao bound.
    """

    cell_id: str | None
    wing: str | None
    landing: int | None
    zone: str | None
    confidence: float
    runners_up: tuple[tuple[str, float], ...]
    method: str
    region: tuple[str, ...]
    room_id: str | None
    position: tuple[float, float, float]
    tx_power_dbm: float
    sensors_heard: int
    sensors_missed: int
    wing_confidence: float = 0.0
    landing_confidence: float = 0.0
    room_posterior: Mapping[str, float] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class _Table:
    """Predicted 0 dBm levels and their static spreads for one band: arrays of shape (sensors, points), so
    that picking the sensors of one emission reads contiguous rows."""

    level_db: np.ndarray
    variance_db2: np.ndarray
    fingerprinted: np.ndarray  # bool: the level carries a survey correction
    coverage: np.ndarray | None  # (sensors, rooms) bool: the sensor is the strongest at one of the room's points


@dataclass(frozen=True, slots=True)
class _Detections:
    """One emission's levels by sensor index: who heard it (level, bursts averaged) and who listened in vain."""

    heard: np.ndarray  # int64 sensor indices
    levels_dbm: np.ndarray
    bursts: np.ndarray
    missed: list[int]
    sensitivity_dbm: float


class Locator:
    """Locates `HeardEmission`s on one site with one propagation model (and optionally a survey)."""

    def __init__(
        self,
        site: Site,
        model: PropagationModel,
        survey: Survey | None = None,
        *,
        sigma_db: float | None = None,
        fading_db: tuple[float, float] | None = None,
        grid_m: float = 1.2,
        fine_grid_m: float | None = 0.3,
        room_priors: Mapping[str, float] | None = None,
        noise_figure_db: float = 7.0,
        detection_snr_db: float = 6.0,
        band_plan: BandPlan | None = None,
        outlier_probability: float = OUTLIER_PROBABILITY,
        outlier_spread_db: float = OUTLIER_SPREAD_DB,
        fine_table_cache_bytes: int = FINE_TABLE_CACHE_BYTES,
        model_level_cache_bytes: int = MODEL_LEVEL_CACHE_BYTES,
    ):
        self.site = site
        self.fine_table_cache_bytes = fine_table_cache_bytes
        self.model = model
        self.sigma_db = float(
            sigma_db if sigma_db is not None else math.hypot(model.params.shadowing_sigma_db, MODEL_ERROR_DB)
        )
        if self.sigma_db <= 0:
            raise ValueError(f"sigma_db must be > 0, got {self.sigma_db}")
        # (mean, std) of one burst's fading in dB; (0, 0) when levels are fading-free.
        self.fading_mean_db, self.fading_std_db = (
            fading_db if fading_db is not None else fading_stats_db(model.params.fading_k_db)
        )
        self.noise_figure_db = noise_figure_db
        self.detection_snr_db = detection_snr_db
        self.band_plan = band_plan or BandPlan.load()
        self.sensors = list(site.sensors)
        self.sensor_index = {s.id: i for i, s in enumerate(self.sensors)}
        self.rooms = list(site.rooms)
        self.room_index = {r.id: i for i, r in enumerate(self.rooms)}
        priors = dict(DEFAULT_ROOM_PRIORS if room_priors is None else room_priors)
        self.fine_grid_m = fine_grid_m

        points: list[tuple[float, float, float]] = []
        owner: list[int] = []
        for i, room in enumerate(self.rooms):
            pts = room_points(room, grid_m)
            points.extend(pts)
            owner.extend([i] * len(pts))
        self.points = np.asarray(points, dtype=float)
        self.point_room = np.asarray(owner, dtype=np.intp)
        per_room = np.bincount(self.point_room, minlength=len(self.rooms))
        self._room_starts = np.concatenate(([0], np.cumsum(per_room)[:-1]))  # each room's points follow its start
        room_prior = np.array([priors.get(r.kind, DEFAULT_OTHER_PRIOR) for r in self.rooms], dtype=float)
        with np.errstate(divide="ignore"):
            self.log_room_prior = np.log(room_prior)
        self.log_prior = self.log_room_prior[self.point_room] - np.log(per_room[self.point_room])
        self._wings = sorted({r.wing for r in self.rooms}, key=lambda w: (w is None, w or ""))
        self._room_wing = np.array([self._wings.index(r.wing) for r in self.rooms], dtype=np.intp)
        self._room_landing = np.array([r.landing for r in self.rooms], dtype=np.intp)
        self._landings = int(self._room_landing.max()) + 1
        # Model levels (points x sensors, mean fading included) by band, on the coarse grid and per room on the
        # fine one, shared with the locators `with_survey` derives; the tables add this locator's survey to them.
        self._coarse_model_levels: dict[str, np.ndarray] = {}
        self._model_levels: ByteBudgetCache[tuple[np.ndarray, np.ndarray]] = ByteBudgetCache(
            model_level_cache_bytes, lambda cached: cached[0].nbytes + cached[1].nbytes
        )
        self._set_survey(survey)
        self._set_outliers(outlier_probability, outlier_spread_db)

    def _set_outliers(self, probability: float, spread_db: float) -> None:
        if not 0.0 <= probability < 1.0 or (probability > 0.0 and spread_db <= 0.0):
            raise ValueError(f"outlier probability must be in [0, 1) and spread > 0 dB, got {probability}, {spread_db}")
        self.outlier_probability = probability
        self.outlier_variance_db2 = spread_db**2
        # log prior weights of a level being ordinary and an outlier (-inf: no outliers, the plain Gaussian)
        self._log_priors = (math.log1p(-probability), math.log(probability) if probability > 0.0 else -math.inf)

    def _set_survey(self, survey: Survey | None) -> None:
        self.survey = survey
        self._tables: dict[str, _Table] = {}
        self._fine: ByteBudgetCache[tuple[np.ndarray, _Table]] = ByteBudgetCache(
            self.fine_table_cache_bytes, lambda cached: cached[0].nbytes + _table_bytes(cached[1])
        )
        self._offsets_db = np.array(
            [0.0 if survey is None else survey.sensor_offsets_db.get(s.id, 0.0) for s in self.sensors]
        )

    @classmethod
    def for_site(cls, site: Site, survey: Survey | None = None, **options: Any) -> Locator:
        """A locator on the site's default propagation model (what a running controller uses)."""
        from cellward.site.propagation import PropagationModel, PropagationParams

        return cls(site, PropagationModel(site, PropagationParams()), survey, **options)

    def with_survey(self, survey: Survey | None) -> Locator:
        """The same locator with another (or no) survey, sharing the model levels computed so far."""
        other = copy.copy(self)
        other._set_survey(survey)
        return other

    def with_outliers(self, probability: float, spread_db: float = OUTLIER_SPREAD_DB) -> Locator:
        """The same locator (tables shared) with another outlier prior; probability 0 is the plain Gaussian."""
        other = copy.copy(self)
        other._set_outliers(probability, spread_db)
        return other

    # --- tables -------------------------------------------------------------------------------------

    @property
    def cache_bytes(self) -> int:
        """Bytes held by the fine per-room tables and their model levels, each within its budget."""
        return self._fine.bytes_held + self._model_levels.bytes_held

    def band_key(self, freq_hz: float) -> tuple[str, float]:
        """The table a frequency uses and that table's reference frequency (the band centre)."""
        band = self.band_plan.uplink_band(freq_hz)
        if band is not None:
            return band.name, 0.5 * (band.uplink_low_hz + band.uplink_high_hz)
        ref_hz = round(freq_hz / 50e6) * 50e6
        return f"{ref_hz / 1e6:.0f}MHz", ref_hz

    def predicted_levels_db(self, freq_hz: float) -> np.ndarray:
        """Model level (dBm) at every sensor for a 0 dBm transmitter at every candidate point: (points, sensors)."""
        return self._table(freq_hz).level_db.T

    def _table(self, freq_hz: float) -> _Table:
        key, ref_hz = self.band_key(freq_hz)
        table = self._tables.get(key)
        if table is None:
            model_level = self._coarse_model_levels.get(key)
            if model_level is None:
                model_level = self.model_levels_db(self.points, ref_hz) + self.fading_mean_db
                self._coarse_model_levels[key] = model_level
            table = self._build_table(model_level, self.point_room, with_coverage=True)
            self._tables[key] = table
        return table

    def _fine_model_level(self, key: str, ref_hz: float, room: int) -> tuple[np.ndarray, np.ndarray]:
        """One room's fine candidate points and their model levels, cached."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            points = np.asarray(room_points(self.rooms[room], self.fine_grid_m or 0.3, max_points=400), dtype=float)
            return points, self.model_levels_db(points, ref_hz) + self.fading_mean_db

        return self._model_levels.get_or_build((key, room), build)

    def _fine_table(self, freq_hz: float, room: int) -> tuple[np.ndarray, _Table]:
        """Fine candidate points of one room and their table, built on first use."""
        key, ref_hz = self.band_key(freq_hz)

        def build() -> tuple[np.ndarray, _Table]:
            points, model_level = self._fine_model_level(key, ref_hz, room)
            owner = np.full(len(points), room, dtype=np.intp)
            return points, self._build_table(model_level, owner, with_coverage=False)

        return self._fine.get_or_build((key, room), build)

    def _build_table(self, model_level: np.ndarray, point_room: np.ndarray, with_coverage: bool) -> _Table:
        level = model_level + self._offsets_db[None, :] if self.survey is not None else model_level
        variance = np.full_like(level, self.sigma_db**2)
        fingerprinted = np.zeros(level.shape, dtype=bool)
        fingerprints = {} if self.survey is None else self.survey.fingerprints
        for r in np.unique(point_room):
            fp = fingerprints.get(self.rooms[r].id)
            if fp is None:
                continue
            rows = np.flatnonzero(point_room == r)
            for sensor_id, measured in fp.levels.items():
                s = self.sensor_index.get(sensor_id)
                if s is None:
                    continue
                # The survey's correction replaces the sensor offset here: it holds the offset, the real
                # walls on the way and the shadowing at this room, and the model keeps the detail within it.
                level[rows, s] = model_level[rows, s] + measured.correction_db
                variance[rows, s] = min(self.sigma_db, measured.sigma_db) ** 2
                fingerprinted[rows, s] = True
        coverage = None
        if with_coverage:
            coverage = np.zeros((len(self.sensors), len(self.rooms)), dtype=bool)
            coverage[np.argmax(level, axis=1), point_room] = True
        return _Table(_compact(level.T), _compact(variance.T), _compact(fingerprinted.T), coverage)

    def model_levels_db(self, positions: Sequence[Sequence[float]] | np.ndarray, freq_hz: float) -> np.ndarray:
        """Model level (dBm) for a 0 dBm transmitter at each position, at each sensor: (positions, sensors)."""
        points = np.asarray(positions, dtype=float).reshape(-1, 3)
        gains = np.array([self.model.sensor_gain_db(s) for s in self.sensors])
        return gains[None, :] - self.model.path_loss_table_db(points, freq_hz, self.sensors)

    # --- locating -----------------------------------------------------------------------------------

    def sensitivity_dbm(self, bandwidth_hz: float) -> float:
        return sensitivity_dbm(bandwidth_hz, self.noise_figure_db, self.detection_snr_db)

    def _detections(self, emission: HeardEmission) -> _Detections:
        heard: list[int] = []
        levels: list[float] = []
        bursts: list[int] = []
        for obs in emission.observations:
            s = self.sensor_index.get(obs.sensor_id)
            if s is None:
                log.warning("site=%s sensor=%s unknown sensor in emission; ignored", self.site.name, obs.sensor_id)
                continue
            heard.append(s)
            levels.append(obs.power_dbm)
            bursts.append(obs.bursts)
        listening = (
            range(len(self.sensors))
            if emission.listening is None
            else [self.sensor_index[s] for s in emission.listening if s in self.sensor_index]
        )
        heard_set = set(heard)
        return _Detections(
            np.asarray(heard, dtype=np.int64),
            np.asarray(levels, dtype=float),
            np.asarray(bursts, dtype=float),
            [s for s in listening if s not in heard_set],
            self.sensitivity_dbm(emission.bandwidth_hz),
        )

    def log_likelihood(self, emission: HeardEmission) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Log-likelihood per coarse candidate point, ML transmit power per point, sensors heard and missed."""
        det = self._detections(emission)
        loglik, tx_dbm = self._point_loglik(self._table(emission.freq_hz), det)
        return loglik, tx_dbm, len(det.heard), len(det.missed)

    def _point_loglik(self, table: _Table, det: _Detections) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood per point of a table (-inf where it cannot matter: `_add_censored`) and the transmit
        power fitted there."""
        n_points = table.level_db.shape[1]
        if det.heard.size == 0:
            return np.zeros(n_points), np.full(n_points, TX_POWER_MIN_DBM)
        offset = heard_offsets(table.level_db, det.heard, det.levels_dbm)  # (heard, points): r_s - G[c, s]
        fading_var = self.fading_std_db**2 / det.bursts
        w = 1.0 / (_pick(table.variance_db2, det.heard) + fading_var[:, None])
        w_out = 1.0 / (1.0 / w + self.outlier_variance_db2)
        fit = (offset, w, w_out, *self._log_priors)
        # with missed sensors, the exact fit only at the points the censoring loop reaches
        exact = not det.missed
        loglik, tx_dbm = robust_fit(*fit, TX_FIT_STEPS, TX_POWER_MIN_DBM, TX_POWER_MAX_DBM, exact)
        if not exact:
            exact_at = functools.partial(loglik_at, *fit, tx_dbm)
            loglik = self._add_censored(loglik, tx_dbm, table, det.missed, det.sensitivity_dbm, exact_at)
        return loglik, tx_dbm

    def _add_censored(
        self,
        loglik: np.ndarray,
        tx_dbm: np.ndarray,
        table: _Table,
        missed_idx: list[int],
        sens_dbm: float,
        exact_at: Callable[[np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """Add the non-detection terms, evaluated only where they can matter.

        A miss is as likely to be an outlier as a level: its probability is the mixture's, (1 - eps) Phi(z) +
        eps Phi(z'), with z' from the outlier spread. Censoring terms are <= 0, so the fit to the detections
        alone, or plus the terms of only some missed sensors, bounds a point from above. `loglik` is an upper
        bound on the fit and `exact_at(rows)` the fit at some points, which are evaluated best bound first, in two
        sets, until the points left out of each weigh less than half e^-NEGLIGIBLE_NATS of the best evaluated point
        together (they stay -inf). After a first chunk, the candidates are the points that the best so far cannot
        rule out on their fit; their bounds are tightened by the LOUD_MISSED sensors that the best point should
        have heard best (most of the censoring there), whose terms are kept for the candidates evaluated later, and
        each chunk is the better half of the candidates not yet ruled out. On a fine room's table the best is that
        room's, so each room's summed likelihood is exact within a factor 1 + e^-NEGLIGIBLE_NATS, however small it
        is next to the others.
        """
        missed = np.asarray(missed_idx, dtype=np.int64)
        level = np.ascontiguousarray(table.level_db)
        variance = table.variance_db2
        # writable copies: a read-only view is another signature to the kernel, compiled on the first phone
        variance = variance[:, :1].copy() if _is_compact(variance) else np.ascontiguousarray(variance)
        # the table for the spread of the unsurveyed points (a survey only narrows some): most sensors read it
        spreads = (self.fading_std_db**2, self.outlier_variance_db2, *self._log_priors)
        table = censoring_table(float(variance[missed[0]].max()), *spreads)
        terms = (sens_dbm, *spreads, table)
        out = np.full_like(loglik, -np.inf)

        def evaluate(rows: np.ndarray, sensors: np.ndarray = missed, known: np.ndarray | None = None) -> float:
            """The fit plus the terms of `sensors` at rows, plus the other missed sensors' terms there (`known`)."""
            by_row = np.argsort(rows)  # in table order: the kernels read along the table's rows
            rows = rows[by_row]
            censored = censored_sum(level, variance, sensors, rows, tx_dbm, *terms)
            out[rows] = exact_at(rows) + censored + (0.0 if known is None else known[by_row])
            return float(out[rows].max())

        order = np.argsort(-loglik)
        best = evaluate(order[:FIRST_CENSORED_CHUNK])
        rest = order[FIRST_CENSORED_CHUNK:]
        candidates = rest[: _undecided(loglik[rest], best)]
        bound = loglik[candidates]
        quiet, loud_terms = missed, np.zeros(len(candidates))
        if len(candidates) > FIRST_CENSORED_CHUNK and len(missed) > LOUD_MISSED:
            candidates = np.sort(candidates)
            is_loud = np.zeros(len(missed), dtype=bool)
            is_loud[np.argsort(level[missed, np.argmax(out)])[-LOUD_MISSED:]] = True
            quiet = missed[~is_loud]
            # the loud sensors' terms tighten the bounds and are the evaluated candidates' terms from them
            loud_terms = censored_sum(level, variance, np.sort(missed[is_loud]), candidates, tx_dbm, *terms)
            bound = loglik[candidates] + loud_terms
            by_bound = np.argsort(-bound)
            candidates, bound, loud_terms = candidates[by_bound], bound[by_bound], loud_terms[by_bound]
        done = 0
        while undecided := _undecided(bound[done:], best):
            chunk = undecided if undecided <= FIRST_CENSORED_CHUNK else (undecided + 1) // 2
            span = slice(done, done + chunk)
            best = max(best, evaluate(candidates[span], quiet, loud_terms[span]))
            done += chunk
        return out

    def _room_scores(self, emission: HeardEmission) -> _RoomScores:
        """Log posterior (unnormalised) per room, each room's posterior-mean position and likeliest point's
        transmit power.

        Without fine scoring (or for a single sensor, whose answer is a coverage region) the coarse grid
        decides. Otherwise the coarse grid only chooses the rooms to score finely: its levels jump by whole
        walls between points 1.2 m apart, so it is scored with COARSE_SPREAD_DB more spread to keep the true
        room among the chosen ones even when the levels fit tightly; the answer is among the chosen rooms.
        """
        det = self._detections(emission)
        refine = self.fine_grid_m is not None and len(det.heard) > 1
        table = self._table(emission.freq_hz)
        if refine:
            table = _Table(table.level_db, _widened(table.variance_db2, COARSE_SPREAD_DB**2), table.fingerprinted, None)
        loglik, tx_dbm = self._point_loglik(table, det)
        scores = _RoomScores.of(loglik + self.log_prior, self._room_starts, self.points, tx_dbm)
        scores.heard, scores.missed = len(det.heard), len(det.missed)
        if not refine:
            return scores
        p_room = np.exp(scores.log_post - scores.log_post.max())
        p_room /= p_room.sum()
        order = np.argsort(-p_room)
        count = min(REFINE_ROOMS, int(np.searchsorted(np.cumsum(p_room[order]), 1.0 - REFINE_TAIL)) + 1)
        scores.log_post[order[count:]] = -np.inf
        for room in order[:count]:
            points, fine = self._fine_table(emission.freq_hz, int(room))
            fine_ll, fine_tx = self._point_loglik(fine, det)
            log_post = fine_ll + self.log_room_prior[room] - math.log(len(points))
            scores.replace(int(room), log_post, points, fine_tx)
        return scores

    def locate(self, emission: HeardEmission) -> Location:
        scores = self._room_scores(emission)
        n_heard, n_missed = scores.heard, scores.missed
        p_room = np.exp(scores.log_post - scores.log_post.max())
        p_room /= p_room.sum()

        # Top-down: the likeliest wing (rooms outside the wings count as one "no wing" group), the
        # likeliest landing in it, then the likeliest room there.
        wing_p = np.bincount(self._room_wing, weights=p_room, minlength=len(self._wings))
        w = int(np.argmax(wing_p))
        landing_p = np.bincount(self._room_landing, weights=p_room * (self._room_wing == w), minlength=self._landings)
        n = int(np.argmax(landing_p))
        best = int(np.argmax(np.where((self._room_wing == w) & (self._room_landing == n), p_room, -1.0)))
        best_room = self.rooms[best]

        order = np.argsort(-p_room)
        single = n_heard == 1
        table = self._table(emission.freq_hz)
        region = _credible_set(self.rooms, p_room, order, 0.90)
        runners_up = tuple((self.rooms[i].id, float(p_room[i])) for i in order[:4] if i != best)[:3]
        position = tuple(float(v) for v in p_room @ scores.position)
        confidence = float(p_room[best])
        fingerprinted = bool(table.fingerprinted[:, self.point_room == best].any())

        wing_out: str | None = best_room.wing
        landing_out: int | None = best_room.landing
        room_out: str | None = best_room.id
        if single:
            # One level cannot place a phone within what one sensor hears best: the answer is that sensor's
            # coverage region (the rooms where the model makes it the strongest sensor), likeliest first,
            # with only what all those rooms share, and the posterior mass inside it as the confidence.
            method = SINGLE_SENSOR
            known = [o.sensor_id for o in emission.observations if o.sensor_id in self.sensor_index]
            covered = table.coverage[self.sensor_index[known[0]]]
            if not covered.any():  # never the strongest anywhere (a perimeter sensor): where it can hear
                covered = np.zeros(len(self.rooms), dtype=bool)
                covered[order[: len(_credible_set(self.rooms, p_room, order, 0.95))]] = True
            region = tuple(self.rooms[i].id for i in order if covered[i])
            in_region = [self.rooms[i] for i in np.flatnonzero(covered)]
            confidence = min(1.0, float(p_room[covered].sum()))  # a sum of floats may round above 1
            wing_out = in_region[0].wing if len({r.wing for r in in_region}) == 1 else None
            landing_out = in_region[0].landing if wing_out and len({r.landing for r in in_region}) == 1 else None
            room_out = region[0] if len(region) == 1 else None
            best_room = self.rooms[self.room_index[region[0]]] if region else best_room
        elif fingerprinted:
            method = "fingerprint"
        else:
            method = "rss"
        return Location(
            cell_id=room_out if room_out is not None and best_room.kind == "cell" else None,
            wing=wing_out,
            landing=landing_out,
            zone=best_room.zone if room_out is not None else None,
            confidence=confidence,
            runners_up=runners_up,
            method=method,
            region=region,
            room_id=room_out,
            position=position,  # type: ignore[arg-type]
            tx_power_dbm=float(scores.tx_dbm[best]),
            sensors_heard=n_heard,
            sensors_missed=n_missed,
            wing_confidence=float(wing_p[w]),
            landing_confidence=float(landing_p[n] / max(wing_p[w], 1e-300)),
            room_posterior={self.rooms[i].id: float(p_room[i]) for i in order[:10]},
        )


def _undecided(bounds: np.ndarray, best: float) -> int:
    """How many of some points, by upper bounds on their log-likelihood (highest first), the best point so far
    cannot rule out: the points after them weigh less than half e^-NEGLIGIBLE_NATS of it together."""
    n = len(bounds)
    if n == 0:
        return 0
    # log n, log (n - 1), ... log 1: how many points are left from each on
    left = _LOG_COUNTS[n - 1 :: -1] if n <= len(_LOG_COUNTS) else np.log(np.arange(n, 0, -1))
    slack = NEGLIGIBLE_NATS + math.log(2.0) + left
    return int(np.searchsorted(-(bounds + slack), -best))  # -(bounds + slack) rises


_LOG_COUNTS = np.log(np.arange(1.0, 8193.0))  # log 1 ... log 8192, read backwards by _undecided


def _compact(table: np.ndarray) -> np.ndarray:
    """A (sensors, points) table, stored once per sensor when it does not vary with the point (no survey)."""
    if table.shape[1] > 1 and (table == table[:, :1]).all():
        return np.broadcast_to(table[:, :1].copy(), table.shape)  # a copy: a view would keep the whole table
    return np.ascontiguousarray(table)


def _is_compact(table: np.ndarray) -> bool:
    return table.strides[1] == 0


def _held_bytes(table: np.ndarray) -> int:
    return table.shape[0] * table.itemsize if _is_compact(table) else table.nbytes


def _table_bytes(table: _Table) -> int:
    arrays = (table.level_db, table.variance_db2, table.fingerprinted, table.coverage)
    return sum(_held_bytes(a) for a in arrays if a is not None)


def _pick(table: np.ndarray, sensors: list[int]) -> np.ndarray:
    """Some sensors' rows of a (sensors, points) table; one column when it is compact, to be broadcast rather
    than copied."""
    if _is_compact(table):
        return table[sensors, :1]
    return table[sensors]


def _widened(table: np.ndarray, extra: float) -> np.ndarray:
    """`table + extra`, still compact when the table is."""
    return np.broadcast_to(table[:, :1] + extra, table.shape) if _is_compact(table) else table + extra


@dataclass(slots=True)
class _RoomScores:
    """Per room: log of (prior x summed likelihood over its points), posterior-mean position within it and the
    transmit power at its likeliest point."""

    log_post: np.ndarray  # (rooms,)
    position: np.ndarray  # (rooms, 3)
    tx_dbm: np.ndarray  # (rooms,)
    heard: int = 0
    missed: int = 0

    @classmethod
    def of(cls, log_post: np.ndarray, room_starts: np.ndarray, points: np.ndarray, tx_dbm: np.ndarray) -> _RoomScores:
        """From per-point scores, each room's points contiguous from its start in `room_starts`; a room with no
        weight at all is placed at its first point, so that the mixture of positions stays finite."""
        log_room, position, best_point = room_sums(log_post, room_starts, points)
        return cls(log_room, position, tx_dbm[best_point])

    def replace(self, room: int, log_post: np.ndarray, points: np.ndarray, tx_dbm: np.ndarray) -> None:
        """Score one room again on other (finer) points."""
        top = log_post.max()
        if not np.isfinite(top):
            self.log_post[room] = -np.inf
            return
        weight = np.exp(log_post - top)
        self.log_post[room] = math.log(weight.sum()) + top
        self.position[room] = weight @ points / weight.sum()
        self.tx_dbm[room] = tx_dbm[int(np.argmax(log_post))]


def _credible_set(rooms: list, p_room: np.ndarray, order: np.ndarray, mass: float) -> tuple[str, ...]:
    """Room ids, likeliest first, until their posterior reaches `mass`."""
    out: list[str] = []
    total = 0.0
    for i in order:
        out.append(rooms[i].id)
        total += p_room[i]
        if total >= mass:
            break
    return tuple(out)


def room_points(room, grid_m: float, max_points: int = 40) -> list[tuple[float, float, float]]:
    """Candidate transmitter points in a room at mid-landing height: a grid inside its polygon, `grid_m`
    apart (coarser in large rooms, to keep at most about `max_points`), or the centroid when none fits.

    The grid is aligned with the room's tightest bounding rectangle (over its edge directions), so a
    corridor or cell drawn at 45 degrees gets as many points as one drawn along the axes."""
    poly = np.asarray(room.polygon, dtype=float)
    z = float(room.centroid[2])
    edges = np.roll(poly, -1, axis=0) - poly
    angles = np.arctan2(edges[:, 1], edges[:, 0])
    rotations = [np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]]) for t in angles]
    rot = min(rotations, key=lambda r: float(np.prod(np.ptp(poly @ r.T, axis=0))))
    local = poly @ rot.T
    (x0, y0), (x1, y1) = local.min(axis=0), local.max(axis=0)
    spacing = max(grid_m, math.sqrt((x1 - x0) * (y1 - y0) / max_points))
    nx = max(1, math.floor((x1 - x0) / spacing + 0.01))  # site coordinates are rounded to mm
    ny = max(1, math.floor((y1 - y0) / spacing + 0.01))  # site coordinates are rounded to mm
    if nx * ny > 1:
        xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
        ys = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
        gx, gy = np.meshgrid(xs, ys)
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        inside = _inside_polygon(grid[:, 0], grid[:, 1], local)
        if inside.any():
            return [(float(x), float(y), z) for x, y in grid[inside] @ rot]
    cx, cy = float(room.centroid[0]), float(room.centroid[1])
    return [(cx, cy, z)]


def _inside_polygon(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd ray casting for many points against one polygon."""
    inside = np.zeros(x.shape, dtype=bool)
    xj, yj = poly[-1]
    for xi, yi in poly:
        crosses = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= crosses & (x < x_at)
        xj, yj = xi, yi
    return inside
