"""The one interface every IQ source (dongle, network, file, simulator) offers the scanner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


class SourceError(Exception):
    """A source that cannot be used as configured (missing library, no such device, bad file).

    The message is for the person fitting the sensor: what is wrong and what to do. Retrying without a
    change will not help, but the node keeps retrying with backoff because a dongle may be plugged in.
    """


class SourceFault(SourceError):  # noqa: N818 - a fault, not a programming error
    """A source that was working and failed (dongle unplugged, server gone, USB error); retry with backoff."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the status message says about the front end."""

    kind: str
    description: str
    sample_rate_hz: float
    freq_min_hz: float
    freq_max_hz: float


@dataclass(slots=True)
class SourceCounters:
    """Counters a source keeps for the stats message and /metrics."""

    samples_in: int = 0
    samples_dropped: int = 0
    usb_errors: int = 0


@runtime_checkable
class IQSource(Protocol):
    """Complex baseband at a fixed sample rate, tunable, with a gain; full scale = 1.0.

    `open` may raise SourceError (unusable) or SourceFault (try again later); `read` raises SourceFault
    when the device goes away. `tune` returns the frequency actually set. Sources count samples read
    and errors in `counters`. `first_sample_s`: the epoch time of the first sample the last `read`
    returned, when the source knows it from its own sample clock (the simulator on the wall clock); None
    when only the read's return tells (a dongle or a network stream: the node then stamps the dwell by
    the clock when the read returns). There is no ppm setting: the node corrects the crystal error
    itself, by asking for an offset frequency (`corrected_tuning_hz`), the same way for every source.
    """

    info: SourceInfo
    counters: SourceCounters
    first_sample_s: float | None

    def open(self) -> None: ...

    def close(self) -> None: ...

    def tune(self, freq_hz: float) -> float: ...

    def set_gain(self, gain_db: float) -> float: ...

    def gains_db(self) -> list[float]: ...

    def read(self, num_samples: int) -> np.ndarray: ...


def nearest_gain(gains_db: list[float], wanted_db: float) -> float:
    """The tuner gain step closest to `wanted_db` (R820T steps are uneven: 0, 0.9, 1.4, ... 49.6 dB)."""
    return min(gains_db, key=lambda g: abs(g - wanted_db))


# R820T/R828D gain table (tenths of dB as librtlsdr reports them), used by rtl_tcp and the simulator.
R820T_GAINS_DB = [
    g / 10
    for g in (
        0,
        9,
        14,
        27,
        37,
        77,
        87,
        125,
        144,
        157,
        166,
        197,
        207,
        229,
        254,
        280,
        297,
        328,
        338,
        364,
        372,
        386,
        402,
        421,
        434,
        439,
        445,
        480,
        496,
    )
]
