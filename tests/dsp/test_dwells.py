"""A stream heard in a node's dwells: burst times on the stream's clock, whatever blocks the samples come in."""

from __future__ import annotations

import pytest

from dsp.dwells import Dwells
from tests.dsp.synthetic import Rect, scene

FS = 2.4e6
CENTRE_HZ = 1747.5e6  # B3 uplink


def heard(samples, block: int) -> list:
    dwells = Dwells(FS, CENTRE_HZ, 0.09)
    bursts = [b for first in range(0, len(samples), block) for b in dwells.hear(samples[first : first + block])]
    return bursts + dwells.finish()


def test_bursts_of_later_dwells_keep_the_streams_times_whatever_the_blocks() -> None:
    starts = (0.02, 0.13, 0.25)  # in the first, second and third dwell
    samples = scene(FS, 0.3, [Rect(t, 0.002, 300e3, 540e3, 15.0) for t in starts], seed=4)
    bursts = heard(samples, len(samples))
    assert [round(b.start_s, 3) for b in bursts] == list(starts)
    in_odd_blocks = heard(samples, 50_001)
    assert [(b.start_s, b.freq_hz) for b in in_odd_blocks] == [(b.start_s, b.freq_hz) for b in bursts]


def test_a_dwell_must_last() -> None:
    with pytest.raises(ValueError, match="more than 0 s"):
        Dwells(FS, CENTRE_HZ, 0.0)
