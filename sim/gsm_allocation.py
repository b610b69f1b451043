"""The network's allocation of GSM dedicated channels: no two phones of one operator on one ARFCN in one
timeslot of one TDMA frame.

A cell never assigns that, and neighbouring cells reuse an ARFCN only kilometres apart. Phones plan their
activities independently, each drawing a timeslot and a hopping list, so two calls of one operator could
land on the same ARFCN and timeslot in the same frames: one burst on the air that no network sends, heard as
one phone in two places. The allocation moves a later activity to the first timeslot that is free on every
frame and ARFCN it uses. Access bursts (RACH) are random access and may collide, as on the air.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.burst_plan import PlannedBursts
from sim.carriers import GSM_RASTER_HZ
from sim.signals import gsm

RANDOM_ACCESS = "RACH"
SLOTS_PER_FRAME = 8
_ARFCN_STRIDE = 1 << 16  # above every uplink channel number on the 200 kHz raster up to 13 GHz


class GsmAllocation:
    """The dedicated (frame, timeslot, ARFCN) slots each operator has handed out so far."""

    def __init__(self) -> None:
        self._taken: dict[str, list[tuple[int, int, np.ndarray]]] = {}

    def assign(self, operator: str, carrier_hz: float, planned: PlannedBursts) -> PlannedBursts:
        """`planned` (one activity of one phone), moved to a free timeslot when its own is taken."""
        dedicated = planned.channel != RANDOM_ACCESS
        if not dedicated.any():
            return planned
        slot = np.round(planned.start_s[dedicated] / gsm.SLOT_S).astype(np.int64)
        arfcn = np.round((carrier_hz + planned.offset_hz[dedicated]) / GSM_RASTER_HZ).astype(np.int64)
        first, last = int(slot.min()), int(slot.max())
        taken = [keys for lo, hi, keys in self._taken.get(operator, []) if lo <= last and hi >= first]
        frame_start = slot - slot % SLOTS_PER_FRAME
        for shift in range(SLOTS_PER_FRAME):
            moved = frame_start + (slot + shift) % SLOTS_PER_FRAME
            keys = moved * _ARFCN_STRIDE + arfcn
            if not any(np.isin(keys, other).any() for other in taken):
                break
        else:  # every timeslot busy on some frame: an overloaded cell; the activity keeps its own
            moved, keys = slot, slot * _ARFCN_STRIDE + arfcn
        self._taken.setdefault(operator, []).append((first - SLOTS_PER_FRAME, last + SLOTS_PER_FRAME, keys))
        if (moved == slot).all():
            return planned
        start_s = planned.start_s.copy()
        start_s[dedicated] += (moved - slot) * gsm.SLOT_S
        return replace(planned, start_s=start_s)
