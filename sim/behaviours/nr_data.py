"""NR n28 data session: CP-OFDM PUSCH slot runs at 15 kHz SCS (as sim.signals.nr.data_session)."""

from __future__ import annotations

import numpy as np

from sim.behaviours.behaviour import Behaviour
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import Activity
from sim.signals import nr

SCS_HZ = 15e3  # n28 runs at 15 kHz subcarrier spacing
MAX_PRBS = 9


def plan(activity: Activity, carrier: Carrier, rng: np.random.Generator) -> PlannedBursts:
    slot = nr.slot_s(SCS_HZ)
    prb = nr.prb_hz(SCS_HZ)
    width = carrier.resource_blocks
    rows: list[tuple] = []
    index = int(np.ceil(activity.start_s / slot))
    end = activity.start_s + activity.duration_s
    while (index + 1) * slot <= end:
        if rng.random() < activity.load:
            prbs = int(rng.integers(1, min(MAX_PRBS, width) + 1))
            first = int(rng.integers(0, width - prbs + 1))
            slots = int(min(rng.integers(1, 10), (end - index * slot) // slot))
            offset = (first + prbs / 2 - width / 2) * prb
            rows.append((index * slot, slots * slot, offset, prbs * prb, f"nr_pusch:{prbs}:{slots}", "PUSCH"))
            index += slots + int(rng.integers(1, 6))
        else:
            index += 1
    return PlannedBursts.from_rows(rows)


BEHAVIOUR = Behaviour("nr_data", "nr", plan)
