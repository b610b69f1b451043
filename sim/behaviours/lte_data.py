"""LTE data session: bursty PUSCH grants, PUCCH acknowledgements at the carrier edges, periodic SRS.

Follows sim.signals.lte.data_session: a grant in a free subframe with probability `load`, on
2^a 3^b 5^c resource blocks for 1-7 subframes; the HARQ acknowledgement goes on PUCCH 4 ms after the
last subframe (lower edge in slot 0, upper edge in slot 1); SRS in the last symbol every 10 ms.
"""

from __future__ import annotations

import numpy as np

from sim.behaviours.behaviour import Behaviour
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import Activity
from sim.signals import lte

MAX_GRANT_RBS = 12
SRS_PERIOD_SUBFRAMES = 10


def pucch_rows(carrier: Carrier, subframe: int) -> list[tuple[float, float, float, float, str, str]]:
    rbs = carrier.resource_blocks
    return [
        (
            subframe * lte.SUBFRAME_S + slot * lte.SLOT_S,
            lte.SLOT_S,
            lte.rb_centre_offset_hz(rbs, 0 if slot == 0 else rbs - 1, 1),
            lte.RB_HZ,
            "lte_pucch",
            "PUCCH",
        )
        for slot in (0, 1)
    ]


def pusch_row(carrier: Carrier, subframe: int, first_rb: int, rbs: int, run: int) -> tuple:
    return (
        subframe * lte.SUBFRAME_S,
        run * lte.SUBFRAME_S,
        lte.rb_centre_offset_hz(carrier.resource_blocks, first_rb, rbs),
        rbs * lte.RB_HZ,
        f"lte_pusch:{rbs}:{run}",
        "PUSCH",
    )


def plan(activity: Activity, carrier: Carrier, rng: np.random.Generator) -> PlannedBursts:
    width = carrier.resource_blocks
    sizes = np.array([n for n in lte.ALLOWED_RB if n <= min(MAX_GRANT_RBS, width - 2)])
    first_sf = int(np.ceil(activity.start_s / lte.SUBFRAME_S))
    end = int((activity.start_s + activity.duration_s) / lte.SUBFRAME_S)
    count = max(0, end - first_sf)
    # every draw made up front, one per subframe, so the walk below only jumps from grant to grant
    wanted = first_sf + np.flatnonzero(rng.random(count) < activity.load)
    size = sizes[rng.integers(0, len(sizes), count)]
    length = rng.integers(1, 8, count)
    place = rng.random(count)
    grants: list[tuple[int, int, int, int]] = []  # (subframe, first RB, RBs, subframes)
    busy_until = first_sf
    k = int(np.searchsorted(wanted, busy_until))
    while k < len(wanted):
        sf = int(wanted[k])
        i = sf - first_sf
        rbs, run = int(size[i]), int(min(length[i], end - sf))
        grants.append((sf, 1 + int(place[i] * (width - rbs - 1)), rbs, run))
        busy_until = sf + run + 1
        k = int(np.searchsorted(wanted, busy_until, side="left"))
    rows = [pusch_row(carrier, sf, first, rbs, run) for sf, first, rbs, run in grants]
    rows += [r for sf, _, _, run in grants if sf + run + 3 < end for r in pucch_rows(carrier, sf + run + 3)]
    starts = np.array([g[0] for g in grants], int)
    spans = np.array([g[3] + 1 for g in grants], int)
    srs = np.arange(-(-first_sf // SRS_PERIOD_SUBFRAMES) * SRS_PERIOD_SUBFRAMES, end, SRS_PERIOD_SUBFRAMES)
    owner = np.searchsorted(starts, srs, side="right") - 1
    free = (owner < 0) | (srs >= starts[np.maximum(owner, 0)] + spans[np.maximum(owner, 0)]) if grants else srs >= 0
    for sf, pick in zip(srs[free], rng.integers(1, 4, int(free.sum())), strict=True):
        rbs = min(width - 2, 4 * int(pick))
        rows.append(
            ((sf + 1) * lte.SUBFRAME_S - lte.SYMBOL_S, lte.SYMBOL_S,
             lte.rb_centre_offset_hz(width, 1, rbs), rbs * lte.RB_HZ, f"lte_srs:{rbs}", "SRS")
        )  # fmt: skip
    return PlannedBursts.from_rows(rows)


BEHAVIOUR = Behaviour("lte_data", "lte", plan)
