"""What the simulated sources share: an R820T-like tuner that retunes instantly and is paced by a clock."""

from __future__ import annotations

from sensors.sources.base import R820T_GAINS_DB
from sensors.sources.pacing import Pacer


class SimulatedTuner:
    """Tuning, gain steps and pacing of a source with no hardware behind it."""

    def __init__(self, sample_rate_hz: float, realtime: bool) -> None:
        self._pacer = Pacer(sample_rate_hz, realtime)
        self._freq_hz = 900e6

    def open(self) -> None:
        self._pacer.restart()

    def close(self) -> None:
        pass

    def tune(self, freq_hz: float) -> float:
        self._freq_hz = float(freq_hz)
        self._pacer.restart()  # a retune starts a new stream: what came before is discarded, not lost
        return self._freq_hz

    def gains_db(self) -> list[float]:
        return list(R820T_GAINS_DB)
