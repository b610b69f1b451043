"""GSM voice call: one normal burst per TDMA frame on the phone's timeslot (TS 45.002 TCH/F).

SACCH on frame 12 of every 26-multiframe, nothing on frame 25 (the 120 ms gap); with DTX, speech
pauses leave only the SACCH and SID frames (frames 0-7 of each multiframe, as in sim.signals.gsm.call);
frequency hopping cycles through the carrier's hopping list, frame by frame.
"""

from __future__ import annotations

import numpy as np

from sim.behaviours.behaviour import Behaviour
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import Activity
from sim.signals import gsm


def plan(activity: Activity, carrier: Carrier, rng: np.random.Generator) -> PlannedBursts:
    timeslot = int(rng.integers(0, 8))
    frames = np.arange(
        int(np.ceil(activity.start_s / gsm.FRAME_S)), int((activity.start_s + activity.duration_s) / gsm.FRAME_S)
    )
    position = frames % 26
    keep = position != 25
    if activity.dtx:
        keep &= (position == 12) | (position < 8)
    frames, position = frames[keep], position[keep]
    channel = np.where(position == 12, "SACCH", "TCH/F-SID" if activity.dtx else "TCH/F").astype(object)
    hops = np.asarray(carrier.channels_hz)[frames % len(carrier.channels_hz)] - carrier.centre_hz
    n = frames.shape[0]
    return PlannedBursts(
        start_s=frames * gsm.FRAME_S + timeslot * gsm.SLOT_S,
        duration_s=np.full(n, gsm.NORMAL_BITS * gsm.BIT_S),
        offset_hz=hops,
        bandwidth_hz=np.full(n, gsm.CHANNEL_HZ),
        wave=np.full(n, "gsm_normal", object),
        channel=channel,
    )


BEHAVIOUR = Behaviour("gsm_call", "gsm", plan)
