"""The simulated world: a site, its sensors and a scenario's emitters, with every burst planned and placed.

Planning is cheap (no samples): each burst gets its time, frequency, bandwidth, waveform, position,
transmit power (power control towards the serving cell). Received power at a sensor is transmit power
plus the site's propagation (mean path loss, correlated shadowing, antenna, cable and calibration)
plus per-burst fading; it is computed on demand for the bursts a caller asks about, so a window of a
huge scenario costs only what is in it. Everything follows from the scenario's seed.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cellward.site import Site, load_site
from cellward.site.propagation import PropagationModel, PropagationParams
from dsp.band_plan import BandPlan
from sim.behaviours import BEHAVIOURS
from sim.behaviours.gsm_signalling import SIGNALLING_KINDS
from sim.behaviours.non_phone import CONTINUOUS_WAVES, EMITTERS
from sim.blockers import blocker_emitters
from sim.blocking import (
    SEGMENT_CHANNEL,
    BlockingField,
    access_retries,
    live_unit_plans,
    power_control_channels,
)
from sim.burst_plan import PlannedBursts
from sim.carriers import RTL_SDR_MAX_HZ, Carrier, choose_carrier
from sim.fading import BurstFading
from sim.gsm_allocation import GsmAllocation
from sim.population import population_phones
from sim.power_control import tx_power_dbm
from sim.scenario import Activity, OtherEmitter, Phone, Place, Scenario, load_scenario
from sim.signals.receiver import Receiver
from sim.waveforms import WIDEBAND_WAVES

POSITION_STEP_M = 0.5  # a moving phone's position is quantised to this for the propagation cache
DEFAULT_MAST_DISTANCE_M = 1500.0
DEFAULT_MAST_HEIGHT_M = 25.0
OUTDOOR_ROOM_KINDS = frozenset({"road", "exercise", "yard", "outside", "car_park"})  # no building entry loss
THERMAL_DBM_PER_HZ = -174.0
NOMINAL_NOISE_FIGURE_DB = 6.0  # R820T2 front end with a short cable; varied +-1 dB per sensor


class ScenarioError(ValueError):
    """The scenario does not fit the site (unknown room, sensor, operator); the message says which."""


@dataclass(frozen=True)
class EmitterInfo:
    """One transmitter of the scenario as planned: what it is and on which carrier."""

    id: str
    kind: str  # "phone" or the non-phone kind
    technology: str  # gsm, lte, nr, lora, fsk, cw, impulse, blocker
    operator: str | None
    band: str | None
    carrier_hz: float


@dataclass(frozen=True)
class Bursts:
    """All bursts of the world, sorted by start time; columns indexed by burst id."""

    start_s: np.ndarray
    duration_s: np.ndarray
    freq_hz: np.ndarray  # true RF centre of the occupied band
    bandwidth_hz: np.ndarray
    tx_dbm: np.ndarray
    emitter: np.ndarray  # index into World.emitters
    position: np.ndarray  # index into World.positions
    wave: np.ndarray
    channel: np.ndarray

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


def stable_seed(*parts: object) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def gsm_control_channel_hz(band_plan: BandPlan, seed: int, operator: str, band: str) -> float:
    """The uplink channel of `operator`'s GSM control carrier (BCCH, C0) serving the site in `band`: phones send
    their access bursts there and, in this simulator, their SDCCH signalling (SMS, location updates). Drawn
    from the scenario's seed among the operator's GSM channels, without planning a world (a demo writing its
    controller's config, as a site's downlink survey would find it)."""
    rng = np.random.default_rng(stable_seed(seed, "gsm-control", operator, band))
    return choose_carrier(band_plan, "gsm", rng, operator, band).channels_hz[0]


def gsm_control_channels_hz(band_plan: BandPlan, seed: int) -> list[float]:
    """Every GSM operator's control channel in every band where it has GSM blocks an RTL-SDR reaches, ascending."""
    networks = {
        (block.operator, band.name)
        for band in band_plan.bands
        for block in band.blocks
        if "gsm" in block.technologies and block.uplink_high_hz <= RTL_SDR_MAX_HZ
    }
    return sorted(gsm_control_channel_hz(band_plan, seed, operator, band) for operator, band in networks)


