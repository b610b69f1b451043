"""Burst on air -> incident: the latency SYSTEM.md sets a target for, measured from what the controller stored.

An incident's `first_seen` is the start of the emission that located it, which need not be the first burst
the sensors heard of that phone (per channel and second the controller locates the emission heard by the
most sensors). So the latency is taken from the earliest burst any sensor reported within `lookback_s`
before `first_seen`, on the incident's channel (centre within half a channel) and technology, with the
time the sensor put on it (its clock, microseconds on the wire), to the incident row's `created_at`.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from cellward.messages import REPORT_CHANNEL_HZ


def burst_starts(detections_raw: Iterable[str]) -> dict[str, list[tuple[float, float]]]:
    """Per technology, (start, freq_hz) of every listed burst in stored detections messages, by start."""
    heard: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for raw in detections_raw:
        for report in json.loads(raw)["reports"]:
            for burst in report["bursts"]:
                start = datetime.fromisoformat(burst["start"].replace("Z", "+00:00")).timestamp()
                heard[burst["technology"]].append((start, burst["freq_hz"]))
    for starts in heard.values():
        starts.sort()
    return heard


def on_air_latencies(
    incidents: Iterable[tuple[float, float, float, str]],
    heard: dict[str, list[tuple[float, float]]],
    lookback_s: float = 1.0,
) -> list[float]:
    """Seconds from the first burst on air to the incident row, per (created_at, first_seen, freq_hz,
    technology) incident, sorted."""
    latencies = []
    for created_at, first_seen, freq_hz, technology in incidents:
        starts = heard.get(technology, [])
        lo = bisect.bisect_left(starts, (first_seen - lookback_s, -1.0))
        hi = bisect.bisect_right(starts, (first_seen, float("inf")))
        on_air = [t for t, f in starts[lo:hi] if abs(f - freq_hz) <= REPORT_CHANNEL_HZ / 2]
        latencies.append(created_at - min(on_air, default=first_seen))
    return sorted(latencies)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of sorted `values` (nearest rank), NaN when empty."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]
