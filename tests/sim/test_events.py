"""Event mode: a sensor reports a burst only above its sensitivity, at its level with measurement noise."""

from __future__ import annotations

import numpy as np
import pytest

from sim.events import DETECTION_SNR_DB, POWER_SIGMA_DB, SensorObservation, observations

SCENARIO = """\
name: t
seed: 8
duration_s: 3
phones:
  - id: near
    band: B8
    place: {position: [3, 2, 1.5]}
    activities: [{kind: gsm_call, start_s: 0, duration_s: 3}]
  - id: road
    path: [{t_s: 0, position: [-40, -35, 1.5]}, {t_s: 3, position: [40, -35, 1.5]}]
    activities: [{kind: lte_data, start_s: 0, duration_s: 3}]
emitters:
  - {id: tag, kind: fsk, place: {position: [3, 12, 1.5]}, freq_hz: 868.3e6, period_s: 0.5}
"""


def test_observations_are_the_bursts_above_each_sensors_sensitivity_with_noisy_power(make_world) -> None:
    world = make_world(SCENARIO)
    seen = list(observations(world))
    assert seen and all(isinstance(o, SensorObservation) for o in seen)
    truth = {r["burst_id"]: r for r in world.truth()}
    errors = []
    for sensor_index, sensor in enumerate(world.sensors):
        mine = {o.burst_id: o for o in seen if o.sensor_id == sensor.id}
        for burst_id, record in truth.items():
            snr = record["rx_power_dbm"][sensor.id] - float(
                world.noise_dbm(sensor_index, world.bursts.bandwidth_hz[burst_id])
            )
            assert (burst_id in mine) == (snr >= DETECTION_SNR_DB), "detected exactly when above sensitivity"
            if burst_id in mine:
                errors.append(mine[burst_id].power_dbm - record["rx_power_dbm"][sensor.id])
    errors = np.array(errors)
    assert abs(errors.mean()) < 0.1 and errors.std() == pytest.approx(POWER_SIGMA_DB, rel=0.1), (
        "measurement noise: unbiased, 1 dB rms"
    )
    technologies = {o.technology for o in seen}
    assert technologies == {"gsm", "lte", "unknown"}, "telemetry is reported as unknown, as the detector does"


def test_event_mode_is_deterministic_and_filters_by_sensor_and_band(make_world) -> None:
    world = make_world(SCENARIO)
    first = list(observations(world, sensor_ids=["s1"], freq_range_hz=(880e6, 915e6)))
    again = list(observations(world, sensor_ids=["s1"], freq_range_hz=(880e6, 915e6)))
    assert first == again and first, "same world, same observations"
    assert {o.sensor_id for o in first} == {"s1"} and all(880e6 <= o.freq_hz <= 915e6 for o in first)
