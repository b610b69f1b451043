"""A simulated world for one sensor, rendered per read with sim.signals: phones and tones at fixed levels.

Stands in for the simulator's sensor feed in tests and benchmarks: what the dongle would deliver at the
tuned frequency, with the receiver's noise, DC, IQ imbalance, crystal error and 8-bit clipping. Levels
follow the gain: an emitter's SNR is given at `reference_gain_db` and moves dB for dB with the gain, so
a strong phone clips the ADC at high gain just as it does on a real dongle.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sensors.sources.base import R820T_GAINS_DB, SourceCounters, SourceInfo, nearest_gain
from sensors.sources.faults import FaultWindow
from sensors.sources.rtlsdr import RTLSDR_RANGE_HZ
from sensors.sources.simulated_tuner import SimulatedTuner

if TYPE_CHECKING:
    from sim.signals.truth import BurstWave


class SceneEmitter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    technology: Literal["gsm_call", "gsm_bcch", "tone"] = Field(
        description="a GSM phone in a call, a GSM base station's BCCH carrier (FCCH included), or a steady carrier"
    )
    freq_hz: float = Field(gt=0, description="carrier frequency (true RF)")
    snr_db: float = Field(description="in-band SNR at the reference gain")
    timeslot: int = Field(default=0, ge=0, le=7, description="GSM timeslot")


class SceneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["scene"] = "scene"
    sample_rate_hz: float = Field(default=2.4e6, gt=0)
    ppm: float = Field(default=0.0, ge=-100, le=100, description="the simulated dongle's crystal error")
    reference_gain_db: float = Field(default=30.0, description="gain at which emitter SNRs are given")
    realtime: bool = Field(default=True, description="deliver at the sample rate; false = as fast as possible")
    seed: int = 0
    emitters: list[SceneEmitter] = Field(default_factory=list)
    faults: list[FaultWindow] = Field(default_factory=list, description="injected unplug windows")


class SceneSource(SimulatedTuner):
    def __init__(self, config: SceneConfig) -> None:
        from sim.signals.receiver import Receiver

        self.config = config
        self.info = SourceInfo(
            "scene", f"{len(config.emitters)} simulated emitters", config.sample_rate_hz, *RTLSDR_RANGE_HZ
        )
        self.counters = SourceCounters()
        self.first_sample_s: float | None = None
        self.receiver = Receiver(ppm=config.ppm)
        self._rng = np.random.default_rng(config.seed)
        super().__init__(config.sample_rate_hz, config.realtime)
        self._gain_db = config.reference_gain_db
        self._t_s = 0.0  # stream time of the next sample; GSM frames are placed on this clock
        self._multiframes: dict[int, dict[int, BurstWave]] = {}

    def _gsm_call(self, index: int, emitter: SceneEmitter, start_s: float, duration_s: float, snr_db: float):
        """A call's bursts over [start_s, start_s + duration_s), reusing one rendered 26-multiframe.

        GMSK synthesis costs about 8 ms a burst, far slower than real time, so each emitter's 25 bursts
        are made once and moved to later frames (the payload bits repeat every 120 ms, which no energy
        detector can tell).
        """
        from sim.signals import gsm
        from sim.signals.truth import Emission

        fs = self.config.sample_rate_hz
        offset_s = emitter.timeslot * gsm.SLOT_S
        if index not in self._multiframes:
            call = gsm.call(fs, emitter.freq_hz, emitter.timeslot, 0.0, 26.5 * gsm.FRAME_S, 0.0, self._rng)
            self._multiframes[index] = {round((b.start_s - offset_s) / gsm.FRAME_S) % 26: b for b in call.bursts}
        templates = self._multiframes[index]
        first, last = int(np.floor(start_s / gsm.FRAME_S)), int(np.ceil((start_s + duration_s) / gsm.FRAME_S))
        bursts = tuple(
            replace(templates[frame % 26], start_s=frame * gsm.FRAME_S + offset_s)
            for frame in range(first, last + 1)
            if frame % 26 in templates
        )
        return Emission("gsm", emitter.freq_hz, bursts, snr_db)

    def set_gain(self, gain_db: float) -> float:
        self._gain_db = nearest_gain(R820T_GAINS_DB, gain_db)
        return self._gain_db

    def read(self, num_samples: int) -> np.ndarray:
        from sim.signals import gsm, non_phone
        from sim.signals.scene import Scene

        fs = self.config.sample_rate_hz
        lost = self._pacer.overrun()  # the consumer fell behind: a dongle would have lost these
        self.counters.samples_dropped += lost
        self._t_s += lost / fs
        duration_s = num_samples / fs
        scene = Scene(
            fs, self._freq_hz, duration_s, self.receiver, seed=int(self._rng.integers(1 << 31)), start_s=self._t_s
        )
        shift_db = self._gain_db - self.config.reference_gain_db
        # the tuner's crystal error puts the true frequency where the dongle would see it
        for index, emitter in enumerate(self.config.emitters):
            if abs(emitter.freq_hz - self._freq_hz) > fs:
                continue
            snr = emitter.snr_db + shift_db
            if emitter.technology == "gsm_call":
                scene.add(self._gsm_call(index, emitter, self._t_s - 0.005, duration_s + 0.01, snr))
            elif emitter.technology == "gsm_bcch":
                scene.add(gsm.bcch(fs, emitter.freq_hz, self._t_s - 0.005, duration_s + 0.01, snr, self._rng))
            else:
                scene.add(non_phone.cw(fs, emitter.freq_hz, self._t_s, duration_s, snr, self._rng, drift_hz=0.0))
        self._t_s += duration_s
        samples, _ = scene.render_complex()
        self._pacer.wait_for(num_samples)
        self.counters.samples_in += num_samples
        return samples
