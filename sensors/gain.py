"""Tuner gain per band: back off when a dwell clips, creep back up when it stays clean, and calibrate to dBm.

A phone a few metres away arrives near -65 dBm and drives the 8-bit ADC into clipping at high gain,
which flattens and spreads its bursts; a distant one sits near the noise floor and wants the most gain.
So each band has its own gain: after a dwell whose clipped fraction exceeds `clip_fraction_max` the
gain drops by `backoff_db`; after `recover_after_dwells` clean dwells it rises by `recover_step_db`
towards `max_db`. The back-off stops where the receiver noise would fall below `min_noise_lsb` ADC
steps: below about half a step the 8-bit ADC no longer dithers the noise, the noise floor turns into
quantisation patterns the detector reads as bursts, and every weak phone of the band is lost to one
strong or impulsive emitter (which then clips on; its dwells are marked by their clipped fraction).
The power scale follows: dBm = dBFS + calibration_db(gain), with
calibration_db(gain) = dbfs_to_dbm_at_0db + extra_db - gain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from sensors.sources.base import nearest_gain


class GainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    initial_db: float = Field(default=30.0, ge=0, le=60, description="starting gain for every band")
    min_db: float = Field(default=0.0, ge=0)
    max_db: float = Field(default=49.6, le=60)
    clip_fraction_max: float = Field(default=1e-4, gt=0, lt=1, description="clipped share that triggers a back-off")
    backoff_db: float = Field(default=6.0, gt=0)
    recover_after_dwells: int = Field(default=40, ge=1, description="clean dwells before stepping back up")
    recover_step_db: float = Field(default=3.0, gt=0)
    recover_below_dbfs: float = Field(default=-15.0, description="only step up when the peak sample is below this")
    min_noise_lsb: float = Field(
        default=0.7, ge=0, description="no back-off below this receiver noise, rms ADC steps per I and Q"
    )
    fixed_db: dict[str, float] = Field(default_factory=dict, description="band -> fixed gain (no automatic control)")


class PowerCalibration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dbfs_to_dbm_at_0db: float = Field(
        default=-12.0,
        description="dBm at the antenna port that reads 0 dBFS at 0 dB gain; measure it with a signal generator "
        "for evidence-grade powers (the default is a typical R820T2 figure)",
    )
    extra_db: float = Field(default=0.0, description="site correction: cable loss - antenna gain + offset")

    def calibration_db(self, gain_db: float) -> float:
        return self.dbfs_to_dbm_at_0db + self.extra_db - gain_db


def clipped_fraction(samples: np.ndarray, full_scale: float = 0.99) -> float:
    """Share of I and Q components at the ADC's full scale (an 8-bit dongle tops out at +-1.0)."""
    if samples.size == 0:
        return 0.0
    components = _interleaved(samples)
    return _count_at_or_over(components, np.float32(full_scale)) / components.size


def noise_sigma_lsb(samples: np.ndarray, lsb: float = 1 / 127.5) -> float:
    """Receiver noise per I and Q in ADC steps, from every 8th sample: the power about the median sample
    (which also takes out the DC offset) at its 20th percentile, which bursts in up to a fifth of the
    dwell move little (exponential: P20 = -ln(0.8) 2 sigma^2)."""
    if samples.size == 0:
        return 0.0
    sparse = samples[::8]
    centred = sparse - complex(np.median(sparse.real), np.median(sparse.imag))
    low_power = float(np.percentile(centred.real**2 + centred.imag**2, 20))
    return float(np.sqrt(low_power / (-2 * np.log(0.8)))) / lsb


def peak_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -200.0
    return float(10 * np.log10(max(_peak_power(_interleaved(samples)), 1e-20)))


def _interleaved(samples: np.ndarray) -> np.ndarray:
    """I and Q of each sample side by side, float32, for the kernels below."""
    return np.ascontiguousarray(samples, np.complex64).view(np.float32)


