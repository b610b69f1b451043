"""The object-per-burst correlator this branch replaces, kept only to prove the columnar one groups alike.

Two observations belong to one emission when they come from different sensors, sit on the same channel
(centre frequencies within a fraction of the bandwidth), carry the same technology and start within the
clock tolerance. Time alone cannot separate GSM phones that share an ARFCN: their bursts are one 577 µs
timeslot apart, well inside a few-millisecond clock tolerance. What does separate them is that one
sensor never hears one burst twice, so a sensor's own observations on a channel mark distinct emissions.
The grouping therefore takes, in each time cluster, the sensor with the most observations as the
reference grid, lets every other observation join the nearest reference burst that lacks its sensor, and
limits the join distance to half the smallest spacing seen at any single sensor (so adjacent timeslots
never merge as long as the sensors' clocks agree to within half a slot, about 288 µs).

Observations are indexed by technology and a 100 kHz frequency bucket, and a time cluster is only
worked on once it is settled (no observation can still arrive for it), so the cost is O(n log n).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

from controller.observations import Observation

BUCKET_HZ = 100e3


@dataclass(frozen=True, slots=True)
class HeardEmission:
    """One emission as heard by one or more sensors (at most one observation per sensor).

    `listening` names the sensors that were tuned to this channel at the time, when the caller knows it;
    None means every sensor of the site was listening (the site-wide synchronised scan), so a sensor
    absent from `observations` did not hear the emission: its level was below its sensitivity.
    """

    freq_hz: float
    bandwidth_hz: float
    technology: str
    start_s: float
    end_s: float
    observations: tuple[Observation, ...]
    listening: frozenset[str] | None = None

    @property
    def powers_dbm(self) -> dict[str, float]:
        """Received level per sensor that heard the emission."""
        return {o.sensor_id: o.power_dbm for o in self.observations}

    @property
    def sensor_ids(self) -> frozenset[str]:
        return frozenset(o.sensor_id for o in self.observations)


@dataclass(slots=True)
class _Group:
    anchor_s: float
    freq_hz: float
    bandwidth_hz: float
    members: dict[str, Observation] = field(default_factory=dict)


class Correlator:
    """Streams observations in, hands settled emissions out.

    `clock_tolerance_s` is the largest disagreement between two sensors' clocks about one burst's start;
    `freq_tolerance` the largest centre-frequency difference as a fraction of the bandwidth;
    `max_delay_s` how late (in data time) an observation may arrive after the burst it describes, i.e. the
    reporting batch period plus transport; `ready(now_s)` releases emissions older than that.
    """

    def __init__(self, clock_tolerance_s: float = 0.005, freq_tolerance: float = 0.25, max_delay_s: float = 2.0):
        if clock_tolerance_s <= 0 or freq_tolerance <= 0 or max_delay_s < 0:
            raise ValueError("clock_tolerance_s and freq_tolerance must be > 0, max_delay_s >= 0")
        self.clock_tolerance_s = clock_tolerance_s
        self.freq_tolerance = freq_tolerance
        self.max_delay_s = max_delay_s
        self._pending: dict[tuple[str, int], list[Observation]] = defaultdict(list)

    @property
    def pending(self) -> int:
        """Observations held, waiting for their window to close."""
        return sum(len(v) for v in self._pending.values())

    def add(self, obs: Observation) -> None:
        self._pending[(obs.technology, round(obs.freq_hz / BUCKET_HZ))].append(obs)

    def add_many(self, observations: list[Observation]) -> None:
        pending = self._pending
        for obs in observations:
            pending[(obs.technology, round(obs.freq_hz / BUCKET_HZ))].append(obs)

    def ready(self, now_s: float) -> list[HeardEmission]:
        """Emissions whose window has closed by data time `now_s`, in start order."""
        horizon_s = now_s - self.max_delay_s
        out: list[HeardEmission] = []
        for keys in self._channel_runs():
            batch: list[Observation] = []
            for key in keys:
                held = self._pending[key]
                keep = [o for o in held if o.start_s >= horizon_s]
                if len(keep) != len(held):
                    batch.extend(o for o in held if o.start_s < horizon_s)
                    self._pending[key] = keep
            if not batch:
                continue
            # A group whose last member is within one tolerance of the horizon may still gain members that
            # start just after it; put those back for the next call.
            release_before_s = horizon_s - self.clock_tolerance_s
            for group in self._group(batch):
                members = group.members.values()
                if max(o.start_s for o in members) < release_before_s:
                    out.append(_emission(group))
                else:
                    for o in members:
                        self.add(o)
        for key in [k for k, v in self._pending.items() if not v]:
            del self._pending[key]
        out.sort(key=lambda e: e.start_s)
        return out

    def flush(self) -> list[HeardEmission]:
        """Everything held, as if every window had closed (end of a recording or shutdown)."""
        return self.ready(math.inf)

    def _channel_runs(self) -> list[list[tuple[str, int]]]:
        """Bucket keys grouped into runs of adjacent buckets per technology (one emission may straddle two)."""
        runs: list[list[tuple[str, int]]] = []
        for key in sorted(k for k, v in self._pending.items() if v):
            if runs and runs[-1][-1][0] == key[0] and key[1] - runs[-1][-1][1] <= 1:
                runs[-1].append(key)
            else:
                runs.append([key])
        return runs

    def _group(self, batch: list[Observation]) -> list[_Group]:
        batch.sort(key=_start_s)
        groups: list[_Group] = []
        tolerance_s = self.clock_tolerance_s
        cluster: list[Observation] = [batch[0]]
        last_s = batch[0].start_s
        for obs in batch[1:]:
            if obs.start_s - last_s > tolerance_s:
                groups.extend(self._group_cluster(cluster))
                cluster = []
            cluster.append(obs)
            last_s = obs.start_s
        groups.extend(self._group_cluster(cluster))
        return groups

    def _group_cluster(self, cluster: list[Observation]) -> list[_Group]:
        """Split one time cluster (consecutive starts within the tolerance) into emissions."""
        first = cluster[0]
        members = {o.sensor_id: o for o in cluster}
        if len(members) == len(cluster) and self._one_channel(first, cluster):
            # The common case: each sensor heard one burst here, all on one channel.
            return [_Group(first.start_s, first.freq_hz, first.bandwidth_hz, members)]
        by_sensor: dict[str, list[Observation]] = defaultdict(list)
        for obs in cluster:
            by_sensor[obs.sensor_id].append(obs)
        min_gap_s = math.inf
        for own in by_sensor.values():
            for a, b in itertools.pairwise(own):
                min_gap_s = min(min_gap_s, b.start_s - a.start_s)
        join_s = min(self.clock_tolerance_s, 0.5 * min_gap_s)

        groups: list[_Group] = []
        anchors: list[float] = []  # sorted anchor times, parallel to `ordered`
        ordered: list[_Group] = []
        remaining = cluster
        while remaining:
            counts: dict[str, int] = defaultdict(int)
            for obs in remaining:
                counts[obs.sensor_id] += 1
            reference = max(counts, key=lambda s: (counts[s], s))
            rest: list[Observation] = []
            for obs in remaining:
                if obs.sensor_id == reference:
                    group = _Group(obs.start_s, obs.freq_hz, obs.bandwidth_hz, {obs.sensor_id: obs})
                    groups.append(group)
                    i = bisect.bisect(anchors, obs.start_s)
                    anchors.insert(i, obs.start_s)
                    ordered.insert(i, group)
                else:
                    rest.append(obs)
            # Closest pairs first, so an observation never takes the slot of a better match.
            rest.sort(key=lambda o: _nearest_distance(anchors, o.start_s))
            remaining = [obs for obs in rest if not self._join(obs, anchors, ordered, join_s)]
        return groups

    def _join(self, obs: Observation, anchors: list[float], ordered: list[_Group], join_s: float) -> bool:
        i = bisect.bisect(anchors, obs.start_s)
        candidates = sorted(range(max(0, i - 2), min(len(anchors), i + 2)), key=lambda j: abs(anchors[j] - obs.start_s))
        for j in candidates:
            group = ordered[j]
            if abs(anchors[j] - obs.start_s) > join_s:
                break
            if obs.sensor_id in group.members or not self._same_channel(obs, group):
                continue
            group.members[obs.sensor_id] = obs
            return True
        return False

    def _same_channel(self, a: Observation | _Group, b: Observation | _Group) -> bool:
        """Centres within the tolerance of the narrower bandwidth, bandwidths within a factor of two."""
        narrow = min(a.bandwidth_hz, b.bandwidth_hz)
        return abs(a.freq_hz - b.freq_hz) <= self.freq_tolerance * narrow and max(a.bandwidth_hz, b.bandwidth_hz) <= (
            2.0 * narrow
        )

    def _one_channel(self, first: Observation, cluster: list[Observation]) -> bool:
        """`_same_channel(first, o)` for every o, without a call per observation when all share one bandwidth."""
        bandwidth_hz = first.bandwidth_hz
        if any(o.bandwidth_hz != bandwidth_hz for o in cluster):
            return all(self._same_channel(first, o) for o in cluster)
        reach_hz = self.freq_tolerance * bandwidth_hz
        freq_hz = first.freq_hz
        return all(abs(o.freq_hz - freq_hz) <= reach_hz for o in cluster)


def _start_s(obs: Observation) -> float:
    return obs.start_s


def _nearest_distance(anchors: list[float], t: float) -> float:
    i = bisect.bisect(anchors, t)
    near = [abs(anchors[j] - t) for j in (i - 1, i) if 0 <= j < len(anchors)]
    return min(near) if near else math.inf


def _emission(group: _Group) -> HeardEmission:
    members = sorted(group.members.values(), key=_minus_power)
    strongest = members[0]
    return HeardEmission(
        freq_hz=strongest.freq_hz,
        bandwidth_hz=strongest.bandwidth_hz,
        technology=strongest.technology,
        start_s=min([o.start_s for o in members]),
        end_s=max([o.end_s for o in members]),
        observations=tuple(members),
    )


def _minus_power(obs: Observation) -> float:
    return -obs.power_dbm
