"""Event mode: what each sensor would detect, straight from the propagation model, without any IQ.

A burst is observed by a sensor when its received power stands `detection_snr_db` above the sensor's
noise in the burst's bandwidth (its sensitivity); the reported power carries Gaussian measurement
noise, the time the sensor clock's offset, the frequency a small estimation error. Everything is
vectorised over the bursts of a window, sensor by sensor, so hundreds of sensors run fast. Non-phone
emissions are reported with technology "unknown", as the detector labels them.

The seam to the wire is `SensorObservation`: the sensor node's message models (cellward.messages)
are built from these records by one conversion function on the sensors' side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from sim.fading import measurement_noise_db
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


def observations(
    world: World,
    start_s: float = 0.0,
    end_s: float | None = None,
    sensor_ids: Sequence[str] | None = None,
    freq_range_hz: tuple[float, float] | None = None,
    detection_snr_db: float = DETECTION_SNR_DB,
    window_s: float = 1.0,
) -> Iterator[SensorObservation]:
    """Observations of bursts starting in [start_s, end_s), in time order, window by window."""
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
    names = [s.id for s in world.sensors]
    t = start_s
    while t < end_s:
        stop = min(t + window_s, end_s)
        ids = world.starting(t, stop)
        ids = ids[(b.freq_hz[ids] >= low) & (b.freq_hz[ids] <= high)]
        columns: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for s in sensors:
            rx = world.received_dbm(ids, s)
            snr = rx - world.noise_dbm(s, b.bandwidth_hz[ids])
            seen = snr >= detection_snr_db
            heard = ids[seen]
            power = rx[seen] + measurement_noise_db(world.seed, heard, s, POWER_SIGMA_DB)
            freq = b.freq_hz[heard] + measurement_noise_db(world.seed + 1, heard, s, FREQ_SIGMA_HZ)
            columns.append((heard, np.full(heard.size, s), power, snr[seen], freq))
        t = stop
        if not columns:
            continue
        heard, sensor, power, snr, freq = (np.concatenate(c) for c in zip(*columns, strict=True))
        order = np.lexsort((sensor, b.start_s[heard]))
        heard, sensor, power, snr, freq = heard[order], sensor[order], power[order], snr[order], freq[order]
        start = b.start_s[heard] + clock[sensor]
        rows = zip(
            heard.tolist(),
            sensor.tolist(),
            start.tolist(),
            b.duration_s[heard].tolist(),
            freq.tolist(),
            b.bandwidth_hz[heard].tolist(),
            technology[b.emitter[heard]].tolist(),
            np.round(power, 2).tolist(),
            np.round(snr, 2).tolist(),
            strict=True,
        )
        for i, k, begin, duration, f, width, tech, p, margin in rows:
            yield SensorObservation(
                sensor_id=names[k],
                start_s=begin,
                epoch_s=epoch_offset_s + begin,
                duration_s=duration,
                freq_hz=f,
                bandwidth_hz=width,
                technology=tech,
                power_dbm=p,
                snr_db=margin,
                burst_id=i,
            )
