"""The simulator's view of one sensor (sim.feed.SensorFeed) as a source: a whole site's phones, walls and
receivers, heard by this sensor, in real time or as fast as possible."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cellward.config import ConfigError
from sensors.sources.base import R820T_GAINS_DB, SourceCounters, SourceError, SourceInfo, nearest_gain
from sensors.sources.faults import FaultWindow
from sensors.sources.rtlsdr import RTLSDR_RANGE_HZ
from sensors.sources.simulated_tuner import SimulatedTuner

WALL_CLOCK_SLACK_S = 0.002  # the correlator matches bursts across sensors to 5 ms


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["sim"] = "sim"
    scenario: Path = Field(description="simulator scenario file (YAML)")
    site: str | None = Field(default=None, description="site file, or 'small' / 'reference'; default: the scenario's")
    sensor: str = Field(description="which sensor of the simulated site this node is")
    sample_rate_hz: float = Field(default=2.4e6, gt=0)
    start_s: float = Field(default=0.0, ge=0, description="simulation time of the first sample")
    realtime: bool = Field(default=True, description="deliver at the sample rate; false = as fast as possible")
    wall_clock: bool = Field(
        default=False,
        description="start at the simulation time the wall clock reads now (the scenario's start_utc), ignoring "
        "start_s, so several processes (IQ sensors, event-mode sensors) hear the same burst at the same instant",
    )
    faults: list[FaultWindow] = Field(default_factory=list, description="injected unplug windows")


class SimFeedSource(SimulatedTuner):
    def __init__(self, config: SimConfig) -> None:
        from sim.commands import load_world
        from sim.feed import SensorFeed

        self.config = config
        try:
            world = load_world(config.site, config.scenario)
            self.feed = SensorFeed(world, config.sensor)
            self._epoch0_s = world.epoch_s(0.0)
        except (ConfigError, ValueError, KeyError, OSError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise SourceError(f"simulator source: {message}") from None
        self.info = SourceInfo(
            "sim", f"sensor {config.sensor} of {world.site.name}", config.sample_rate_hz, *RTLSDR_RANGE_HZ
        )
        self.counters = SourceCounters()
        self.first_sample_s: float | None = None  # on the wall clock, the simulated sample time
        super().__init__(config.sample_rate_hz, config.realtime)
        self._t_s = config.start_s

    def open(self) -> None:
        if self.config.wall_clock:
            # before the scenario's start there is no simulated world to hear: wait for it
            time.sleep(max(0.0, self._epoch0_s - time.time()))
            self._t_s = time.time() - self._epoch0_s
        super().open()

    def set_gain(self, gain_db: float) -> float:
        gain = nearest_gain(R820T_GAINS_DB, gain_db)
        self.feed.set_tuner_gain(gain)
        return gain

    def read(self, num_samples: int) -> np.ndarray:
        if self.config.wall_clock:
            self._catch_up()
        lost = self._pacer.overrun()  # the consumer fell behind: a dongle would have lost these
        self.counters.samples_dropped += lost
        self._t_s += lost / self.config.sample_rate_hz
        samples = self.feed.read(self._freq_hz, self.config.sample_rate_hz, self._t_s, num_samples)
        # Synthesis can take longer than the samples last (an LTE carrier on a busy box: 57-101 ms for a 90 ms
        # dwell); stamped by the read's return, the dwell would be that much late at this sensor alone.
        self.first_sample_s = self._epoch0_s + self._t_s if self.config.wall_clock else None
        self._t_s += num_samples / self.config.sample_rate_hz
        self._pacer.wait_for(num_samples)
        self.counters.samples_in += num_samples
        return samples

    def _catch_up(self) -> None:
        """On a loaded machine the simulation falls behind the wall clock; skip ahead (as a dongle drops
        samples on a USB overrun) so the node's wall-clock timestamps stay the simulated sample times."""
        behind_s = time.time() - self._epoch0_s - self._t_s
        if behind_s > WALL_CLOCK_SLACK_S:
            self._t_s += behind_s
            self.counters.samples_dropped += round(behind_s * self.config.sample_rate_hz)
            self._pacer.restart()
