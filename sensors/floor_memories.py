"""Each tuning's memory of its noise floor between dwells (`dsp.noise_floor.FloorMemory`).

A dwell's floor is in full-scale units, so it holds only for the gain it was measured at: when a tuning's
gain changes, its memory is rescaled by the change the next dwell's floor shows (`FloorMemory.gain_changed`)
rather than started again, which would learn whatever is on then (the phone whose level made the gain back
off). The node drops them all when it builds a new scan plan (a reloaded config, a dongle opened again),
since another dongle has another floor.
"""

from __future__ import annotations

from dsp.noise_floor import FloorMemory


class FloorMemories:
    def __init__(self) -> None:
        self._by_tuning: dict[tuple[float, float], tuple[float, FloorMemory]] = {}

    def for_dwell(self, centre_hz: float, sample_rate_hz: float, gain_db: float) -> FloorMemory:
        """The memory of dwells at this tuning and sample rate, told when the gain has changed since the last."""
        key = (centre_hz, sample_rate_hz)
        remembered = self._by_tuning.get(key)
        if remembered is None:
            remembered = (gain_db, FloorMemory())
        elif remembered[0] != gain_db:
            remembered[1].gain_changed()
            remembered = (gain_db, remembered[1])
        self._by_tuning[key] = remembered
        return remembered[1]

    def clear(self) -> None:
        self._by_tuning.clear()
