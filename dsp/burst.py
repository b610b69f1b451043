"""The record of one detected burst, as every later stage sees it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Burst:
    """One connected time-frequency region of energy above the noise floor.

    Times are seconds from the first sample the detector was given; `freq_hz` is the absolute
    centre of the occupied band (tuner centre + offset). Power is relative to ADC full scale,
    where 0 dBFS is a complex tone of amplitude 1 (mean |x|^2 = 1).
    """

    start_s: float
    duration_s: float
    freq_hz: float
    bandwidth_hz: float
    power_dbfs: float
    snr_db: float
    energy_dbfs_s: float
    technology: str = "unknown"
    band: str | None = None
    operators: tuple[str, ...] = ()
    reason: str | None = None  # why a burst is `unknown` when a rule decided it
    # on before the first (still on at the last) frame of the stream, a sensor's dwell: its duration is only the
    # part seen, and cut at the start its start_s is where the stream began
    cut_at_start: bool = False
    cut_at_end: bool = False
    features: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def to_record(self) -> dict[str, object]:
        """The JSON object `cellward detect` prints (SYSTEM.md 2.1)."""
        return {
            "start_s": round(self.start_s, 7),
            "duration_s": round(self.duration_s, 7),
            "freq_hz": round(self.freq_hz, 1),
            "bandwidth_hz": round(self.bandwidth_hz, 1),
            "technology": self.technology,
            "snr_db": round(self.snr_db, 2),
            "power_dbfs": round(self.power_dbfs, 2),
            "energy_dbfs_s": round(self.energy_dbfs_s, 2),
            "band": self.band,
            "operators": list(self.operators),
            **({"reason": self.reason} if self.reason else {}),
        }
