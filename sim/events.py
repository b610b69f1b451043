"""Event mode: what each sensor would detect, straight from the propagation model, without any IQ.

A burst is observed by a sensor when its received power stands `detection_snr_db` above the sensor's
noise in the burst's bandwidth (its sensitivity); the reported power carries Gaussian measurement
noise, the time the sensor clock's offset, the frequency a small estimation error. Everything is
vectorised over the bursts of a window, sensor by sensor, so hundreds of sensors run fast
(`observation_batches` hands the columns over as they are; `observations` makes one record each). Non-phone
emissions are reported with technology "unknown", as the detector labels them.

The seam to the wire is `SensorObservation`: the sensor node's message models (cellward.messages)
are built from these records by one conversion function on the sensors' side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from sim.draws import normal
from sim.signals.truth import PHONE_TECHNOLOGIES
from sim.world import World, stable_seed

DETECTION_SNR_DB = 6.0
POWER_SIGMA_DB = 1.0
FREQ_SIGMA_HZ = 1e3
CLOCK_OFFSET_MAX_S = 1e-3  # NTP/PPS-disciplined Pi: within a millisecond


@dataclass(frozen=True, slots=True)
class SensorObservation:
    """One burst as one sensor detected it (calibrated, referred to the antenna)."""

    sensor_id: str
    start_s: float  # simulation time, by the sensor's clock
    epoch_s: float  # the same instant, UTC epoch seconds
    duration_s: float
    freq_hz: float
    bandwidth_hz: float
    technology: str  # gsm, lte, nr, or unknown
    power_dbm: float
    snr_db: float
    burst_id: int  # the truth burst, for scoring


@dataclass(frozen=True)
class ObservationBatch:
    """The observations of one window as columns (for consumers that stay vectorised, e.g. load tests).

    Row k is one burst seen by one sensor; rows are in time order. `sensor` indexes `sensor_ids`."""

    sensor_ids: tuple[str, ...]
    sensor: np.ndarray
    start_s: np.ndarray
    epoch_s: np.ndarray
    duration_s: np.ndarray
    freq_hz: np.ndarray
    bandwidth_hz: np.ndarray
    technology: np.ndarray  # object array of str
    power_dbm: np.ndarray
    snr_db: np.ndarray
    burst_id: np.ndarray

    def __len__(self) -> int:
        return int(self.sensor.shape[0])

    def records(self) -> Iterator[SensorObservation]:
        columns = (
            self.sensor.tolist(),
            self.start_s.tolist(),
            self.epoch_s.tolist(),
            self.duration_s.tolist(),
            self.freq_hz.tolist(),
            self.bandwidth_hz.tolist(),
            self.technology.tolist(),
            self.power_dbm.tolist(),
            self.snr_db.tolist(),
            self.burst_id.tolist(),
        )
        for k, begin, epoch, duration, f, width, tech, p, margin, i in zip(*columns, strict=True):
            yield SensorObservation(self.sensor_ids[k], begin, epoch, duration, f, width, tech, p, margin, i)


def observation_batches(
    world: World,
    start_s: float = 0.0,
    end_s: float | None = None,
    sensor_ids: Sequence[str] | None = None,
    freq_range_hz: tuple[float, float] | None = None,
    detection_snr_db: float = DETECTION_SNR_DB,
    window_s: float = 1.0,
) -> Iterator[ObservationBatch]:
    """Observations of bursts starting in [start_s, end_s), one batch per window, in time order."""
    end_s = world.scenario.duration_s if end_s is None else end_s
    sensors = [world.sensor_index[s] for s in sensor_ids] if sensor_ids is not None else range(len(world.sensors))
    clock = np.random.default_rng(stable_seed(world.seed, "clocks")).uniform(
        -CLOCK_OFFSET_MAX_S, CLOCK_OFFSET_MAX_S, len(world.sensors)
    )
    b = world.bursts
    technology = np.array(
        [e.technology if e.technology in PHONE_TECHNOLOGIES else "unknown" for e in world.emitters], object
    )
    low, high = freq_range_hz if freq_range_hz is not None else (-np.inf, np.inf)
    epoch_offset_s = world.epoch_s(0.0)
    names = tuple(s.id for s in world.sensors)
    t = start_s
    while t < end_s:
        stop = min(t + window_s, end_s)
        ids = world.starting(t, stop)
        ids = ids[(b.freq_hz[ids] >= low) & (b.freq_hz[ids] <= high)]
        t = stop
        columns = []
        for s in sensors:
            rx = world.received_dbm(ids, s)
            snr = rx - world.noise_dbm(s, b.bandwidth_hz[ids])
            seen = snr >= detection_snr_db
            columns.append((ids[seen], np.full(int(seen.sum()), s), rx[seen], snr[seen]))
        if not columns:
            continue
        heard, sensor, rx, snr = (np.concatenate(c) for c in zip(*columns, strict=True))
        # the measurement noise of every sensor in one call: per-call overhead dominated per sensor
        power = rx + POWER_SIGMA_DB * normal(world.seed, heard, sensor, 1)
        freq = b.freq_hz[heard] + FREQ_SIGMA_HZ * normal(world.seed, heard, sensor, 2)
        order = np.lexsort((sensor, b.start_s[heard]))
        heard, sensor, power, snr, freq = heard[order], sensor[order], power[order], snr[order], freq[order]
        start = b.start_s[heard] + clock[sensor]
        yield ObservationBatch(
            sensor_ids=names,
            sensor=sensor,
            start_s=start,
            epoch_s=epoch_offset_s + start,
            duration_s=b.duration_s[heard],
            freq_hz=freq,
            bandwidth_hz=b.bandwidth_hz[heard],
            technology=technology[b.emitter[heard]],
            power_dbm=np.round(power, 2),
            snr_db=np.round(snr, 2),
            burst_id=heard,
        )


def observations(
    world: World,
    start_s: float = 0.0,
    end_s: float | None = None,
    sensor_ids: Sequence[str] | None = None,
    freq_range_hz: tuple[float, float] | None = None,
    detection_snr_db: float = DETECTION_SNR_DB,
    window_s: float = 1.0,
) -> Iterator[SensorObservation]:
    """Observations of bursts starting in [start_s, end_s), in time order, one record each."""
    for batch in observation_batches(world, start_s, end_s, sensor_ids, freq_range_hz, detection_snr_db, window_s):
        yield from batch.records()
