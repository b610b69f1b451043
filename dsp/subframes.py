"""Report LTE uplink per subframe, the transmission time interval a phone is scheduled in.

An LTE PUSCH "run" on the air is a sequence of grants, one per 1 ms subframe, each with its own
transport block; in subframes where the cell has configured sounding, the PUSCH is shortened and the
last SC-FDMA symbol carries the SRS instead, at the same power over nearly the same band. Energy
detection cannot see that symbol boundary, so it sees the run as one block. Cutting the run on the
subframe grid from its start gives one report per scheduled transmission, which is what activity
counts and duty cycles downstream are made of. NR runs are left whole: a slot run with one allocation
has no such punctuation.
"""

from __future__ import annotations

import math
from dataclasses import replace

from dsp.burst import Burst

LTE_SUBFRAME_S = 1e-3


def split_into_subframes(burst: Burst) -> list[Burst]:
    """An LTE burst cut on its subframe grid (a last piece under a quarter subframe joins the one before); only
    the first and last pieces may have been cut by the stream."""
    if burst.technology != "lte" or burst.duration_s < 1.5 * LTE_SUBFRAME_S:
        return [burst]
    count = max(1, math.floor(burst.duration_s / LTE_SUBFRAME_S + 0.75))
    pieces = []
    for k in range(count):
        start = burst.start_s + k * LTE_SUBFRAME_S
        end = burst.end_s if k == count - 1 else start + LTE_SUBFRAME_S
        duration = end - start
        energy = burst.power_dbfs + 10 * math.log10(duration)
        pieces.append(
            replace(
                burst,
                start_s=start,
                duration_s=duration,
                energy_dbfs_s=energy,
                cut_at_start=burst.cut_at_start and k == 0,
                cut_at_end=burst.cut_at_end and k == count - 1,
            )
        )
    return pieces
