"""Groups the observations of one emission heard by several sensors, so the locator can compare levels.

Two observations belong to one emission when they come from different sensors, sit on the same channel
(centre frequencies within a fraction of the bandwidth), carry the same technology and start within the
clock tolerance. Time alone cannot separate GSM phones that share an ARFCN: their bursts are one 577 µs
timeslot apart, well inside a few-millisecond clock tolerance. What does separate them is that one
sensor never hears one burst twice, so a sensor's own observations on a channel mark distinct emissions.
The grouping therefore takes, in each time cluster, the sensor with the most observations as the
reference grid, lets every other observation join the nearest reference burst that lacks its sensor, and
limits the join distance to half the smallest spacing seen at any single sensor (so adjacent timeslots
never merge as long as the sensors' clocks agree to within half a slot, about 288 µs). Sensors' clocks
disagree by more (NTP on a Pi: within a millisecond each), so every observation's times are first put on the
site's consensus clock, with offsets learnt from the GSM emissions several sensors heard
(controller/sensor_clocks.py).

Observations are held as columns (`Bursts`: one row per sensor's burst, no object per burst) and grouped
with array operations: sorted by technology, 100 kHz frequency bucket and start, cut into time clusters,
and a cluster where every sensor heard one burst on one channel (the common case) is one emission without
any per-burst Python. Only the rare clusters with a sensor's several bursts go through the reference-grid
loop. A time cluster is only worked on once it is settled (no observation can still arrive for it), so the
cost is O(n log n). `Emissions` hands the result out as columns too; `HeardEmission` objects are built
only for the emissions a caller asks for (the located ones). A burst whose report arrives after its moment
was released is a straggler of an emission already handed out, and is counted, not grouped again
(controller/released.py).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from controller.observations import Observation
from controller.released import ReleasedEmissions
from controller.sensor_clocks import SensorClocks

BUCKET_HZ = 100e3
_BUCKET_BITS = 40  # a bucket number fits: 2^40 buckets of 100 kHz
# Released emissions remembered to recognise stragglers (controller/released.py): a resend after a broker
# outage of a minute still finds the emission its sensor's bursts belonged to.
RELEASED_KEPT_S = 90.0


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


COLUMNS = ("sensor", "technology", "freq_hz", "bandwidth_hz", "start_s", "end_s", "power_dbm", "bursts", "snr_db")


@dataclass(frozen=True, slots=True)
class Bursts:
    """Observations as columns, one row per sensor's burst; `sensor` and `technology` are codes given by
    `Correlator.sensor_code` and `Correlator.technology_code`, `bursts` how many bursts a row averages, `snr_db`
    the burst's in-band SNR at that sensor (inf when not measured)."""

    sensor: np.ndarray
    technology: np.ndarray
    freq_hz: np.ndarray
    bandwidth_hz: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    power_dbm: np.ndarray
    bursts: np.ndarray
    snr_db: np.ndarray

    def __len__(self) -> int:
        return len(self.start_s)

    def take(self, index: np.ndarray) -> Bursts:
        return Bursts(*(getattr(self, name)[index] for name in COLUMNS))

    @classmethod
    def concat(cls, parts: list[Bursts]) -> Bursts:
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in COLUMNS))


