"""Bursts from many dwells folded into activity reports: per channel and per window (1 s by default).

For each window and each raster channel with at least one phone burst the report gives the burst count,
the duty cycle over the time actually listened, mean and peak power in dBm, the strongest burst's SNR,
the channel's noise floor, first and last burst times, the gain and calibration used, the clipped share,
and the first `MAX_BURSTS_PER_REPORT` bursts so the controller can match a burst across sensors.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from cellward.messages import MAX_BURSTS_PER_REPORT, ActivityReport, BurstRecord
from dsp.band_plan import BandPlan
from dsp.burst import Burst

PHONE = ("gsm", "lte", "nr")


@dataclass(frozen=True, slots=True)
class Dwell:
    """One stretch of samples searched at one tuning."""

    centre_hz: float
    low_hz: float  # searched part
    high_hz: float
    start_s: float  # UTC epoch of the first searched sample
    listen_s: float
    gain_db: float
    calibration_db: float
    clipped_fraction: float


@dataclass
class _Heard:
    """A burst placed in absolute time and dBm."""

    start_s: float
    burst: Burst
    power_dbm: float
    dwell: Dwell


@dataclass
class _Window:
    dwells: list[Dwell] = field(default_factory=list)
    heard: dict[float, list[_Heard]] = field(default_factory=lambda: defaultdict(list))


class ActivityAggregator:
    """Collects dwells and their bursts; `close_windows(now)` returns the reports of finished windows."""

    def __init__(
        self, band_plan: BandPlan, channel_hz: float = 200e3, window_s: float = 1.0, report_unknown: bool = False
    ) -> None:
        self.band_plan = band_plan
        self.channel_hz = channel_hz
        self.window_s = window_s
        self.report_unknown = report_unknown
        self._windows: dict[int, _Window] = defaultdict(_Window)

    def channel_centre_hz(self, freq_hz: float) -> float:
        return round(freq_hz / self.channel_hz) * self.channel_hz

    def _wanted(self, burst: Burst) -> bool:
        if burst.technology in PHONE:
            return True
        return self.report_unknown and burst.band is not None and burst.reason is None

    def add(self, dwell: Dwell, bursts: list[Burst]) -> int:
        """Record a dwell and the bursts found in it (times relative to the dwell start); returns bursts kept."""
        window = self._windows[math.floor(dwell.start_s / self.window_s)]
        window.dwells.append(dwell)
        kept = 0
        for burst in bursts:
            if not self._wanted(burst):
                continue
            heard = _Heard(dwell.start_s + burst.start_s, burst, burst.power_dbfs + dwell.calibration_db, dwell)
            window.heard[self.channel_centre_hz(burst.freq_hz)].append(heard)
            kept += 1
        return kept

    def close_windows(self, now_s: float) -> list[ActivityReport]:
        """Reports of every window that ended at or before `now_s`, oldest first."""
        reports: list[ActivityReport] = []
        for index in sorted(self._windows):
            if (index + 1) * self.window_s > now_s:
                break
            window = self._windows.pop(index)
            for channel_hz in sorted(window.heard):
                reports.append(self._report(index, channel_hz, window))
        return reports

    def _report(self, index: int, channel_hz: float, window: _Window) -> ActivityReport:
        heard = sorted(window.heard[channel_hz], key=lambda h: h.start_s)
        covering = [d for d in window.dwells if d.low_hz <= channel_hz <= d.high_hz] or [heard[-1].dwell]
        listen_s = sum(d.listen_s for d in covering)
        samples_weight = sum(d.listen_s for d in covering) or 1.0
        clipped = sum(d.clipped_fraction * d.listen_s for d in covering) / samples_weight
        last_dwell = covering[-1]
        busy_s = sum(h.burst.duration_s for h in heard)
        strongest = max(heard, key=lambda h: h.power_dbm)
        mean_mw = sum(10 ** (h.power_dbm / 10) for h in heard) / len(heard)
        noise_dbm = (
            strongest.burst.power_dbfs
            - strongest.burst.snr_db
            + 10 * math.log10(self.channel_hz / max(strongest.burst.bandwidth_hz, 1.0))
            + strongest.dwell.calibration_db
        )
        votes = Counter(h.burst.technology for h in heard)
        technology = max(votes, key=lambda t: (votes[t], t in PHONE))
        band = self.band_plan.uplink_band(channel_hz)
        half = self.channel_hz / 2
        return ActivityReport(
            freq_hz=channel_hz,
            bandwidth_hz=self.channel_hz,
            band=band.name if band else None,
            operators=list(self.band_plan.operators(channel_hz - half, channel_hz + half)),
            technology=technology,
            window_start=index * self.window_s,
            window_s=self.window_s,
            listen_s=round(listen_s, 6),
            burst_count=len(heard),
            duty_cycle=min(1.0, busy_s / listen_s) if listen_s > 0 else 0.0,
            mean_power_dbm=round(10 * math.log10(mean_mw), 2),
            peak_power_dbm=round(strongest.power_dbm, 2),
            snr_db=round(float(strongest.burst.snr_db), 2),
            noise_floor_dbm=round(noise_dbm, 2),
            first_burst=heard[0].start_s,
            last_burst=max(h.start_s + h.burst.duration_s for h in heard),
            gain_db=last_dwell.gain_db,
            calibration_db=round(last_dwell.calibration_db, 2),
            clipped_fraction=min(1.0, clipped),
            bursts=[
                BurstRecord(
                    start=h.start_s,
                    duration_s=round(float(h.burst.duration_s), 7),
                    freq_hz=round(float(h.burst.freq_hz), 1),
                    bandwidth_hz=round(float(h.burst.bandwidth_hz), 1),
                    power_dbm=round(h.power_dbm, 2),
                    snr_db=round(float(h.burst.snr_db), 2),
                    technology=h.burst.technology,
                )
                for h in heard[:MAX_BURSTS_PER_REPORT]
            ],
            bursts_truncated=len(heard) > MAX_BURSTS_PER_REPORT,
        )
