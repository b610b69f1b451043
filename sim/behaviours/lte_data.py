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
    sizes = [n for n in lte.ALLOWED_RB if n <= min(MAX_GRANT_RBS, width - 2)]
    subframe = int(np.ceil(activity.start_s / lte.SUBFRAME_S))
    end = int((activity.start_s + activity.duration_s) / lte.SUBFRAME_S)
    rows: list[tuple] = []
    busy_until = subframe
    draws = rng.random(max(0, end - subframe))
    for k, sf in enumerate(range(subframe, end)):
        if sf >= busy_until and draws[k] < activity.load:
            rbs = int(rng.choice(sizes))
            run = int(min(rng.integers(1, 8), end - sf))
            rows.append(pusch_row(carrier, sf, int(rng.integers(1, width - rbs)), rbs, run))
            if sf + run - 1 + 4 < end:
                rows.extend(pucch_rows(carrier, sf + run - 1 + 4))
            busy_until = sf + run + 1
        if sf % SRS_PERIOD_SUBFRAMES == 0 and sf >= busy_until:
            rbs = min(width - 2, 4 * int(rng.integers(1, 4)))
            rows.append(
                (
                    (sf + 1) * lte.SUBFRAME_S - lte.SYMBOL_S,
                    lte.SYMBOL_S,
                    lte.rb_centre_offset_hz(width, 1, rbs),
                    rbs * lte.RB_HZ,
                    f"lte_srs:{rbs}",
                    "SRS",
                )
            )
    return PlannedBursts.from_rows(rows)


BEHAVIOUR = Behaviour("lte_data", "lte", plan)