def sensor_dongles(seed: int, sensors: int) -> tuple[list[Receiver], np.ndarray]:
    """Each sensor's dongle (in the site's sensor order) and its noise figure (dB), drawn from the scenario's
    seed alone: the same without planning a world (a demo writing its sensors' calibration)."""
    rng = np.random.default_rng(stable_seed(seed, "receivers"))
    receivers = [Receiver.varied(rng) for _ in range(sensors)]
    return receivers, NOMINAL_NOISE_FIGURE_DB + rng.uniform(-1.0, 1.0, sensors)


class World:
    """A site, its sensors and one scenario, planned; the source of truth for IQ and event mode."""

    def __init__(
        self,
        site: Site,
        scenario: Scenario,
        params: PropagationParams | None = None,
        band_plan: BandPlan | None = None,
    ) -> None:
        self.site = site
        self.scenario = scenario
        self.seed = scenario.seed
        self.model = PropagationModel(site, params)
        self.band_plan = band_plan or BandPlan.load()
        self.sensors = list(site.sensors)
        self.sensor_index = {s.id: i for i, s in enumerate(self.sensors)}
        self.emitters: list[EmitterInfo] = []
        self._positions: list[tuple[float, float, float]] = []
        self._position_emitter: list[int] = []
        self._gsm_allocation = GsmAllocation()
        parts: list[tuple[PlannedBursts, int, np.ndarray, np.ndarray]] = []
        crowd = (
            population_phones(site, scenario.population, scenario.duration_s, self.seed) if scenario.population else []
        )
        for phone in [*scenario.phones, *crowd]:
            parts.append(self._plan_phone(phone))
        blockers = [e for run in scenario.blockers for e in blocker_emitters(site, self.band_plan, run)]
        for emitter in [*scenario.emitters, *blockers]:
            parts.append(self._plan_other(emitter))
        live = scenario.live_blocking
        for emitter, segments in live_unit_plans(self, live) if live is not None else []:
            parts.append(self._plan_other(emitter, segments))
        self.bursts = self._assemble(parts)
        self.positions = np.asarray(self._positions, float).reshape(-1, 3)
        self.rooms = [self._room_id(p) for p in self.positions]
        self._fading = BurstFading(self.model, self.seed, self.bursts.bandwidth_hz)
        self._gain_db = np.full((len(self._positions), len(self.sensors)), np.nan)
        self._continuous = np.flatnonzero(
            np.isin(self.bursts.wave, CONTINUOUS_WAVES) & (self.bursts.channel != SEGMENT_CHANNEL)
        )
        bursty = np.ones(len(self.bursts), bool)
        bursty[self._continuous] = False
        self._bursty = np.flatnonzero(bursty)
        self._bursty_start_s = self.bursts.start_s[self._bursty]
        self._max_bursty_s = float(self.bursts.duration_s[self._bursty].max()) if self._bursty.size else 0.0
        self.receivers, self.noise_figure_db = sensor_dongles(self.seed, len(self.sensors))
        # live blocking: what is on the air depends on the units' switching so far
        self.blocking = BlockingField(self, live) if live is not None else None

    @classmethod
    def from_files(cls, site_path: str | Path, scenario_path: str | Path) -> World:
        return cls(load_site(Path(site_path)), load_scenario(Path(scenario_path)))

    # --- planning -------------------------------------------------------------------------------
    def _xyz(self, place: Place, what: str) -> tuple[float, float, float]:
        if place.position is not None:
            return tuple(float(v) for v in place.position)  # type: ignore[return-value]
        try:
            room = self.site.room(place.at)
        except (KeyError, ValueError, LookupError):
            raise ScenarioError(f"{what}: room {place.at!r} is not in site {self.site.name}") from None
        return tuple(float(v) for v in room.centroid)  # type: ignore[return-value]

    def _position_ids(self, emitter: int, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position id of each burst, the new positions' coordinates): one id per quantised spot of
        this emitter, so propagation is computed once per spot, not once per burst."""
        steps = np.round(xyz / POSITION_STEP_M).astype(np.int64)
        _, first, inverse = np.unique(steps, axis=0, return_index=True, return_inverse=True)
        base = len(self._positions)
        spots = xyz[first]
        self._positions.extend(tuple(float(v) for v in point) for point in spots)
        self._position_emitter.extend([emitter] * len(spots))
        return base + inverse.reshape(-1), spots

    def _trajectory(self, phone: Phone, times_s: np.ndarray) -> np.ndarray:
        if phone.place is not None:
            return np.tile(np.asarray(self._xyz(phone.place, f"phone {phone.id}")), (len(times_s), 1))
        assert phone.path is not None
        t = np.array([w.t_s for w in phone.path])
        points = np.array([self._xyz(w, f"phone {phone.id} path") for w in phone.path])
        return np.stack([np.interp(times_s, t, points[:, k]) for k in range(3)], axis=1)

    def _mast(self, operator: str) -> np.ndarray:
        for cell in self.scenario.serving_cells:
            if cell.operator == operator:
                return np.asarray(cell.position, float)
        angle = np.deg2rad(stable_seed(operator) % 360)
        return np.array(
            [DEFAULT_MAST_DISTANCE_M * np.cos(angle), DEFAULT_MAST_DISTANCE_M * np.sin(angle), DEFAULT_MAST_HEIGHT_M]
        )

    def _coupling_loss_db(self, xyz: np.ndarray, mast: np.ndarray, freq_hz: float) -> np.ndarray:
        """Path loss to the serving mast (the site's outdoor model), building entry loss for indoor phones."""
        distance = np.linalg.norm(xyz - mast, axis=1)
        indices = self.site.room_indices_at(xyz) if len(xyz) else np.zeros(0, int)
        indoors = [i >= 0 and self.site.rooms[i].kind not in OUTDOOR_ROOM_KINDS for i in indices]
        return np.array(
            [self.model.serving_cell_path_loss_db(float(d), freq_hz, indoors=bool(inside))
             for d, inside in zip(distance, indoors, strict=True)]
        )  # fmt: skip

    def _room_id(self, xyz: np.ndarray) -> str | None:
        room = self.site.room_at(float(xyz[0]), float(xyz[1]), float(xyz[2]))
        return None if room is None else room.id

    def _plan_phone(self, phone: Phone) -> tuple[PlannedBursts, int, np.ndarray, np.ndarray]:
        index = len(self.emitters)
        rng = np.random.default_rng(stable_seed(self.seed, "phone", phone.id))
        technology = BEHAVIOURS[phone.activities[0].kind].technology
        try:
            carrier = choose_carrier(self.band_plan, technology, rng, phone.operator, phone.band)
        except ValueError as exc:
            raise ScenarioError(f"phone {phone.id}: {exc}") from None
        self.emitters.append(
            EmitterInfo(phone.id, "phone", technology, carrier.operator, carrier.band, carrier.centre_hz)
        )
        plans = [self._plan_activity(a, carrier, rng) for a in phone.activities]
        if technology == "gsm":
            plans = [self._gsm_allocation.assign(carrier.operator, carrier.centre_hz, p) for p in plans]
        live = self.scenario.live_blocking
        if live is not None:  # its own draws: the phone's planned activity is the same with or without it
            retry_rng = np.random.default_rng(stable_seed(self.seed, "retries", phone.id))
            plans.append(access_retries(carrier, live, self.scenario.duration_s, retry_rng))
        planned = PlannedBursts.concat(plans).within(0.0, self.scenario.duration_s)
        xyz = self._trajectory(phone, planned.start_s)
        positions, spots = self._position_ids(index, xyz)
        loss = self._coupling_loss_db(spots, self._mast(carrier.operator), carrier.centre_hz)[
            positions - positions.min()
        ]
        channels = power_control_channels(planned.channel)
        tx = tx_power_dbm(technology, channels, planned.bandwidth_hz, loss, carrier.centre_hz)
        if phone.tx_power_dbm is not None:
            tx = np.full(len(planned), phone.tx_power_dbm)
        return planned, index, positions, tx

    def _plan_activity(self, activity: Activity, carrier: Carrier, rng: np.random.Generator) -> PlannedBursts:
        planned = BEHAVIOURS[activity.kind].plan(activity, carrier, rng)
        if activity.kind not in SIGNALLING_KINDS:
            return planned
        control_hz = gsm_control_channel_hz(self.band_plan, self.seed, carrier.operator, carrier.band)
        return replace(planned, offset_hz=planned.offset_hz + (control_hz - carrier.centre_hz))

    def _plan_other(
        self, emitter: OtherEmitter, planned: PlannedBursts | None = None
    ) -> tuple[PlannedBursts, int, np.ndarray, np.ndarray]:
        index = len(self.emitters)
        rng = np.random.default_rng(stable_seed(self.seed, "emitter", emitter.id))
        if planned is None:
            planned = EMITTERS[emitter.kind](emitter, self.scenario.duration_s, rng)
        technology = "impulse" if emitter.kind == "impulses" else emitter.kind
        self.emitters.append(EmitterInfo(emitter.id, emitter.kind, technology, None, None, emitter.freq_hz))
        xyz = np.asarray(self._xyz(emitter.place, f"emitter {emitter.id}"), float)[None, :]
        positions = np.repeat(self._position_ids(index, xyz)[0], len(planned))
        return planned, index, positions, np.full(len(planned), emitter.power_dbm)

    def _assemble(self, parts: list[tuple[PlannedBursts, int, np.ndarray, np.ndarray]]) -> Bursts:
        planned = PlannedBursts.concat([p for p, *_ in parts])
        emitter = np.concatenate([np.full(len(p), i, int) for p, i, *_ in parts] or [np.zeros(0, int)])
        position = np.concatenate([pos for *_, pos, _ in parts] or [np.zeros(0, int)]).astype(int)
        tx = np.concatenate([tx for *_, tx in parts] or [np.zeros(0)])
        carrier = np.array([self.emitters[i].carrier_hz for i in emitter], float)
        order = np.argsort(planned.start_s, kind="stable")
        return Bursts(
            start_s=planned.start_s[order],
            duration_s=planned.duration_s[order],
            freq_hz=(carrier + planned.offset_hz)[order],
            bandwidth_hz=planned.bandwidth_hz[order],
            tx_dbm=tx[order],
            emitter=emitter[order],
            position=position[order],
            wave=planned.wave[order],
            channel=planned.channel[order],
        )

    # --- queries --------------------------------------------------------------------------------
    def overlapping(self, start_s: float, end_s: float, low_hz: float = -np.inf, high_hz: float = np.inf) -> np.ndarray:
        """Ids of bursts on the air during [start_s, end_s) whose band overlaps [low_hz, high_hz]."""
        b = self.bursts
        first = np.searchsorted(self._bursty_start_s, start_s - self._max_bursty_s, side="left")
        last = np.searchsorted(self._bursty_start_s, end_s, side="left")
        ids = np.concatenate([self._bursty[first:last], self._continuous])
        ids = self._on_air(ids)
        keep = (
            (b.start_s[ids] < end_s)
            & (b.start_s[ids] + b.duration_s[ids] > start_s)
            & (b.freq_hz[ids] + b.bandwidth_hz[ids] / 2 > low_hz)
            & (b.freq_hz[ids] - b.bandwidth_hz[ids] / 2 < high_hz)
        )
        return np.sort(ids[keep])

    def in_capture(self, start_s: float, end_s: float, center_freq_hz: float, sample_rate_hz: float) -> np.ndarray:
        """Ids of the bursts a capture holds: on the air in the window, centred inside the tuned band
        (the dongle's decimation filter removes the rest), or wideband noise overlapping it."""
        half = sample_rate_hz / 2
        ids = self.overlapping(start_s, end_s, center_freq_hz - half, center_freq_hz + half)
        centred = np.abs(self.bursts.freq_hz[ids] - center_freq_hz) < half
        return ids[centred | np.isin(self.bursts.wave[ids], WIDEBAND_WAVES)]

    def link_gain_db(self, position_ids: np.ndarray, sensor: int) -> np.ndarray:
        """Transmit-to-reading gain (dB) from each position to a sensor: minus path loss, plus
        shadowing, antenna gain, minus cable loss, plus calibration offset (cached per position)."""
        column = self._gain_db[:, sensor]
        if np.isnan(column[position_ids]).any():
            # every position at once: the sensor's shadowing fields are then drawn once, not again after
            # the field cache has moved on to other sensors
            todo = np.flatnonzero(np.isnan(column))
            placement = self.sensors[sensor]
            freq = np.array([self.emitters[self._position_emitter[p]].carrier_hz for p in todo])
            shadow = self.model.shadowing_db_many(self.positions[todo], placement.id, self.seed)
            for f in np.unique(freq):
                group = todo[freq == f]
                loss = self.model.path_loss_db_many(self.positions[group], np.asarray(placement.position), float(f))
                column[group] = -loss - shadow[freq == f] + self.model.sensor_gain_db(placement)
        return column[position_ids]

    def received_dbm(self, burst_ids: np.ndarray, sensor: int) -> np.ndarray:
        """Mean received power (dBm) of each burst at a sensor, fading included: what its IQ carries."""
        b = self.bursts
        burst_ids = np.asarray(burst_ids, int)
        return (
            b.tx_dbm[burst_ids] + self.link_gain_db(b.position[burst_ids], sensor) + self._fading.db(burst_ids, sensor)
        )

    def starting(self, start_s: float, end_s: float) -> np.ndarray:
        """Ids of bursts that start in [start_s, end_s) (bursts are sorted by start)."""
        return self._on_air(np.arange(*np.searchsorted(self.bursts.start_s, [start_s, end_s], side="left")))

    def _on_air(self, ids: np.ndarray) -> np.ndarray:
        """The planned bursts live blocking leaves on the air (all of them without it)."""
        return ids if self.blocking is None else ids[self.blocking.keep(ids)]

    def noise_dbm(self, sensor: int, bandwidth_hz: np.ndarray | float) -> np.ndarray:
        """Thermal noise of a sensor's receiver in `bandwidth_hz`, referred to its antenna input (dBm)."""
        return THERMAL_DBM_PER_HZ + self.noise_figure_db[sensor] + 10 * np.log10(bandwidth_hz)

    def epoch_s(self, sim_s: float) -> float:
        """UTC epoch seconds of a simulation time."""
        start = dt.datetime.fromisoformat(self.scenario.start_utc.replace("Z", "+00:00"))
        return start.timestamp() + sim_s

    def truth(self, start_s: float = 0.0, end_s: float | None = None) -> Iterator[dict[str, object]]:
        """Ground truth of every burst starting in [start_s, end_s): one JSON-ready record each."""
        end_s = self.scenario.duration_s if end_s is None else end_s
        b = self.bursts
        ids = self.starting(start_s, end_s)
        received = np.stack([self.received_dbm(ids, s) for s in range(len(self.sensors))], axis=1)
        received = received.reshape(len(ids), len(self.sensors))
        for row, i in enumerate(ids):
            emitter = self.emitters[int(b.emitter[i])]
            pid = int(b.position[i])
            yield {
                "burst_id": int(i),
                "start_s": float(b.start_s[i]),
                "duration_s": float(b.duration_s[i]),
                "freq_hz": float(b.freq_hz[i]),
                "bandwidth_hz": float(b.bandwidth_hz[i]),
                "technology": emitter.technology,
                "channel": str(b.channel[i]),
                "emitter": emitter.id,
                "operator": emitter.operator,
                "band": emitter.band,
                "position_m": [round(v, 3) for v in self._positions[pid]],
                "room": self.rooms[pid],
                "tx_power_dbm": round(float(b.tx_dbm[i]), 2),
                "rx_power_dbm": {s.id: round(float(received[row, k]), 2) for k, s in enumerate(self.sensors)},
            }
