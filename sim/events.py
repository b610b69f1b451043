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
    t = start_s
    while t < end_s:
        stop = min(t + window_s, end_s)
        ids = np.flatnonzero((b.start_s >= t) & (b.start_s < stop) & (b.freq_hz >= low) & (b.freq_hz <= high))
        found: list[tuple[float, int, int, float, float]] = []
        for s in sensors:
            rx = world.received_dbm(ids, s)
            snr = rx - world.noise_dbm(s, b.bandwidth_hz[ids])
            seen = snr >= detection_snr_db
            noisy = rx[seen] + measurement_noise_db(world.seed, ids[seen], s, POWER_SIGMA_DB)
            for i, power, margin in zip(ids[seen], noisy, snr[seen], strict=True):
                found.append((float(b.start_s[i]), s, int(i), float(power), float(margin)))
        found.sort()
        for start, s, i, power, margin in found:
            freq_error = float(measurement_noise_db(world.seed + 1, np.array([i]), s, FREQ_SIGMA_HZ)[0])
            yield SensorObservation(
                sensor_id=world.sensors[s].id,
                start_s=start + float(clock[s]),
                epoch_s=world.epoch_s(start + float(clock[s])),
                duration_s=float(b.duration_s[i]),
                freq_hz=float(b.freq_hz[i]) + freq_error,
                bandwidth_hz=float(b.bandwidth_hz[i]),
                technology=str(technology[b.emitter[i]]),
                power_dbm=round(power, 2),
                snr_db=round(margin, 2),
                burst_id=i,
            )
        t = stop
