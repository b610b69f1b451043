"""Bursts from many dwells folded into activity reports: per channel and per window (1 s by default).

For each window and each raster channel with at least one phone burst the report gives the burst count,
the duty cycle over the time actually listened, mean and peak power in dBm, the strongest burst's SNR,
the channel's noise floor, first and last burst times, the gain and calibration used, the clipped share,
and the first `MAX_BURSTS_PER_REPORT` bursts so the controller can match a burst across sensors.

Prompt first report. A window is reported once it has ended, so the first burst of a new phone would wait
up to a window before it leaves the node. With `prompt_first`, when a channel's novelty group has been
silent for `quiet_s`, the channels it is heard on again have their window cut at the end of the dwell that
first heard it: that part is reported at once (`cut_early`), the rest of the window follows as usual in a
report starting at the cut. The group of an LTE or NR channel is its network (band and operator, or the
channel outside them): one carrier holds every phone of the operator and a phone's allocation moves across
it, so a new channel there is no news. A GSM channel (an ARFCN) is its own group: a cell gives each call a
channel and timeslot of its own, so a quiet ARFCN heard again is a new phone (or a phone's next hop, heard
in the same dwell when its ARFCNs share a tuning); grouped by network, a second call of an operator heard
lately waited for the window's end (the demo's D-1-09 call, beside the road caller: 1.2 s). Steady activity
keeps the whole window, so it costs no extra messages. The nodes scan in site-wide synchronised slots, so
every sensor that hears a new phone cuts at the same dwell end.
`ReportWindows` decides which bursts go in which report; the IQ node (`ActivityAggregator`) and the
simulator's event-mode nodes (sensors.event_fleet) fold its pieces into reports.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

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


T = TypeVar("T")


@dataclass(frozen=True)
class Piece(Generic[T]):
    """What one report covers: a channel (`key`), a stretch of one window, what was heard there in time
    order, and the dwells that started in that stretch."""

    key: Hashable
    start_s: float
    end_s: float
    heard: list[T]
    dwells: list[Dwell]
    cut_early: bool


@dataclass
class _Window(Generic[T]):
    dwells: list[Dwell] = field(default_factory=list)
    heard: dict[Hashable, list[tuple[float, T]]] = field(default_factory=lambda: defaultdict(list))
    cut_at: dict[Hashable, float] = field(default_factory=dict)  # key -> where its reported part ended


class ReportWindows(Generic[T]):
    """Which heard bursts go in which report: per key (a channel) and window, a window's reports once it has
    ended, and with `prompt_first` the part up to the first dwell of a key silent for `quiet_s` at once."""

    def __init__(
        self,
        window_s: float = 1.0,
        prompt_first: bool = False,
        quiet_s: float = 10.0,
        novelty: Callable[[Hashable, T], Hashable] = lambda key, _item: key,
    ) -> None:
        """`novelty(key, item)`: what must have been silent for activity on `key` to be new, decided by the
        first item heard on it (by default the key itself; the nodes use `novelty_group`)."""
        self.window_s = window_s
        self.prompt_first = prompt_first
        self.quiet_s = quiet_s
        self.novelty = novelty
        self._windows: dict[int, _Window[T]] = defaultdict(_Window)
        self._last_heard: dict[Hashable, float] = {}  # novelty group -> its latest burst
        self._groups: dict[Hashable, Hashable] = {}  # key -> novelty(key)
        self._cut: list[Piece[T]] = []

    def add(self, dwell: Dwell, heard: list[tuple[Hashable, float, T]]) -> None:
        """A dwell and what it heard: (key, start time, item) per burst, times in UTC epoch seconds."""
        index = math.floor(dwell.start_s / self.window_s)
        window = self._windows[index]
        window.dwells.append(dwell)
        new: set[Hashable] = set()
        fresh: set[Hashable] = set()  # novelty groups silent for quiet_s before this dwell
        for key, start_s, item in heard:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = self.novelty(key, item)
            last_s = self._last_heard.get(group, -math.inf)
            if self.prompt_first and (group in fresh or start_s - last_s > self.quiet_s):
                fresh.add(group)
                if key not in window.cut_at:
                    new.add(key)
            window.heard[key].append((start_s, item))
            self._last_heard[group] = max(last_s, start_s)
        window_end_s = (index + 1) * self.window_s
        # ms: the wire's resolution for window_start, so the rest of the window starts exactly where this ends
        cut_s = min(math.ceil((dwell.start_s + dwell.listen_s) * 1000) / 1000, window_end_s)
        if not new or cut_s >= window_end_s:
            return  # the window ends with this dwell anyway
        for key in sorted(new):  # type: ignore[type-var]
            self._cut.append(self._piece(key, index * self.window_s, cut_s, window.heard.pop(key), window, True))
            window.cut_at[key] = cut_s

    def close(self, now_s: float) -> list[Piece[T]]:
        """The early cuts made since the last call and every window that ended at or before `now_s`."""
        pieces, self._cut = self._cut, []
        for index in sorted(self._windows):
            end_s = (index + 1) * self.window_s
            if end_s > now_s:
                break
            window = self._windows.pop(index)
            for key in sorted(window.heard):  # type: ignore[type-var]
                start_s = window.cut_at.get(key, index * self.window_s)
                pieces.append(self._piece(key, start_s, end_s, window.heard[key], window, False))
            self._last_heard = {k: t for k, t in self._last_heard.items() if t >= now_s - self.quiet_s}
        pieces.sort(key=lambda p: p.start_s)
        return pieces

    @staticmethod
    def _piece(
        key: Hashable, start_s: float, end_s: float, heard: list[tuple[float, T]], window: _Window[T], early: bool
    ) -> Piece[T]:
        heard.sort(key=lambda h: h[0])
        dwells = [d for d in window.dwells if start_s <= d.start_s < end_s] or [window.dwells[-1]]
        return Piece(key, start_s, end_s, [item for _, item in heard], dwells, early)


def novelty_group(band_plan: BandPlan, channel_hz: float, width_hz: float, technology: str) -> Hashable:
    """What must have been silent for activity on a channel to be new: the ARFCN for GSM, else the network
    (see the module's "Prompt first report")."""
    if technology == "gsm":
        return technology, channel_hz
    return technology, channel_network(band_plan, channel_hz, width_hz)


def channel_network(band_plan: BandPlan, channel_hz: float, width_hz: float) -> tuple[str, ...] | float:
    """The uplink band and the operators licensed in a channel, or the channel itself outside them."""
    band = band_plan.uplink_band(channel_hz)
    operators = band_plan.operators(channel_hz - width_hz / 2, channel_hz + width_hz / 2)
    return (band.name, *operators) if band and operators else channel_hz


class ActivityAggregator:
    """Collects dwells and their bursts; `close_windows(now)` returns the reports of finished windows (and,
    with `prompt_first`, of the early cuts of new activity)."""

    def __init__(
        self,
        band_plan: BandPlan,
        channel_hz: float = 200e3,
        window_s: float = 1.0,
        report_unknown: bool = False,
        prompt_first: bool = False,
        quiet_s: float = 10.0,
    ) -> None:
        self.band_plan = band_plan
        self.channel_hz = channel_hz
        self.window_s = window_s
        self.report_unknown = report_unknown
        self.windows: ReportWindows[_Heard] = ReportWindows(window_s, prompt_first, quiet_s, self._novelty)

    def _novelty(self, channel_hz: Hashable, heard: _Heard) -> Hashable:
        return novelty_group(self.band_plan, channel_hz, self.channel_hz, heard.burst.technology)  # type: ignore[arg-type]

    def channel_centre_hz(self, freq_hz: float) -> float:
        return round(freq_hz / self.channel_hz) * self.channel_hz

    def _wanted(self, burst: Burst) -> bool:
        if burst.technology in PHONE:
            return True
        return self.report_unknown and burst.band is not None and burst.reason is None

    def add(self, dwell: Dwell, bursts: list[Burst]) -> int:
        """Record a dwell and the bursts found in it (times relative to the dwell start); returns bursts kept.

        Only bursts centred in the searched part count: beyond it the tuner's filter rolls off and the capture
        ends, so a burst there is seen in part, narrower, off its centre and weaker than it is (the demo's IQ
        nodes placed a call in wing D in their own wing from such halves). The scan plan's tunings tile the
        bands with their searched parts, so another tuning hears it whole, as every sensor does."""
        heard = [
            _Heard(dwell.start_s + burst.start_s, burst, burst.power_dbfs + dwell.calibration_db, dwell)
            for burst in bursts
            if self._wanted(burst) and dwell.low_hz <= burst.freq_hz <= dwell.high_hz
        ]
        self.windows.add(dwell, [(self.channel_centre_hz(h.burst.freq_hz), h.start_s, h) for h in heard])
        return len(heard)

    def close_windows(self, now_s: float) -> list[ActivityReport]:
        """Reports of every window that ended at or before `now_s` and of the early cuts, oldest first."""
        return [self._report(piece) for piece in self.windows.close(now_s)]

    def _report(self, piece: Piece[_Heard]) -> ActivityReport:
        channel_hz, heard = float(piece.key), piece.heard  # type: ignore[arg-type]
        covering = [d for d in piece.dwells if d.low_hz <= channel_hz <= d.high_hz] or [heard[-1].dwell]
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
            window_start=piece.start_s,
            window_s=piece.end_s - piece.start_s,
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
            cut_early=piece.cut_early,
        )
