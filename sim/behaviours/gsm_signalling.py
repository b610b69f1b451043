"""GSM signalling without a call: an SMS or a location update (RACH, then SDCCH/8 blocks).

The phone sends an access burst on the RACH, is given an SDCCH, and exchanges its messages there: one
four-burst block per 51-multiframe (235 ms). An SMS takes about ten blocks, a location update six. Both are
on the uplink of the serving cell's control carrier (C0: RACH always, SDCCH/8 on one of its timeslots here),
the channel a site's downlink survey finds, which the scan focus can keep in its revisits.
"""

from __future__ import annotations

import numpy as np

from sim.behaviours.behaviour import Behaviour
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import Activity
from sim.signals import gsm

MULTIFRAME_51_S = 51 * gsm.FRAME_S


def _exchange(blocks: int):
    def plan(activity: Activity, carrier: Carrier, rng: np.random.Generator) -> PlannedBursts:
        rach_frame = int(np.ceil(activity.start_s / gsm.FRAME_S))
        rows = [(rach_frame * gsm.FRAME_S, gsm.ACCESS_BITS * gsm.BIT_S, 0.0, gsm.CHANNEL_HZ, "gsm_access", "RACH")]
        timeslot = int(rng.integers(1, 8))
        first = rach_frame + int(rng.integers(10, 30))  # immediate assignment, then the first SDCCH block
        for block in range(blocks):
            for i in range(4):
                frame = first + round(block * MULTIFRAME_51_S / gsm.FRAME_S) + i
                rows.append(
                    (
                        frame * gsm.FRAME_S + timeslot * gsm.SLOT_S,
                        gsm.NORMAL_BITS * gsm.BIT_S,
                        0.0,
                        gsm.CHANNEL_HZ,
                        "gsm_normal",
                        "SDCCH/8",
                    )
                )
        return PlannedBursts.from_rows(rows)

    return plan


SMS = Behaviour("gsm_sms", "gsm", _exchange(10))
LOCATION_UPDATE = Behaviour("gsm_location_update", "gsm", _exchange(6))
# sent on the serving cell's control carrier (C0), not on a phone's traffic channels (sim.world)
SIGNALLING_KINDS = frozenset({SMS.name, LOCATION_UPDATE.name})
