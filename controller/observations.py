"""One sensor's measurement of one burst: the unit the correlator groups and the locator places."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Observation:
    """A burst as heard by one sensor.

    `power_dbm` is the calibrated received level at the sensor (antenna gain, cable loss and the sensor's
    own calibration applied by whoever built the observation), so it compares directly with
    `PropagationModel.received_power_dbm`. Times are UTC epoch seconds on the sensor's clock.
    """

    sensor_id: str
    freq_hz: float
    bandwidth_hz: float
    technology: str
    start_s: float
    end_s: float
    power_dbm: float
    bursts: int = 1
    snr_db: float = math.inf  # the burst's in-band SNR at that sensor; inf when not measured

    def __post_init__(self) -> None:
        if not self.end_s >= self.start_s:
            raise ValueError(f"observation from {self.sensor_id}: end_s {self.end_s} before start_s {self.start_s}")
        if self.bursts < 1:
            raise ValueError(f"observation from {self.sensor_id}: bursts must be >= 1, got {self.bursts}")
        if not self.bandwidth_hz > 0.0:
            raise ValueError(f"observation from {self.sensor_id}: bandwidth_hz must be > 0, got {self.bandwidth_hz}")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s