@dataclass(frozen=True, slots=True)
class Emissions:
    """Emissions released together, in start order: emission i is `bursts[offsets[i]:offsets[i + 1]]`,
    strongest first (at most one row per sensor)."""

    bursts: Bursts
    offsets: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    sensor_ids: list[str]
    technologies: list[str]

    def __len__(self) -> int:
        return len(self.start_s)

    @property
    def strongest(self) -> np.ndarray:
        """Row of each emission's strongest burst: its frequency, bandwidth and technology are the emission's."""
        return self.offsets[:-1]

    @property
    def heard_by(self) -> np.ndarray:
        """Sensors that heard each emission."""
        return np.diff(self.offsets)

    def select(self, i: int) -> Emissions:
        """Emission i alone, its rows copied (holding it keeps nothing else alive)."""
        rows = np.arange(self.offsets[i], self.offsets[i + 1])
        return Emissions(
            self.bursts.take(rows),
            np.array([0, len(rows)]),
            self.start_s[i : i + 1].copy(),
            self.end_s[i : i + 1].copy(),
            self.sensor_ids,
            self.technologies,
        )

    def heard(self, i: int) -> HeardEmission:
        """Emission i as objects, for the locator."""
        b = self.bursts
        rows = range(self.offsets[i], self.offsets[i + 1])
        observations = tuple(
            Observation(
                self.sensor_ids[b.sensor[r]],
                float(b.freq_hz[r]),
                float(b.bandwidth_hz[r]),
                self.technologies[b.technology[r]],
                float(b.start_s[r]),
                float(b.end_s[r]),
                float(b.power_dbm[r]),
                int(b.bursts[r]),
                float(b.snr_db[r]),
            )
            for r in rows
        )
        first = observations[0]
        return HeardEmission(
            freq_hz=first.freq_hz,
            bandwidth_hz=first.bandwidth_hz,
            technology=first.technology,
            start_s=float(self.start_s[i]),
            end_s=float(self.end_s[i]),
            observations=observations,
        )

    def __getitem__(self, i: int) -> HeardEmission:
        return self.heard(i)

    def __iter__(self) -> Iterator[HeardEmission]:
        return (self.heard(i) for i in range(len(self)))


@dataclass
class Codes:
    """Small integer codes of sensor ids and technologies, as `Bursts` columns carry them."""

    sensor_ids: list[str] = field(default_factory=list)
    technologies: list[str] = field(default_factory=list)
    _sensors: dict[str, int] = field(default_factory=dict)
    _technologies: dict[str, int] = field(default_factory=dict)

    def sensor(self, sensor_id: str) -> int:
        return _code(self._sensors, self.sensor_ids, sensor_id)

    def technology(self, technology: str) -> int:
        return _code(self._technologies, self.technologies, technology)


def _code(index: dict[str, int], names: list[str], name: str) -> int:
    code = index.get(name)
    if code is None:
        code = index[name] = len(names)
        names.append(name)
    return code


