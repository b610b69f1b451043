"""Ground truth for generated signals: what was transmitted, where, when, and how strong."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PHONE_TECHNOLOGIES = ("gsm", "lte", "nr")


@dataclass(frozen=True, slots=True)
class TruthBurst:
    """One transmitted burst. `freq_hz` is the true RF centre of the occupied band (before any tuner
    error); `snr_db` is mean power over the active samples / thermal noise in `bandwidth_hz`."""

    start_s: float
    duration_s: float
    freq_hz: float
    bandwidth_hz: float
    technology: str
    channel: str
    snr_db: float

    @property
    def is_phone_uplink(self) -> bool:
        return self.technology in PHONE_TECHNOLOGIES

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def to_record(self) -> dict[str, object]:
        return asdict(self) | {"is_phone_uplink": self.is_phone_uplink}


@dataclass(frozen=True, slots=True)
class BurstWave:
    """A burst's waveform: unit mean power over `samples`, centred at `offset_hz` from the emission's
    carrier; `lead_s` is how long before the truth's start the samples begin (a GSM power ramp)."""

    start_s: float
    samples: np.ndarray
    offset_hz: float
    bandwidth_hz: float
    duration_s: float
    channel: str
    lead_s: float = 0.0
    gain_db: float = 0.0  # relative to the emission's SNR (fading, power control)


@dataclass(frozen=True)
class Emission:
    """One transmitter's bursts on one carrier (a phone, a telemetry node, a base station, a spur)."""

    technology: str
    carrier_hz: float
    bursts: tuple[BurstWave, ...]
    snr_db: float
