"""LTE idle phone: a periodic tracking-area update (PRACH preamble, Msg3 and a few short PUSCH).

Every `period_s` from the activity's start: a PRACH format 0 preamble (1.08 MHz, 0.9 ms), Msg3 on
three resource blocks 5 ms later, then the RRC set-up complete and TAU request as single-subframe PUSCH
grants with their PUCCH acknowledgements, all within about 60 ms.
"""

from __future__ import annotations

import numpy as np

from sim.behaviours.behaviour import Behaviour
from sim.behaviours.lte_data import pucch_rows, pusch_row
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import Activity
from sim.signals import lte

PRACH_BANDWIDTH_HZ = 1.0475e6  # 839 subcarriers at 1.25 kHz
PRACH_DURATION_S = 0.9031e-3


def plan(activity: Activity, carrier: Carrier, rng: np.random.Generator) -> PlannedBursts:
    rows: list[tuple] = []
    width = carrier.resource_blocks
    for t in np.arange(activity.start_s, activity.start_s + activity.duration_s, activity.period_s):
        sf = int(np.ceil(t / lte.SUBFRAME_S))
        rows.append(
            (
                sf * lte.SUBFRAME_S,
                PRACH_DURATION_S,
                lte.rb_centre_offset_hz(width, 2, 6),
                PRACH_BANDWIDTH_HZ,
                "lte_prach",
                "PRACH",
            )
        )
        rows.append(pusch_row(carrier, sf + 5, int(rng.integers(1, width - 3)), 3, 1))
        for gap in (20, 35, 50):
            rbs = int(rng.choice([2, 3, 4, 6]))
            grant = sf + gap + int(rng.integers(0, 5))
            rows.append(pusch_row(carrier, grant, int(rng.integers(1, width - rbs)), rbs, 1))
            rows.extend(pucch_rows(carrier, grant + 4))
    return PlannedBursts.from_rows(rows)


BEHAVIOUR = Behaviour("lte_idle", "lte", plan)
