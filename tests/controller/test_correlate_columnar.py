"""The columnar correlator on random streams: every observation comes out once (or is counted as a straggler of
an emission already released), in an emission of its own channel and technology, with at most one
observation per sensor, within the clock tolerance.

(Until the commit that removed it, this file also proved the columnar grouping identical to the
object-per-burst correlator it replaced, on the same streams.)"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from controller.correlate import Correlator
from controller.observations import Observation

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


@pytest.mark.parametrize("seed", range(40))
def test_random_streams_are_grouped_consistently(seed):
    rng = np.random.default_rng(seed)
    tolerance_s = float(rng.choice([0.001, 0.005]))
    corr = Correlator(clock_tolerance_s=tolerance_s, max_delay_s=float(rng.choice([0.0, 0.05, 0.2])))
    added: list[tuple] = []
    out = []
    for batch in random_stream(rng, 1_800_000_000.0):
        corr.add_many(batch)
        added += [(o.sensor_id, o.power_dbm, o.start_s, o.freq_hz) for o in batch]
        now = max(o.end_s for o in batch) + float(rng.uniform(0, 0.1))
        released = as_tuples(corr.ready(now))
        assert all(e[3] < now - corr.max_delay_s for e in released), "nothing released before its window closed"
        out += released
    out += as_tuples(corr.flush())
    assert corr.pending == 0
    by_identity = lambda o: (o[0], o[1], o[3])  # noqa: E731 - sensor, level, frequency: the start may move
    released = sorted((o for e in out for o in e[5]), key=by_identity)
    sent = {by_identity(o): o for o in added}
    assert len(sent) == len(added), "the stream's observations are distinct"
    assert len({by_identity(o) for o in released}) == len(released), "no observation released twice"
    assert len(released) + corr.stragglers == len(added), "every observation released once, or a straggler"
    shifts = np.array([r[2] - sent[by_identity(r)][2] for r in released])
    assert np.all(np.abs(shifts) <= tolerance_s + 1e-9), "put on the consensus clock, by at most the tolerance"
    for freq_hz, bandwidth_hz, _, start_s, _end_s, members in out:
        sensors = [m[0] for m in members]
        assert len(set(sensors)) == len(sensors), "at most one observation per sensor"
        assert [m[1] for m in members] == sorted((m[1] for m in members), reverse=True), "strongest first"
        assert (freq_hz, start_s) == (members[0][3], min(m[2] for m in members))
        starts = sorted(m[2] for m in members)
        assert all(b - a <= tolerance_s + 1e-9 for a, b in itertools.pairwise(starts)), "one time cluster"
        assert all(abs(m[3] - freq_hz) <= 0.25 * bandwidth_hz * 2 + 1e-6 for m in members)
