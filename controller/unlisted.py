"""What sensors heard but did not list: a report lists its window's first bursts only (the sensor caps the
list, and the controller correlates the first `bursts_per_report` of it), so from its last listed burst to
the end of its window a sensor that heard more may have heard any burst there. For a burst in such a span the
sensor is neither a hearer nor a sensor that listened in vain; counted as a miss, it would push the burst's
location away from where the phone is (a sensor beside a phone in a call lists a window's first bursts, and
a burst later in the window heard by two far sensors whose windows started later looked like a phone
beside them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

SPANS_KEPT_S = 10.0  # data time a span is kept past its end: longer than any wait for a window's reports


class UnlistedSpans:
    def __init__(self) -> None:
        # channel (index on the report raster) -> spans (start, end, sensor), UTC epoch s
        self._spans: defaultdict[int, list[tuple[float, float, str]]] = defaultdict(list)

    def add(self, channel: int, sensor_id: str, start_s: float, end_s: float) -> None:
        if end_s > start_s:
            self._spans[channel].append((start_s, end_s, sensor_id))

    def covering(self, channels: Sequence[int], at_s: Sequence[float]) -> list[set[str]]:
        """Per (channel, time) pair: the sensors that may have heard something then without listing it. One
        array pass per channel: a busy second asks this of hundreds of emissions."""
        out: list[set[str]] = [set() for _ in channels]
        by_channel: defaultdict[int, list[int]] = defaultdict(list)
        for k, channel in enumerate(channels):
            if channel in self._spans:
                by_channel[channel].append(k)
        for channel, asks in by_channel.items():
            spans = self._spans[channel]
            start = np.fromiter((s[0] for s in spans), float, len(spans))
            end = np.fromiter((s[1] for s in spans), float, len(spans))
            t = np.array([at_s[k] for k in asks])
            inside = (start[None, :] <= t[:, None]) & (t[:, None] < end[None, :])
            for k, row in zip(asks, inside, strict=True):
                out[k] = {spans[j][2] for j in np.flatnonzero(row)}
        return out

    def forget_before(self, horizon_s: float) -> None:
        """Drop spans that ended SPANS_KEPT_S before `horizon_s` (data time): nothing that old is located."""
        cutoff = horizon_s - SPANS_KEPT_S
        for channel in list(self._spans):
            kept = [span for span in self._spans[channel] if span[1] >= cutoff]
            if kept:
                self._spans[channel] = kept
            else:
                del self._spans[channel]
