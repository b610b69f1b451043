"""The emissions a correlator released lately, to tell a straggler from a new emission.

A sensor's report can reach the controller after the correlation horizon has passed the moment it covers:
its window's reports arrived further apart than the wait had learnt (controller/horizon.py), or it was
resent after an outage. Its bursts of an emission the others' reports already settled would then be
correlated among themselves and located from the late sensors alone: the demo's yard and perimeter sensors,
whose reports came 0.3 s after the wings', placed the A-1-14 call at the far end of wing A and the staff
phone in OFFICE-2 in wing D, two incidents of phones that were not there. Such a burst is a straggler: on a
channel and technology of a released emission, within the clock tolerance of its span. Stragglers are kept
raw (the reports are stored) and counted, not located; a late burst matching nothing is a new emission and
is correlated as usual.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCK_CHUNKS = 64  # releases merged into one sorted block; a block is dropped whole once all of it is too old


class ReleasedEmissions:
    """Technology, channel and span of the emissions released within the last `keep_s` of data time."""

    def __init__(self, keep_s: float, tolerance_s: float) -> None:
        self.keep_s = keep_s
        self.tolerance_s = tolerance_s
        self._blocks: list[tuple[np.ndarray, ...]] = []  # merged, each sorted by earliest start
        self._chunks: list[tuple[np.ndarray, ...]] = []  # the releases since the last block
        self._latest_s = -np.inf

    def add(
        self,
        technology: np.ndarray,
        freq_hz: np.ndarray,
        bandwidth_hz: np.ndarray,
        earliest_s: np.ndarray,
        latest_s: np.ndarray,
    ) -> None:
        """Released emissions: per emission its technology code, the strongest burst's channel, its first and
        last start."""
        if not len(earliest_s):
            return
        order = np.argsort(earliest_s, kind="stable")
        self._chunks.append(tuple(a[order] for a in (technology, freq_hz, bandwidth_hz, earliest_s, latest_s)))
        self._latest_s = max(self._latest_s, float(latest_s.max()))
        if len(self._chunks) >= BLOCK_CHUNKS:
            merged = [np.concatenate(column) for column in zip(*self._chunks, strict=True)]
            order = np.argsort(merged[3], kind="stable")
            self._blocks.append(tuple(column[order] for column in merged))
            self._chunks = []
            cutoff = self._latest_s - self.keep_s
            self._blocks = [block for block in self._blocks if block[4].max() >= cutoff]

    def matched(
        self,
        technology: np.ndarray,
        freq_hz: np.ndarray,
        bandwidth_hz: np.ndarray,
        start_s: np.ndarray,
        same_channel: Callable[..., np.ndarray],
    ) -> np.ndarray:
        """Per burst, whether it belongs to a released emission: same technology and channel, its start within
        the tolerance of the emission's span."""
        out = np.zeros(len(start_s), dtype=bool)
        tol = self.tolerance_s
        for tech, freq, bandwidth, earliest, latest in self._blocks + self._chunks:
            longest = float((latest - earliest).max())
            low = np.searchsorted(earliest, start_s - tol - longest, side="left")
            high = np.searchsorted(earliest, start_s + tol, side="right")
            for k in np.flatnonzero(~out & (high > low)):
                rows = slice(low[k], high[k])
                out[k] = bool(
                    (
                        (tech[rows] == technology[k])
                        & (latest[rows] >= start_s[k] - tol)
                        & same_channel(freq[rows], bandwidth[rows], freq_hz[k], bandwidth_hz[k])
                    ).any()
                )
        return out
