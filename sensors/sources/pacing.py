"""Holding a file or simulated source to the sample rate of a real dongle, or letting it run flat out."""

from __future__ import annotations

import time


class Pacer:
    """Sleeps so that `samples` delivered never run ahead of wall-clock time at `sample_rate_hz`."""

    def __init__(self, sample_rate_hz: float, realtime: bool) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.realtime = realtime
        self._t0 = time.monotonic()
        self._delivered = 0

    def restart(self) -> None:
        self._t0 = time.monotonic()
        self._delivered = 0

    def wait_for(self, num_samples: int) -> None:
        self._delivered += num_samples
        if not self.realtime:
            return
        due = self._t0 + self._delivered / self.sample_rate_hz
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:
            self.restart()  # fell far behind (a slow host): do not try to catch up with a burst of reads
