"""Each tuning's memory of its noise floor between dwells (`dsp.noise_floor.FloorMemory`).

A dwell's floor is in full-scale units, so it holds only for the gain it was measured at: a tuning's
memory starts again when its gain changes. The node drops them all when it builds a new scan plan (a
reloaded config, a dongle opened again), since another dongle has another floor.
"""

from __future__ import annotations

from dsp.noise_floor import FloorMemory


class FloorMemories:
    def __init__(self) -> None:
        self._by_tuning: dict[tuple[float, float], tuple[float, FloorMemory]] = {}

    def for_dwell(self, centre_hz: float, sample_rate_hz: float, gain_db: float) -> FloorMemory:
        """The memory of dwells at this tuning, sample rate and gain (a new one if the gain has changed)."""
        key = (centre_hz, sample_rate_hz)
        remembered = self._by_tuning.get(key)
        if remembered is None or remembered[0] != gain_db:
            remembered = (gain_db, FloorMemory())
            self._by_tuning[key] = remembered
        return remembered[1]

    def clear(self) -> None:
        self._by_tuning.clear()