class Correlator:
    """Streams observations in, hands settled emissions out.

    `clock_tolerance_s` is the largest disagreement between two sensors' clocks about one burst's start;
    `freq_tolerance` the largest centre-frequency difference as a fraction of the bandwidth;
    `max_delay_s` how late (in data time) an observation may arrive after the burst it describes, i.e. the
    reporting batch period plus transport; `ready(now_s)` releases emissions older than that.
    """

    def __init__(
        self,
        clock_tolerance_s: float = 0.005,
        freq_tolerance: float = 0.25,
        max_delay_s: float = 2.0,
        codes: Codes | None = None,
        clocks: SensorClocks | None = None,
    ):
        """`codes`: a code table shared with another correlator (their emissions can then be averaged together);
        `clocks`: the sensors' clock offsets, shared the same way."""
        if clock_tolerance_s <= 0 or freq_tolerance <= 0 or max_delay_s < 0:
            raise ValueError("clock_tolerance_s and freq_tolerance must be > 0, max_delay_s >= 0")
        self.clock_tolerance_s = clock_tolerance_s
        self.freq_tolerance = freq_tolerance
        self.max_delay_s = max_delay_s
        self.codes = Codes() if codes is None else codes
        self.sensor_ids = self.codes.sensor_ids
        self.technologies = self.codes.technologies
        self.clocks = SensorClocks(clock_tolerance_s) if clocks is None else clocks
        self._held: list[Bursts] = []  # in arrival order
        self._released = ReleasedEmissions(RELEASED_KEPT_S, clock_tolerance_s)
        self._released_s = -math.inf  # the horizon of the last release: a burst starting before it is late
        self.stragglers = 0  # late bursts of emissions already released, not grouped again

    @property
    def pending(self) -> int:
        """Observations held, waiting for their window to close."""
        return sum(len(part) for part in self._held)

    def sensor_code(self, sensor_id: str) -> int:
        return self.codes.sensor(sensor_id)

    def technology_code(self, technology: str) -> int:
        return self.codes.technology(technology)

    def add(self, obs: Observation) -> None:
        self.add_many([obs])

    def add_many(self, observations: Iterable[Observation]) -> None:
        observations = list(observations)
        if not observations:
            return
        self.add_bursts(
            Bursts(
                np.array([self.sensor_code(o.sensor_id) for o in observations], dtype=np.int64),
                np.array([self.technology_code(o.technology) for o in observations], dtype=np.int64),
                np.array([o.freq_hz for o in observations], dtype=float),
                np.array([o.bandwidth_hz for o in observations], dtype=float),
                np.array([o.start_s for o in observations], dtype=float),
                np.array([o.end_s for o in observations], dtype=float),
                np.array([o.power_dbm for o in observations], dtype=float),
                np.array([o.bursts for o in observations], dtype=np.int64),
                np.array([o.snr_db for o in observations], dtype=float),
            )
        )

    def add_bursts(self, bursts: Bursts) -> None:
        """Hold these observations (the codes must come from this correlator)."""
        bad = np.flatnonzero(~(bursts.end_s >= bursts.start_s) | ~(bursts.bandwidth_hz > 0) | (bursts.bursts < 1))
        if len(bad):
            r = bad[0]
            raise ValueError(
                f"observation from {self.sensor_ids[bursts.sensor[r]]}: needs end_s >= start_s, bandwidth_hz > 0 "
                f"and bursts >= 1; got start_s {bursts.start_s[r]}, end_s {bursts.end_s[r]}, "
                f"bandwidth_hz {bursts.bandwidth_hz[r]}, bursts {bursts.bursts[r]}"
            )
        if not len(bursts):
            return
        bursts = replace(
            bursts,
            start_s=self.clocks.corrected(bursts.sensor, bursts.start_s),
            end_s=self.clocks.corrected(bursts.sensor, bursts.end_s),
        )
        late = np.flatnonzero(bursts.start_s < self._released_s - self.clock_tolerance_s)
        if len(late):
            straggling = self._released.matched(
                bursts.technology[late],
                bursts.freq_hz[late],
                bursts.bandwidth_hz[late],
                bursts.start_s[late],
                self._same_channel,
            )
            if straggling.any():
                self.stragglers += int(straggling.sum())
                kept = np.ones(len(bursts), dtype=bool)
                kept[late[straggling]] = False
                bursts = bursts.take(kept)
        if len(bursts):
            self._held.append(bursts)

    def ready(self, now_s: float) -> Emissions:
        """Emissions whose window has closed by data time `now_s`, in start order."""
        held = Bursts.concat(self._held) if self._held else self._empty()
        released = held.start_s < now_s - self.max_delay_s
        if not released.any():
            return self._emissions(held.take(released), np.zeros(1, dtype=np.int64), np.empty(0), np.empty(0))
        run = self._channel_runs(held)
        batch = held.take(released)
        run = run[released]
        bucket = np.rint(batch.freq_hz / BUCKET_HZ)
        order = np.lexsort((np.arange(len(batch)), bucket, batch.start_s, run))
        batch = batch.take(order)
        label, rank = self._group(batch, run[order])

        # A group whose last member is within one tolerance of the horizon may still gain members that start
        # just after it: its members are held again for the next call.
        by_group = np.lexsort((rank, label))
        bounds = np.flatnonzero(np.diff(label[by_group])) + 1
        firsts = np.r_[0, bounds]
        latest = np.maximum.reduceat(batch.start_s[by_group], firsts)
        settled = latest < now_s - self.max_delay_s - self.clock_tolerance_s
        member_settled = settled[label]
        kept = held.take(~released)
        again = batch.take(by_group[~member_settled[by_group]])
        self._held = [part for part in (kept, again) if len(part)]

        out = np.flatnonzero(member_settled)
        label = label[out]
        earliest = np.minimum.reduceat(batch.start_s[by_group], firsts)[settled]
        finished = np.maximum.reduceat(batch.end_s[by_group], firsts)[settled]
        groups = np.flatnonzero(settled)
        # Emissions in start order (creation order among equal starts), each strongest first.
        emission_order = np.lexsort((groups, earliest))
        position = np.empty(len(settled), dtype=np.int64)
        position[groups[emission_order]] = np.arange(len(groups))
        rows = out[np.lexsort((rank[out], -batch.power_dbm[out], position[label]))]
        counts = np.bincount(position[label], minlength=len(groups))
        offsets = np.r_[0, np.cumsum(counts)]
        emissions = self._emissions(batch.take(rows), offsets, earliest[emission_order], finished[emission_order])
        self._remember_released(emissions, latest[settled][emission_order], now_s)
        return emissions

    def _remember_released(self, emissions: Emissions, latest_start_s: np.ndarray, now_s: float) -> None:
        if math.isinf(now_s):
            return  # a flush: the end of the stream, nothing comes late
        strongest = emissions.strongest
        bursts = emissions.bursts
        self._released.add(
            bursts.technology[strongest],
            bursts.freq_hz[strongest],
            bursts.bandwidth_hz[strongest],
            emissions.start_s,
            latest_start_s,
        )
        self._released_s = max(self._released_s, now_s - self.max_delay_s)

    def flush(self) -> Emissions:
        """Everything held, as if every window had closed (end of a recording or shutdown)."""
        return self.ready(math.inf)

    def _empty(self) -> Bursts:
        return Bursts(
            *(np.empty(0, dtype=np.int64 if name in ("sensor", "technology", "bursts") else float) for name in COLUMNS)
        )

    def _emissions(self, bursts: Bursts, offsets: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> Emissions:
        return Emissions(bursts, offsets, start_s, end_s, self.sensor_ids, self.technologies)

    def _channel_runs(self, held: Bursts) -> np.ndarray:
        """Per row, its run of adjacent buckets of one technology (one emission may straddle two buckets);
        runs numbered in the order of (technology name, bucket)."""
        names = np.array(self.technologies)
        technology_rank = np.argsort(np.argsort(names, kind="stable"))[held.technology]
        bucket = np.rint(held.freq_hz / BUCKET_HZ).astype(np.int64)
        # one integer per (technology, bucket): numpy's unique over rows of a 2-D array is ten times slower
        keys, inverse = np.unique((technology_rank << _BUCKET_BITS) | bucket, return_inverse=True)
        rank, bucket = keys >> _BUCKET_BITS, keys & ((1 << _BUCKET_BITS) - 1)
        new_run = np.r_[True, (np.diff(rank) != 0) | (np.diff(bucket) > 1)]
        return (np.cumsum(new_run) - 1)[inverse]

    def _group(self, batch: Bursts, run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Group label per row of `batch` (sorted by run, then start), labels in creation order, and a rank
        that orders each group's members as they joined it."""
        n = len(batch)
        start = batch.start_s
        new_cluster = np.r_[True, (run[1:] != run[:-1]) | (np.diff(start) > self.clock_tolerance_s)]
        cluster = np.cumsum(new_cluster) - 1
        first = np.flatnonzero(new_cluster)[cluster]
        # The common case: each sensor heard one burst of the cluster, all on the channel of its first burst.
        complex_cluster = np.zeros(len(first) and cluster[-1] + 1, dtype=bool)
        off_channel = ~self._same_channel(
            batch.freq_hz[first], batch.bandwidth_hz[first], batch.freq_hz, batch.bandwidth_hz
        )
        complex_cluster[cluster[off_channel]] = True
        by_sensor = np.lexsort((batch.sensor, cluster))
        twice = (np.diff(cluster[by_sensor]) == 0) & (np.diff(batch.sensor[by_sensor]) == 0)
        complex_cluster[cluster[by_sensor[1:][twice]]] = True

        groups_in = np.ones(len(complex_cluster), dtype=np.int64)
        rank = np.arange(n)
        split: dict[int, list[list[int]]] = {}
        for c in np.flatnonzero(complex_cluster):
            rows = np.flatnonzero(cluster == c)
            split[c] = self._split_cluster(batch, rows)
            groups_in[c] = len(split[c])
        base = np.r_[0, np.cumsum(groups_in)[:-1]]
        label = base[cluster]
        for c, groups in split.items():
            for g, members in enumerate(groups):
                label[members] = base[c] + g
                rank[members] = members[0] + np.arange(len(members))
        self._learn_clocks(batch, label)
        return label, rank

    def _learn_clocks(self, batch: Bursts, label: np.ndarray) -> None:
        """Teach the clocks from GSM emissions heard by three or more sensors: a normal burst's start is sharp
        to microseconds, so each member's distance from the emission's median start is its clock's."""
        if "gsm" not in self.technologies or not len(label):
            return
        order = np.lexsort((batch.start_s, label))
        group = label[order]
        firsts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
        counts = np.diff(np.r_[firsts, len(group)])
        start = batch.start_s[order]
        deviation = start - np.repeat(start[firsts + (counts - 1) // 2], counts)
        usable = (np.repeat(counts, counts) >= 3) & (batch.technology[order] == self.technologies.index("gsm"))
        self.clocks.learn(batch.sensor[order][usable], deviation[usable])

    def _split_cluster(self, batch: Bursts, rows: np.ndarray) -> list[list[int]]:
        """One time cluster (consecutive starts within the tolerance) with a sensor's several bursts, or
        several channels, as emissions: lists of rows, each in the order its members joined."""
        sensor_ids = [self.sensor_ids[s] for s in batch.sensor[rows]]
        start = batch.start_s[rows].tolist()
        freq = batch.freq_hz[rows].tolist()
        bandwidth = batch.bandwidth_hz[rows].tolist()
        # A sensor's GSM bursts on one channel closer than the tolerance (timeslots of a multislot phone) bound
        # how far apart two sensors' starts may be to join. Nothing else does: not its bursts on other channels
        # at that moment (an LTE phone's PUSCH and PUCCH), nor an LTE or NR burst a detector cut in pieces; taken
        # as the bound they split each burst into one emission per sensor or a few, each located from a
        # fraction of the sensors that heard it.
        gsm = self.technologies.index("gsm") if "gsm" in self.technologies else -1
        all_gsm = bool((batch.technology[rows] == gsm).all())
        join_s = min(self.clock_tolerance_s, 0.5 * self._own_gap_s(batch, rows, gsm))

        groups: list[list[int]] = []  # local indices, reference first
        heard: list[set[str]] = []  # the sensors in each group
        anchors: list[float] = []  # sorted anchor times, parallel to `ordered`
        ordered: list[int] = []  # group numbers
        remaining = list(range(len(rows)))
        while remaining:
            counts: dict[str, int] = {}
            for k in remaining:
                counts[sensor_ids[k]] = counts.get(sensor_ids[k], 0) + 1
            reference = _reference(counts, all_gsm)
            if not groups:
                nearest = self._joined_nearest(batch, rows, self.codes.sensor(reference), join_s)
                if nearest is not None:
                    return nearest
            rest: list[int] = []
            for k in remaining:
                if sensor_ids[k] == reference:
                    i = bisect.bisect(anchors, start[k])
                    anchors.insert(i, start[k])
                    ordered.insert(i, len(groups))
                    groups.append([k])
                    heard.append({reference})
                else:
                    rest.append(k)
            # Closest pairs first, so an observation never takes the slot of a better match.
            rest.sort(key=lambda k: _nearest_distance(anchors, start[k]))
            remaining = []
            for k in rest:
                i = bisect.bisect(anchors, start[k])
                candidates = sorted(
                    range(max(0, i - 2), min(len(anchors), i + 2)), key=lambda j: abs(anchors[j] - start[k])
                )
                joined = False
                for j in candidates:
                    if abs(anchors[j] - start[k]) > join_s:
                        break
                    members = groups[ordered[j]]
                    ref = members[0]
                    if sensor_ids[k] in heard[ordered[j]] or not self._same_channel(
                        freq[ref], bandwidth[ref], freq[k], bandwidth[k]
                    ):
                        continue
                    members.append(k)
                    heard[ordered[j]].add(sensor_ids[k])
                    joined = True
                    break
                if not joined:
                    remaining.append(k)
        return [rows[members].tolist() for members in groups]

    def _own_gap_s(self, batch: Bursts, rows: np.ndarray, gsm: int) -> float:
        """The smallest start difference of two GSM bursts one sensor heard on one channel among `rows` (inf
        when there are none): each pair, as one matrix (a cluster has at most a few hundred rows)."""
        own = rows[batch.technology[rows] == gsm]
        sensor, start = batch.sensor[own], batch.start_s[own]
        freq, bandwidth = batch.freq_hz[own], batch.bandwidth_hz[own]
        pair = np.triu(sensor[:, None] == sensor[None, :], 1) & self._same_channel(
            freq[:, None], bandwidth[:, None], freq[None, :], bandwidth[None, :]
        )
        return float(np.abs(start[None, :] - start[:, None])[pair].min()) if pair.any() else math.inf

    def _joined_nearest(self, batch: Bursts, rows: np.ndarray, reference: int, join_s: float) -> list[list[int]] | None:
        """The groups of a cluster in one pass when the reference-grid loop's first round would leave nothing over
        (the usual cluster with a sensor's several bursts: a multislot GSM phone, or two phones on one ARFCN):
        every row on one channel, and each row of the other sensors within `join_s` of the anchor the loop tries
        first (its nearest), no two rows of one sensor with the same. Then each of those rows joins that anchor,
        in the loop's order (closest first, then by row); None otherwise."""
        freq, bandwidth = batch.freq_hz[rows], batch.bandwidth_hz[rows]
        if (freq != freq[0]).any() or (bandwidth != bandwidth[0]).any():
            return None
        sensor, start = batch.sensor[rows], batch.start_s[rows]
        anchor_rows = np.flatnonzero(sensor == reference)
        anchors = start[anchor_rows]  # in order: a cluster's rows come in start order
        others = np.flatnonzero(sensor != reference)
        t = start[others]
        # the loop's candidates: the two anchors either side of the start, nearest first, the lower on a tie
        candidate = np.searchsorted(anchors, t, side="right")[:, None] + np.arange(-2, 2)
        exists = (candidate >= 0) & (candidate < len(anchors))
        distance = np.where(exists, np.abs(anchors[np.clip(candidate, 0, len(anchors) - 1)] - t[:, None]), math.inf)
        first = np.argmin(distance, axis=1)
        nearest = candidate[np.arange(len(others)), first]
        distance = distance[np.arange(len(others)), first]
        if (distance > join_s).any() or len(np.unique(sensor[others] * len(anchors) + nearest)) < len(others):
            return None
        order = np.lexsort((others, distance, nearest))
        joined = np.split(others[order], np.searchsorted(nearest[order], np.arange(1, len(anchors))))
        return [rows[np.r_[anchor, members]].tolist() for anchor, members in zip(anchor_rows, joined, strict=True)]

    def _same_channel(self, freq_a, bandwidth_a, freq_b, bandwidth_b):
        """Centres within the tolerance of the narrower bandwidth, bandwidths within a factor of two (scalars
        or arrays)."""
        narrow = np.minimum(bandwidth_a, bandwidth_b)
        return (np.abs(freq_a - freq_b) <= self.freq_tolerance * narrow) & (
            np.maximum(bandwidth_a, bandwidth_b) <= 2.0 * narrow
        )


def _reference(counts: dict[str, int], all_gsm: bool) -> str:
    """The sensor whose bursts anchor the groups. GSM: the one that heard the most (a multislot phone's every
    timeslot gets an anchor). Otherwise one that heard as many as most sensors did: a sensor that heard an LTE
    or NR burst in pieces (an IQ node's detector cut it up) would split the others among its pieces, each
    group then placed from a few sensors."""
    if all_gsm:
        return max(counts, key=lambda s: (counts[s], s))
    usual = Counter(counts.values()).most_common(1)[0][0]
    return max(s for s, n in counts.items() if n == usual)


def _nearest_distance(anchors: list[float], t: float) -> float:
    i = bisect.bisect(anchors, t)
    near = [abs(anchors[j] - t) for j in (i - 1, i) if 0 <= j < len(anchors)]
    return min(near) if near else math.inf
