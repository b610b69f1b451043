"""The columnar correlator groups exactly as the object-per-burst one did, on random streams."""

from __future__ import annotations

import numpy as np
import pytest

from controller.correlate import Correlator
from controller.observations import Observation
from tests.controller import object_correlator

SENSORS = ["s1", "s10", "s2", "b", "a7", "z", "s3", "m"]
CHANNELS = [
    ("gsm", 890.2e6, 200e3),
    ("gsm", 890.4e6, 200e3),
    ("gsm", 890.3e6, 200e3),  # across a bucket edge from both neighbours
    ("lte", 890.2e6, 180e3),
    ("lte", 1720.0e6, 1.4e6),
    ("nr", 1720.1e6, 700e3),
    ("gsm", 1720.05e6, 200e3),
]


def random_stream(rng: np.random.Generator, t0: float) -> list[list[Observation]]:
    """Arrival batches: emissions heard by random sensors with clock skew, some sensors hearing two bursts
    of a channel within the tolerance (adjacent timeslots), frequencies off by up to a third of a channel."""
    batches = []
    t = t0
    for _ in range(int(rng.integers(3, 8))):
        batch = []
        for _ in range(int(rng.integers(1, 40))):
            t += float(rng.exponential(0.004))
            technology, freq_hz, bandwidth_hz = CHANNELS[int(rng.integers(len(CHANNELS)))]
            shared = bool(rng.random() < 0.3)  # all hearing sensors give the same start (synchronised scan)
            for sensor in rng.choice(SENSORS, int(rng.integers(1, len(SENSORS))), replace=False):
                start = t if shared else t + float(rng.normal(0, 0.0004))
                for repeat in range(1 + (rng.random() < 0.15)):
                    f = freq_hz + float(rng.normal(0, 0.08 * bandwidth_hz))
                    s = start + repeat * float(rng.uniform(0.0003, 0.004))
                    level = float(np.round(rng.normal(-70, 10), 1))
                    batch.append(Observation(str(sensor), f, bandwidth_hz, technology, s, s + 0.0006, level))
        rng.shuffle(batch)
        batches.append(batch)
        t += float(rng.exponential(0.05))
    return batches


def as_tuples(emissions) -> list[tuple]:
    return [
        (
            e.freq_hz,
            e.bandwidth_hz,
            e.technology,
            e.start_s,
            e.end_s,
            tuple((o.sensor_id, o.power_dbm, o.start_s, o.freq_hz) for o in e.observations),
        )
        for e in emissions
    ]


@pytest.mark.parametrize("seed", range(60))
def test_columnar_grouping_equals_the_object_grouping(seed):
    rng = np.random.default_rng(seed)
    t0 = 1_800_000_000.0
    tolerance_s = float(rng.choice([0.001, 0.005]))
    max_delay_s = float(rng.choice([0.0, 0.05, 0.2]))
    old = object_correlator.Correlator(clock_tolerance_s=tolerance_s, max_delay_s=max_delay_s)
    new = Correlator(clock_tolerance_s=tolerance_s, max_delay_s=max_delay_s)
    released = 0
    for batch in random_stream(rng, t0):
        old.add_many(batch)
        new.add_many(batch)
        now = max(o.end_s for o in batch) + float(rng.uniform(0, 0.1))
        expected = as_tuples(old.ready(now))
        assert as_tuples(new.ready(now)) == expected
        assert new.pending == old.pending
        released += len(expected)
    assert as_tuples(new.flush()) == as_tuples(old.flush())
    assert new.pending == 0
    assert released > 0