# The node checks every dwell with these two. numpy's temporaries (|x|, a mask, I^2, Q^2 and their sum, each a dwell
# long, just allocated) cost it 0.56 ms a dwell; one pass each over the samples gives the same figures.
@njit(cache=True, nogil=True)
def _count_at_or_over(values: np.ndarray, level: np.float32) -> int:
    count = 0
    for i in range(values.shape[0]):
        count += abs(values[i]) >= level
    return count


@njit(cache=True, nogil=True)
def _peak_power(components: np.ndarray) -> float:
    """The largest I^2 + Q^2 of interleaved I and Q, in float32 arithmetic as numpy's on complex64."""
    peak = np.float32(0.0)
    for i in range(components.shape[0] // 2):
        power = components[2 * i] * components[2 * i] + components[2 * i + 1] * components[2 * i + 1]
        peak = power if power > peak else peak
    return peak


@dataclass
class BandGain:
    gain_db: float
    manual: bool = False
    clean_dwells: int = 0
    at_noise_floor: bool = False  # clipping, but backing off further would sink the noise below min_noise_lsb


class GainController:
    """The gain each band is scanned at, and the rule that moves it."""

    def __init__(self, config: GainConfig, steps_db: list[float]) -> None:
        self.config = config
        self.steps_db = sorted(steps_db) or [config.initial_db]
        self.bands: dict[str, BandGain] = {}
        self.backoffs = 0
        self.noise_floor_holds = 0  # times a band began to clip on at the lowest gain its noise allows

    def _state(self, band: str) -> BandGain:
        if band not in self.bands:
            fixed = self.config.fixed_db.get(band)
            start = fixed if fixed is not None else self.config.initial_db
            self.bands[band] = BandGain(self._snap(start), manual=fixed is not None)
        return self.bands[band]

    def _snap(self, gain_db: float) -> float:
        allowed = [g for g in self.steps_db if self.config.min_db <= g <= self.config.max_db] or self.steps_db
        return nearest_gain(allowed, gain_db)

    def gain_for(self, band: str) -> float:
        return self._state(band).gain_db

    def observe(self, band: str, clipped: float, peak: float, noise_lsb: Callable[[], float]) -> bool:
        """Account for one dwell (`noise_lsb` is asked only when it clipped); True when the band's gain changed."""
        state = self._state(band)
        if state.manual:
            return False
        before = state.gain_db
        if clipped > self.config.clip_fraction_max:
            lower = self._step(before, -self.config.backoff_db)
            if noise_lsb() * 10 ** ((lower - before) / 20) >= self.config.min_noise_lsb:
                state.gain_db = lower
            elif not state.at_noise_floor:
                self.noise_floor_holds += 1
            state.at_noise_floor = state.gain_db == before
            state.clean_dwells = 0
            if state.gain_db != before:
                self.backoffs += 1
        else:
            state.clean_dwells += 1
            if state.clean_dwells >= self.config.recover_after_dwells and peak < self.config.recover_below_dbfs:
                state.gain_db = self._step(before, self.config.recover_step_db)
                state.clean_dwells = 0
        return state.gain_db != before

    def _step(self, gain_db: float, delta_db: float) -> float:
        """The nearest step at least |delta| away in the given direction, within the limits."""
        target = min(max(gain_db + delta_db, self.config.min_db), self.config.max_db)
        candidates = [g for g in self.steps_db if self.config.min_db <= g <= self.config.max_db]
        if delta_db < 0:
            below = [g for g in candidates if g <= target]
            return max(below) if below else min(candidates)
        above = [g for g in candidates if g >= target]
        return min(above) if above else max(candidates)

    def set_manual(self, band: str | None, gain_db: float | None, bands: list[str]) -> dict[str, float]:
        """Fix (gain_db) or release (None) the gain of one band or all; returns the resulting gains."""
        for name in bands if band is None else [band]:
            state = self._state(name)
            if gain_db is None:
                state.manual = False
                state.clean_dwells = 0
            else:
                state.manual = True
                state.gain_db = self._snap(gain_db)
        return {name: self._state(name).gain_db for name in (bands if band is None else [band])}

    def snapshot(self) -> dict[str, float]:
        return {name: state.gain_db for name, state in sorted(self.bands.items())}
