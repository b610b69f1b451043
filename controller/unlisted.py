"""What sensors heard but did not list: a report lists its window's first bursts only (the sensor caps the
list, and the controller correlates the first `bursts_per_report` of it), so from its last listed burst to
the end of its window a sensor that heard more may have heard any burst there. For a burst in such a span the
sensor is neither a hearer nor a sensor that listened in vain; counted as a miss, it would push the burst's
location away from where the phone is (a sensor beside a phone in a call lists a window's first bursts, and
a burst later in the window heard by two far sensors whose windows started later looked like a phone
beside them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPANS_KEPT_S = 10.0  # data time a span is kept past its end: longer than any wait for a window's reports


class UnlistedSpans:
    def __init__(self) -> None:
        # channel (index on the report raster) -> its spans as columns (start, end, sensor code), UTC epoch s
        self._spans: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        # spans added since the last look, one (channel, start, end, sensor code) per batch: filed per channel
        # when asked, not per span as they come (a busy sensor's batch has one on each of its channels)
        self._new: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._sensor_ids: list[str] = []
        self._sensor_codes: dict[str, int] = {}

    def add(self, channels: np.ndarray, sensor_id: str, start_s: np.ndarray, end_s: np.ndarray) -> None:
        """Spans one sensor heard without listing, one per channel given (empty spans are left out)."""
        kept = end_s > start_s
        if not kept.any():
            return
        code = self._sensor_codes.setdefault(sensor_id, len(self._sensor_ids))
        if code == len(self._sensor_ids):
            self._sensor_ids.append(sensor_id)
        self._new.append((channels[kept], start_s[kept], end_s[kept], np.full(int(kept.sum()), code)))

    def covering(self, channels: Sequence[int], at_s: Sequence[float]) -> list[set[str]]:
        """Per (channel, time) pair: the sensors that may have heard something then without listing it. One
        array pass per channel: a busy second asks this of hundreds of emissions."""
        self._file_new()
        out: list[set[str]] = [set() for _ in channels]
        if not out:
            return out
        asked = np.asarray(channels, dtype=np.int64)
        at_s = np.asarray(at_s, dtype=float)
        order = np.argsort(asked, kind="stable")
        names = self._sensor_ids
        for asks in np.split(order, np.flatnonzero(np.diff(asked[order])) + 1):
            spans = self._spans.get(int(asked[asks[0]]))
            if spans is None:
                continue
            start, end, sensor = spans
            t = at_s[asks]
            ask, span = np.nonzero((start[None, :] <= t[:, None]) & (t[:, None] < end[None, :]))
            if not len(ask):
                continue
            firsts = np.r_[0, np.flatnonzero(np.diff(ask)) + 1]
            for k, codes in zip(asks[ask[firsts]].tolist(), np.split(sensor[span], firsts[1:]), strict=True):
                out[k] = {names[c] for c in codes.tolist()}
        return out

    def forget_before(self, horizon_s: float) -> None:
        """Drop spans that ended SPANS_KEPT_S before `horizon_s` (data time): nothing that old is located."""
        self._file_new()
        cutoff = horizon_s - SPANS_KEPT_S
        for channel, (start, end, sensor) in list(self._spans.items()):
            kept = end >= cutoff
            if kept.all():
                continue
            if kept.any():
                self._spans[channel] = (start[kept], end[kept], sensor[kept])
            else:
                del self._spans[channel]

    def _file_new(self) -> None:
        """The spans added since the last look, into their channels' columns."""
        if not self._new:
            return
        channel, start, end, sensor = (np.concatenate(column) for column in zip(*self._new, strict=True))
        self._new = []
        order = np.argsort(channel, kind="stable")
        bounds = np.flatnonzero(np.diff(channel[order])) + 1
        for rows in np.split(order, bounds):
            added = (start[rows], end[rows], sensor[rows])
            held = self._spans.get(int(channel[rows[0]]))
            self._spans[int(channel[rows[0]])] = (
                added if held is None else tuple(np.concatenate(pair) for pair in zip(held, added, strict=True))
            )
