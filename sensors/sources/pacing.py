"""A dongle's sample clock: what a stream should have delivered by now, and what it lost when it fell behind.

From `restart()` (open, and every retune: the samples before a retune are discarded anyway) a dongle
produces samples at the sample rate into buffers that hold `buffer_s` of them. A consumer that comes
back later than the buffers can hold loses the oldest samples: an overrun. Sources count those lost
samples in `samples_dropped`.
"""

from __future__ import annotations

import time

DONGLE_BUFFER_S = 0.1  # about what librtlsdr's transfer buffers hold at 2.4 MS/s before they overrun


class StreamClock:
    """Wall-clock accounting of one stream: samples produced since `restart()` against samples delivered."""

    def __init__(self, sample_rate_hz: float, buffer_s: float = DONGLE_BUFFER_S) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.buffer_samples = buffer_s * sample_rate_hz
        self.restart()

    def restart(self) -> None:
        self._t0 = time.monotonic()
        self.delivered = 0  # samples delivered or lost since the restart

    def produced(self) -> float:
        return (time.monotonic() - self._t0) * self.sample_rate_hz

    def overrun(self) -> int:
        """Samples produced that no buffer holds any more (lost), counted as delivered; 0 when keeping up."""
        lost = int(self.produced() - self.delivered - self.buffer_samples)
        if lost <= 0:
            return 0
        self.delivered += lost
        return lost

    def after_read(self, num_samples: int) -> int:
        """For a device that streams on its own (USB, network): a read of `num_samples` has just returned;
        samples produced meanwhile that it did not return, beyond what the buffers hold, were lost."""
        self.delivered += num_samples
        return self.overrun()


class Pacer:
    """Holds a file or simulated source to a dongle's sample clock, or lets it run flat out.

    Before making a read's samples, `overrun()` says how many a real dongle would have lost because the
    consumer fell behind (the source skips them and counts them); after, `wait_for(n)` sleeps until the
    n samples would exist.
    """

    def __init__(self, sample_rate_hz: float, realtime: bool, buffer_s: float = DONGLE_BUFFER_S) -> None:
        self.realtime = realtime
        self.clock = StreamClock(sample_rate_hz, buffer_s)

    def restart(self) -> None:
        self.clock.restart()

    def overrun(self) -> int:
        return self.clock.overrun() if self.realtime else 0

    def wait_for(self, num_samples: int) -> None:
        self.clock.delivered += num_samples
        if not self.realtime:
            return
        delay = (self.clock.delivered - self.clock.produced()) / self.clock.sample_rate_hz
        if delay > 0:
            time.sleep(delay)
