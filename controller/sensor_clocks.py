"""Each sensor's clock offset from the site's consensus, learnt from GSM bursts that several sensors heard.

A Pi's NTP-disciplined clock is within about a millisecond of true time, so two sensors may disagree by two:
more than a GSM timeslot (577 us). Two phones of one operator on one ARFCN in neighbouring timeslots then
look simultaneous across sensors, and the correlator would join one phone's burst at one sensor with the
other phone's at another (a place between the two). The offsets are learnt from the correlator's GSM
emissions heard by three or more sensors (a normal burst's start is sharp to microseconds): per update, a
sensor's median deviation from its emissions' median starts, taken whole the first time and half of each
new residual after, so a minority of mis-joined bursts cannot pull it. The consensus is pinned to the
median sensor, so it cannot wander.
"""

from __future__ import annotations

import numpy as np

MIN_SAMPLES = 5  # deviations of one sensor in one update before its estimate moves
GAIN = 0.5  # share of a new residual applied once a sensor has an estimate


class SensorClocks:
    """Offsets in seconds per sensor code (sensor clock minus the consensus), bounded by `max_offset_s`."""

    def __init__(self, max_offset_s: float) -> None:
        self.max_offset_s = max_offset_s
        self.offset_s = np.zeros(0)
        self.learnt = np.zeros(0, dtype=bool)

    def corrected(self, sensor: np.ndarray, times_s: np.ndarray) -> np.ndarray:
        """`times_s` read on the clocks of `sensor` (codes), on the consensus clock."""
        self._grow(sensor)
        return times_s - self.offset_s[sensor]

    def learn(self, sensor: np.ndarray, deviation_s: np.ndarray) -> None:
        """Move each sensor's offset towards its median deviation (already corrected times minus the
        consensus of the burst)."""
        if not len(sensor):
            return
        self._grow(sensor)
        order = np.lexsort((deviation_s, sensor))
        sensor, deviation_s = sensor[order], deviation_s[order]
        firsts = np.r_[0, np.flatnonzero(np.diff(sensor)) + 1]
        counts = np.diff(np.r_[firsts, len(sensor)])
        enough = counts >= MIN_SAMPLES
        if not enough.any():
            return
        median = deviation_s[firsts + (counts - 1) // 2]
        codes = sensor[firsts][enough]
        gain = np.where(self.learnt[codes], GAIN, 1.0)
        self.offset_s[codes] += gain * median[enough]
        self.learnt[codes] = True
        self.offset_s[self.learnt] -= np.median(self.offset_s[self.learnt])
        np.clip(self.offset_s, -self.max_offset_s, self.max_offset_s, out=self.offset_s)

    def _grow(self, sensor: np.ndarray) -> None:
        need = int(sensor.max()) + 1 if len(sensor) else 0
        if need > len(self.offset_s):
            self.offset_s = np.r_[self.offset_s, np.zeros(need - len(self.offset_s))]
            self.learnt = np.r_[self.learnt, np.zeros(need - len(self.learnt), dtype=bool)]
