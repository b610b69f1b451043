"""Wires h-locate's Correlator and Locator into ingest: activity reports in, located Sightings out.

Each report lists its first bursts (start, duration, frequency, power); those become Observations, which
the Correlator groups across sensors. Locating every burst of a busy channel would cost far more than
it tells (a GSM call is 217 bursts a second, all from the same place), so per channel and second only
the emission heard by the most sensors is a candidate, and what looks like the same phone (same technology,
same operator or channel, heard by the same sensors) is located again only after `relocate_s`: an ongoing
call does not move, a hopping GSM phone is one phone, and the incident engine merges its sightings anyway.

Two phones of one network in one place. A GSM phone sends at most one burst per TDMA frame per timeslot,
and all its bursts of one frame on one ARFCN (it hops between frames, and a multislot phone uses
neighbouring timeslots of that one ARFCN). So two bursts of one operator, heard by a common sensor less
than a frame apart (by that sensor's own clock) on different ARFCNs come from two phones. Such bursts are
a frame group when they may also come from one place (the loudest sensor of one is among the
CO_LOCATED_TOP loudest of the other): two phones in calls are on the air in every frame, so phones of one
operator anywhere in earshot of a common sensor would otherwise always look like two in one place. Each
member is marked with the number of phones its groups show (`Sighting.devices`) and with its groups
(`Sighting.frame_groups`); when one member is located, so is the other member heard by the most sensors,
even when the same sensors heard it moments ago, and the incident engine keeps two members on different
ARFCNs out of one incident. One phone's bursts on its other channels are in other frames, so they continue
its incident. LTE and NR phones of one carrier get the same rule by another test: one phone sends one
contiguous allocation at a time, so two allocations of the carrier at once, apart by more than a resource
block, are two phones (`apart_at_once`: not a one-block PUCCH, which hops between the carrier's edges and
which Rel-10 lets a phone send beside its PUSCH). An LTE / NR phone's allocations move over its carrier from
grant to grant, so unlike a GSM phone's ARFCN its channel does not tell the two phones apart afterwards.

Technology by majority. Each sensor classifies each burst itself, and a loud phone's bursts are sometimes
taken for another technology by the sensors beside it. When more sensors heard the same burst (start within
the clock tolerance, overlapping in frequency) as one technology than as another, the minority's emission is
not located (`outvoted`): located on its own it would be a phone that is not there.

Averaging. Between two locations of one phone (`relocate_s`), every emission heard by the same sensors
is held; the next location uses their mean levels (`averaged`), so a phone in a call is placed from
hundreds of bursts rather than a few (on the reference site a report of 20 bursts instead of one raises
cell accuracy by 3 points, docs/benchmarks.md). Its first location uses what the first reports held.

Timing. Sensors report a window after it closes, at about the same moment (synchronised scan), so the
other sensors' reports of a window arrive within a transport delay of the first. A burst is released to
the correlator's settled set once every report that arrived at least the wait ago covers windows ending
after it: the horizon is the latest window end among reports that arrived before now minus the wait. The
wait is `delay_s`, or longer while reports of one window have lately arrived further apart, up to
`max_delay_s` (controller/horizon.py): located before its last reports are in, one phone's emission
would split into parts, each placed on its own.

Prompt first reports. A sensor that hears new activity on a channel cuts that channel's window at the end
of the dwell that first heard it and reports that part at once (`cut_early`); every sensor that heard the
same new phone cuts at the same dwell end (synchronised scan). Such a report covers only its channel, so it
must not move the horizon of the others (their reports of the window come when it ends). Its bursts go to
a second correlator with a horizon of its own (the latest end among cut reports that arrived before
now - delay_s), and the emissions it settles are located at once: a new phone gets its incident a window
sooner. Its bursts also go to the main correlator like any other, so the same emission comes out again
when the window ends; heard by the same sensors it is not located again (`relocate_s`), only held for
the next averaged location; heard by more sensors (one had heard the channel lately, so did not cut) it
is located again from them all and the incident engine merges that into the same incident. A network some
sensor reported without cutting within SITE_KNOWS_S is not new to the site, only to far sensors that hear
the phone now and then: their cut reports alone are not located (from them alone it would land near them, an
incident in the wrong wing; the demo's LTE browser opened seven), the window's end locates it from everyone.
Unless a sensor hears it loud (CLOSE_MARGIN_DB above its sensitivity): that is another phone of the network,
beside that sensor, and it is located at once.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from cellward.messages import REPORT_CHANNEL_HZ, DetectionBatch, ReportColumns
from cellward.messages.wire_time import EPOCH_TEXT, texts_epoch_s
from controller.correlate import Bursts, Correlator, Emissions, HeardEmission
from controller.horizon import ArrivalHorizon
from controller.level_fit import compile_kernels
from controller.locate import Locator
from controller.sighting import Sighting
from controller.unlisted import UnlistedSpans

if TYPE_CHECKING:
    from cellward.site import Site

PHONE_TECHNOLOGIES = frozenset({"gsm", "lte", "nr"})
LOCATE_EVERY_S = 1.0  # per channel, the best emission of each such slot is the candidate
# A dwell whose ADC clipped this often was in compression: a phone beside the sensor reads too low there,
# and the clipping spreads intermodulation over other channels, which the detector reports as bursts. Such
# reports are stored but neither located nor turned into incidents; the sensor backs its gain off, and
# the other sensors that heard the phone place it.
MAX_CLIPPED_FRACTION = 1e-3
GSM_FRAME_S = 120e-3 / 26  # TDMA frame, 4.615 ms (TS 45.002)
GSM_SLOT_S = GSM_FRAME_S / 8
# Bursts of one phone in consecutive frames are a frame apart; less than this apart is the same frame.
SAME_FRAME_S = GSM_FRAME_S - GSM_SLOT_S / 2
# A phone's emissions held for averaging: at most this many, dropped after this long without a location.
MAX_HELD = 500
HELD_FOR_S = 60.0
# A network some sensor reported within this long (the sensors' `reports.prompt_quiet_s`) is not new to the site.
SITE_KNOWS_S = 10.0
# A sensor that reported a window ending within this long before an emission, but none covering it yet, is still
# to report it (its batch is on the way): located now, the emission counts it as neither hearer nor miss.
REPORTING_WITHIN_S = 2.0
CLOSE_MARGIN_DB = 30.0  # a level this far above sensitivity is a phone near the sensor, not one heard now and then
# Same-frame GSM bursts may be from one place when one's loudest sensor is among the other's CO_LOCATED_TOP
# loudest; LTE / NR allocations at once when both have the same CO_LOCATED_TOP loudest.
CO_LOCATED_TOP = 2
# One LTE / NR phone sends one contiguous allocation at a time (its PUCCH hops between the carrier's edges
# slot by slot; uplink carrier aggregation is on another band). Two allocations of one carrier at once, each
# wider than a PUCCH's one resource block, more than a block apart and overlapping for longer than a
# detector's edge smear, are two phones. A phone allowed PUCCH beside its PUSCH (Rel-10) shows a one-block
# edge burst beside it, and a PUSCH split by a fading dip a gap narrower than a block: neither counts.
RESOURCE_BLOCK_HZ = 180e3
MIN_AT_ONCE_S = 0.2e-3


def averaged(emissions: list[Emissions]) -> HeardEmission:
    """Emissions of one phone heard by the same sensors (each an `Emissions` of one) as one: per sensor the
    mean level (dB) over them, weighted by the bursts each averaged, with their bursts summed; the fading
    then averages out while the shadowing (the place) stays. A common change of transmit power (power
    control) shifts every sensor alike and only moves the transmit power the locator estimates."""
    last = emissions[-1]
    if len(emissions) == 1:
        return last.heard(0)
    every = Bursts.concat([emission.bursts for emission in emissions])
    level_sum = np.bincount(every.sensor, every.power_dbm * every.bursts)
    burst_sum = np.bincount(every.sensor, every.bursts)
    rows = last.bursts
    rows = replace(
        rows, power_dbm=level_sum[rows.sensor] / burst_sum[rows.sensor], bursts=burst_sum[rows.sensor].astype(int)
    )
    merged = replace(last, bursts=rows, start_s=emissions[0].start_s)
    return merged.heard(0)


def _window_ends_s(start_s: list[float], window_s: list[float]) -> list[float]:
    """Per report, its window's end to the millisecond, rounded as Python's round does (correctly; numpy's scales
    by 1000 first, and an end near half a millisecond can round the other way), once per distinct end: a
    batch's windows mostly end together."""
    ends_s = list(map(operator.add, start_s, window_s))
    rounded = {end_s: round(end_s, 3) for end_s in set(ends_s)}
    return list(map(rounded.__getitem__, ends_s))


def _network(channel: tuple[str, int], context: tuple[str | None, tuple[str, ...], float | None]) -> tuple:
    """Technology, band and operators (else the channel) of a (technology, channel) key, given its context
    (`SiteLocating._context`)."""
    band, operators, _ = context
    return (channel[0], band, operators or channel)


def _who(network: tuple, channel: tuple[str, int], sensors: frozenset[int], at_once: int) -> tuple:
    """What looks like one phone: its network, the sensors that heard it and, when several phones of the
    network are heard at once, a GSM phone's channel (an LTE / NR phone's allocations move over its carrier)."""
    return (*network, sensors, channel if at_once > 1 and channel[0] == "gsm" else None)


def outvoted(emissions: Emissions, tolerance_s: float) -> np.ndarray:
    """Per emission, whether more sensors heard the same burst (start within `tolerance_s`, overlapping in
    frequency) as another technology: the few that disagree misclassified it (a loud GSM phone's bursts
    taken for NR by the two sensors beside it), and located on its own it would be a phone that is not there."""
    n = len(emissions)
    wrong = np.zeros(n, dtype=bool)
    if n < 2:
        return wrong
    start = emissions.start_s
    strongest = emissions.strongest
    technology = emissions.bursts.technology[strongest]
    freq = emissions.bursts.freq_hz[strongest]
    half_width = emissions.bursts.bandwidth_hz[strongest] / 2
    heard_by = emissions.heard_by
    reach = np.searchsorted(start, start + tolerance_s, side="right")
    for i in np.flatnonzero(reach > np.arange(n) + 1):  # emissions with a neighbour in time: few
        for j in range(i + 1, reach[i]):
            if technology[i] == technology[j] or abs(freq[i] - freq[j]) > half_width[i] + half_width[j]:
                continue
            if heard_by[i] != heard_by[j]:
                wrong[i if heard_by[i] < heard_by[j] else j] = True
    return wrong


class SiteLocating:
    def __init__(
        self,
        site: Site,
        delay_s: float,
        bursts_per_report: int = 8,
        clock_tolerance_s: float = 0.005,
        locator: Locator | None = None,
        relocate_s: float = 5.0,
        max_delay_s: float | None = None,
        listening: Callable[[HeardEmission], frozenset[str] | None] | None = None,
    ) -> None:
        """`listening`: who was tuned to an emission's channel when it was heard (controller.listening, with
        scan groups); without it every sensor of the site counts as listening."""
        self.locator = locator or Locator.for_site(site)
        self.listening = listening
        self.correlator = Correlator(clock_tolerance_s=clock_tolerance_s, max_delay_s=0.0)
        # cut_early reports only; the same codes, so a phone's emissions from both average together
        self.prompt = Correlator(
            clock_tolerance_s=clock_tolerance_s,
            max_delay_s=0.0,
            codes=self.correlator.codes,
            clocks=self.correlator.clocks,
        )
        self._phone_codes = {t: self.correlator.technology_code(t) for t in sorted(PHONE_TECHNOLOGIES)}
        self.delay_s = delay_s
        self.bursts_per_report = bursts_per_report
        # the wait grows up to max_delay_s with the spread of report arrivals (controller/horizon.py)
        max_delay_s = delay_s if max_delay_s is None else max_delay_s
        self._arrivals = ArrivalHorizon(delay_s, max_delay_s)
        self._prompt_arrivals = ArrivalHorizon(delay_s, max_delay_s)
        # Context of the channel a burst was reported in: band and operators come from the report.
        self._channel: dict[tuple[str, int], tuple[str | None, tuple[str, ...], float]] = {}
        self._channel_any: dict[int, tuple[str | None, tuple[str, ...], float]] = {}  # the last, any technology
        self.relocate_s = relocate_s
        self._located_at: dict[tuple, float] = {}  # _who(...) -> data time it was last located
        self._located_swept_s = float("-inf")
        self._heard_not_new: dict[tuple, float] = {}  # _network(...) -> last burst of a report that was not cut
        self._held: dict[tuple, list[Emissions]] = {}  # _who(...) -> its emissions since then
        self._unlisted = UnlistedSpans()
        self._frame_group_ids = itertools.count(1)
        # network (band and operators) -> sensor -> its last burst in any report: a sensor that heard the network
        # within SITE_KNOWS_S does not cut its window for it, so a prompt emission cannot count it as a miss
        self._sensor_heard: dict[tuple, dict[str, float]] = {}
        self._reported_until: dict[str, float] = {}  # sensor -> the latest end of its (uncut) windows reported

    def warm_up(self, max_freq_hz: float = 1766e6) -> None:
        """Build the locator's level tables for every uplink band an RTL-SDR reaches, and compile its kernels,
        before ingest starts: on the reference site one table takes seconds, and compiling does too, which must
        not land on the first incident."""
        compile_kernels()
        texts_epoch_s([EPOCH_TEXT], 6)  # the batches' burst times are read by a compiled pass too
        for band in self.locator.band_plan.bands:
            if band.uplink_low_hz < max_freq_hz:
                self.locator.predicted_levels_db(0.5 * (band.uplink_low_hz + band.uplink_high_hz))

    def add_reports(
        self, sensor_id: str, batch: DetectionBatch, received_at: float, columns: ReportColumns | None = None
    ) -> None:
        """`columns`: the batch's reports as columns when the caller has them already (ingest stores them too)."""
        table = ReportColumns.of(batch.reports) if columns is None else columns
        shown = np.minimum(table.bursts_listed, self.bursts_per_report)  # per report, the bursts correlated
        channel = np.rint(np.divide(table.freq_hz, REPORT_CHANNEL_HZ)).astype(int)
        window_start_s = np.array(table.window_start_s, dtype=float)
        end_s = _window_ends_s(table.window_start_s, table.window_s)
        # kept raw; its levels are compressed and its bursts may be intermodulation: heard, not listed
        clipped = np.greater(table.clipped_fraction, MAX_CLIPPED_FRACTION)
        truncated = ~clipped & np.greater(table.burst_count, shown)
        unlisted = clipped | truncated
        unlisted_from_s = np.where(clipped, window_start_s, self._listed_until(table, shown))
        self._unlisted.add(channel[unlisted], sensor_id, unlisted_from_s[unlisted], np.array(end_s)[unlisted])
        self._note_channels(sensor_id, table, channel, ~clipped, received_at)
        window_ends = sorted(set(itertools.compress(end_s, map(operator.not_, table.cut_early))))
        self._arrivals.arrived(received_at, window_ends)
        if window_ends:
            self._reported_until[sensor_id] = max(self._reported_until.get(sensor_id, -np.inf), window_ends[-1])
        self._prompt_arrivals.arrived(received_at, sorted(set(itertools.compress(end_s, table.cut_early))))
        listed = table.bursts
        codes = self._phone_codes
        technology = np.fromiter(map(codes.get, listed.technology, itertools.repeat(-1)), np.int64, len(listed.start_s))
        # energy that is not a phone uplink is kept raw, never an incident
        phone = (technology >= 0) & (listed.rank < self.bursts_per_report)
        phone &= ~clipped[listed.report]
        if not phone.any():
            return
        start = listed.start_s[phone]
        bursts = Bursts(
            sensor=np.full(len(start), self.correlator.sensor_code(sensor_id)),
            technology=technology[phone],
            freq_hz=listed.freq_hz[phone],
            bandwidth_hz=listed.bandwidth_hz[phone],
            start_s=start,
            end_s=start + listed.duration_s[phone],
            power_dbm=listed.power_dbm[phone],
            bursts=np.ones(len(start), dtype=np.int64),
            snr_db=listed.snr_db[phone],
        )
        self.correlator.add_bursts(bursts)
        prompt = np.asarray(table.cut_early, dtype=bool)[listed.report[phone]]
        if prompt.any():
            self.prompt.add_bursts(bursts.take(prompt))

    def _note_channels(
        self, sensor_id: str, table: ReportColumns, channels: np.ndarray, kept: np.ndarray, received_at: float
    ) -> None:
        """Take the context of each `kept` report's (technology, channel), the last report's winning, and when each
        network was last heard: by this sensor, and in a report that was not cut (not new to the site)."""
        for technology, channel, band, operators, last_s, cut_early, keep in zip(
            table.technology,
            channels.tolist(),
            table.band,
            table.operators,
            table.last_burst_s,
            table.cut_early,
            kept.tolist(),
            strict=True,
        ):
            if not keep:
                continue
            key = (technology, channel)
            context = self._channel[key] = self._channel_any[channel] = (band, tuple(operators), received_at)
            if technology in PHONE_TECHNOLOGIES:
                network = _network(key, context)
                by_sensor = self._sensor_heard.setdefault(network[1:], {})
                by_sensor[sensor_id] = max(last_s, by_sensor.get(sensor_id, last_s))
                if not cut_early and last_s > self._heard_not_new.get(network, -np.inf):
                    self._heard_not_new[network] = last_s

    @staticmethod
    def _listed_until(table: ReportColumns, shown: np.ndarray) -> np.ndarray:
        """Per report, the end of its last correlated burst, or its window's start when it lists none: after it,
        the sensor may have heard bursts it did not list."""
        listed = table.bursts
        if len(listed.start_s) == 0:
            return np.array(table.window_start_s, dtype=float)
        last = np.cumsum(table.bursts_listed) - table.bursts_listed + shown - 1
        ends = (listed.start_s + listed.duration_s)[np.maximum(last, 0)]
        return np.where(shown > 0, ends, table.window_start_s)

    @property
    def wait_s(self) -> float:
        """How long the locator currently waits for the rest of a window's reports."""
        return self._arrivals.wait_s

    @property
    def stragglers(self) -> int:
        """Bursts whose reports arrived after their emission was released, dropped (controller/released.py)."""
        return self.correlator.stragglers + self.prompt.stragglers

    @property
    def cache_bytes(self) -> int:
        """Bytes the locator's per-room tables hold (controller/locate.py: bounded by budgets)."""
        return self.locator.cache_bytes

    def clock_offsets(self) -> dict[str, float]:
        """Each sensor's clock minus the site's consensus, seconds, for the sensors learnt so far."""
        clocks = self.correlator.clocks
        ids = self.correlator.sensor_ids
        return {ids[code]: float(clocks.offset_s[code]) for code in range(len(clocks.learnt)) if clocks.learnt[code]}

    def next_due_s(self) -> float | None:
        """When `ready` will next have a window to settle (arrival time), None while no report waits for one."""
        due = [d for d in (self._arrivals.next_due_s(), self._prompt_arrivals.next_due_s()) if d is not None]
        return min(due, default=None)

    def ready(self, now_s: float) -> list[Sighting]:
        sightings = []
        horizon_s = self._arrivals.advance(now_s)
        if horizon_s > float("-inf"):
            sightings += self._located(self.correlator.ready(horizon_s), horizon_s, hold=True)
        prompt_horizon_s = self._prompt_arrivals.advance(now_s)
        if prompt_horizon_s > float("-inf"):
            sightings += self._located(self.prompt.ready(prompt_horizon_s), prompt_horizon_s, hold=False)
        return sightings

    def _located(self, emissions: Emissions, horizon_s: float, hold: bool) -> list[Sighting]:
        """Sightings of the settled `emissions`; `hold` keeps each phone's emissions for its next averaged
        location (the main correlator's; the prompt one's come out of the main one again later)."""
        if len(emissions) == 0:
            self._forget_held(horizon_s)
            return []
        strongest = emissions.strongest
        technology = [emissions.technologies[t] for t in emissions.bursts.technology[strongest]]
        channel = list(
            zip(
                technology,
                np.rint(emissions.bursts.freq_hz[strongest] / REPORT_CHANNEL_HZ).astype(int).tolist(),
                strict=True,
            )
        )
        start_s = emissions.start_s.tolist()
        heard_by = emissions.heard_by.tolist()
        sensors = emissions.bursts.sensor.tolist()
        offsets = emissions.offsets.tolist()
        heard_set = [frozenset(sensors[offsets[i] : offsets[i + 1]]) for i in range(len(emissions))]
        # per distinct channel, not per emission: a busy second has thousands of emissions on a few hundred
        context = {key: self._context(key) for key in set(channel)}
        network = {key: _network(key, found) for key, found in context.items()}
        devices, groups, members = self._frame_groups(emissions, channel, start_s, context)
        wrong_technology = outvoted(emissions, self.correlator.clock_tolerance_s)
        unlisted = self._unlisted_by(emissions, channel, start_s, heard_set, network if not hold else None)

        def locatable(i: int) -> bool:
            # not outvoted, nor not listed by most sensors that heard the channel then; a prompt emission of a
            # network the site knows is new to the far sensors that cut, not to the site: it is located with
            # everyone's reports at the window's end, unless a sensor heard it close
            if wrong_technology[i] or len(unlisted[i]) > heard_by[i]:
                return False
            if heard_by[i] == 1 and self._too_weak(emissions, i):
                return False
            return hold or not self._site_knows(network[channel[i]], start_s[i]) or self._heard_close(emissions, i)

        whos = [
            _who(network[key], key, sensors, at_once)
            for key, sensors, at_once in zip(channel, heard_set, devices, strict=True)
        ]
        # Per channel and slot the emission showing the most phones at once, then heard by the most sensors, of
        # those whose phone was not located within relocate_s: a phone the site has just placed does not take
        # its channel's slot from another phone there (on a busy channel that one was never located).
        chosen: dict[tuple[str, int, int], int] = {}
        for i, (tech, bucket) in enumerate(channel):
            if not locatable(i) or self._located_lately(whos[i], start_s[i]):
                continue
            slot = (tech, bucket, int(start_s[i] // LOCATE_EVERY_S))
            best = chosen.get(slot)
            if best is None or (devices[i], heard_by[i]) > (devices[best], heard_by[best]):
                chosen[slot] = i
        # Every burst of a phone alone, per who heard it, until that phone is next located (fading averages out).
        for i, at_once in enumerate(devices):
            if at_once == 1 and hold:
                held = self._held.setdefault(whos[i], [])
                held.append(emissions.select(i))
                del held[:-MAX_HELD]
        sightings = []
        located: set[int] = set()
        for i in sorted(chosen.values(), key=start_s.__getitem__):
            # One phone hopping over its operator's channels is heard on each of them by the same sensors:
            # locate it once per relocate_s, not once per channel; with several phones at once, once per channel.
            if i in located or self._located_lately(whos[i], start_s[i]):
                continue
            # with the other phone of its frame groups heard by the most sensors, so the incident engine sees two
            partners = {member for group in groups[i] for member in members[group]} - {i} - located
            partners = [k for k in partners if locatable(k)]
            for k in [i, *([max(partners, key=lambda m: (heard_by[m], -m))] if partners else [])]:
                located.add(k)
                self._located_at[whos[k]] = start_s[k]
                held = self._held_lately(whos[k], start_s[k]) if devices[k] == 1 else []
                if not hold and held:
                    held.append(emissions.select(k))
                emission = averaged(held) if held else emissions.heard(k)
                track = whos[k] if devices[k] == 1 else None
                unknown = unlisted[k] | self._yet_to_report(start_s[k]) if hold else unlisted[k]
                sightings.append(self._sighting(emission, devices[k], track, unknown, tuple(groups[k])))
        self._forget_held(horizon_s)
        return sightings

    def _held_lately(self, who: tuple, start_s: float) -> list[Emissions]:
        """The emissions held for `who` since its phone was last located, at most relocate_s and a slot before
        `start_s`: a set of sensors that heard a far phone now and then may hold bursts for up to HELD_FOR_S,
        and averaged into a new phone heard by the same sensors they would mix two phones' levels and date
        its first burst before it was on the air (the demo's reactive-zone call, heard from 30.9 s, got a
        first_seen of 16.9 s)."""
        since_s = start_s - self.relocate_s - LOCATE_EVERY_S
        return [held for held in self._held.pop(who, []) if held.start_s[0] >= since_s]

    def _yet_to_report(self, start_s: float) -> frozenset[str]:
        """Sensors whose reports lately came in but none yet covering `start_s`: later than the wait had learnt
        (their bursts of this emission will be stragglers, controller/released.py). Counted as misses they
        would push the phone away from them: the demo's staff phone beside ADMIN1 and VISITS1, located before
        VISITS1's report arrived, was placed in C-1-05. A sensor that reported nothing lately is a miss as
        before. Not for a prompt emission: every sensor that heard a new phone cuts at the same dwell, so
        the others' silence is a miss while their windows are still open."""
        since_s = start_s - REPORTING_WITHIN_S
        return frozenset(sensor for sensor, end_s in self._reported_until.items() if since_s <= end_s <= start_s)

    def _located_lately(self, who: tuple, start_s: float) -> bool:
        last = self._located_at.get(who)
        return last is not None and start_s - last < self.relocate_s

    def _forget_held(self, horizon_s: float) -> None:
        for who in [w for w, held in self._held.items() if held[-1].end_s[0] < horizon_s - HELD_FOR_S]:
            del self._held[who]
        # who last located when: keyed by sensor sets, which fading varies without end; past relocate_s an
        # entry no longer holds anything back (once per second of data time: the sweep is over every entry)
        if horizon_s - self._located_swept_s >= 1.0:
            self._located_swept_s = horizon_s
            stale_s = horizon_s - self.relocate_s - 1.0
            self._located_at = {who: t for who, t in self._located_at.items() if t >= stale_s}
            self._unlisted.forget_before(horizon_s)
            heard_since_s = horizon_s - SITE_KNOWS_S - 1.0
            for network, heard in list(self._sensor_heard.items()):
                heard = {sensor: t for sensor, t in heard.items() if t >= heard_since_s}
                if heard:
                    self._sensor_heard[network] = heard
                else:
                    del self._sensor_heard[network]

    def _unlisted_by(
        self,
        emissions: Emissions,
        channel: list[tuple[str, int]],
        start_s: list[float],
        heard: list[frozenset[int]],
        prompt_network: dict[tuple[str, int], tuple] | None,
    ) -> list[frozenset[str]]:
        """Per emission: the sensors that may have heard it without listing it, counted as neither hearers nor
        misses: they heard its channel then without listing it (controller.unlisted), or, for prompt emissions
        (`prompt_network`: each channel's network), they heard its network within SITE_KNOWS_S, so it was not
        new to them and they did not cut."""
        names = emissions.sensor_ids
        out = []
        covering = self._unlisted.covering([key[1] for key in channel], start_s)
        for key, at_s, codes, unknown in zip(channel, start_s, heard, covering, strict=True):
            if prompt_network is not None:
                recent = self._sensor_heard.get(prompt_network[key][1:], {})
                unknown |= {sensor for sensor, t in recent.items() if t >= at_s - SITE_KNOWS_S}
            out.append(frozenset(unknown - {names[c] for c in codes}) if unknown else frozenset())
        return out

    def _context(self, channel: tuple[str, int]) -> tuple[str | None, tuple[str, ...], float | None]:
        """Band, operators and arrival of the report a (technology, channel) burst came in. A sensor labels each
        burst itself, and its report the channel's majority: a burst of another technology than its report's
        takes the channel's last report of any technology, not no band and no operator at all."""
        return self._channel.get(channel) or self._channel_any.get(channel[1], (None, (), None))

    def _heard_close(self, emissions: Emissions, i: int) -> bool:
        """Whether a sensor heard emission `i` CLOSE_MARGIN_DB above its sensitivity: beside that sensor, whatever
        else of its network the site hears (a new phone there), not a far one heard now and then."""
        strongest = emissions.strongest[i]  # each emission's rows come loudest first
        bandwidth = float(emissions.bursts.bandwidth_hz[strongest])
        return float(emissions.bursts.power_dbm[strongest]) >= self.locator.sensitivity_dbm(bandwidth) + CLOSE_MARGIN_DB

    def _site_knows(self, network: tuple, start_s: float) -> bool:
        """Whether a sensor reported this network, without cutting its window (it was not new to that sensor),
        within SITE_KNOWS_S before `start_s`. Then only far sensors, which hear the phone now and then, found
        it new: located from their prompt reports alone it would land near them, far from the phone."""
        return start_s - self._heard_not_new.get(network, float("-inf")) <= SITE_KNOWS_S

    def _frame_groups(
        self,
        emissions: Emissions,
        channel: list[tuple[str, int]],
        start_s: list[float],
        context: dict[tuple[str, int], tuple[str | None, tuple[str, ...], float | None]],
    ) -> tuple[list[int], list[list[int]], dict[int, list[int]]]:
        """Per emission index: how many phones of its network its groups show at once (1 when nothing says
        more) and the ids of its groups; and each group's members. A group: emissions of one network that may
        be from one place and that a common sensor heard at once where one phone cannot send them both: GSM
        bursts on two or more ARFCNs in one TDMA frame, or LTE / NR allocations overlapping in time on
        frequencies apart (`apart_at_once`). `context`: each channel's (`_context`)."""
        n = len(emissions)
        devices, groups = [1] * n, [[] for _ in range(n)]
        members: dict[int, list[int]] = {}
        by_network: dict[tuple, list[int]] = {}
        for i, key in enumerate(channel):
            band, operators, _ = context[key]
            if key[0] == "gsm" and operators:
                by_network.setdefault(("gsm", operators), []).append(i)
            elif key[0] in ("lte", "nr") and operators and band is not None:
                by_network.setdefault((key[0], band, operators), []).append(i)  # a carrier's band: not aggregation
        if not by_network:
            return devices, groups, members
        bursts = emissions.bursts
        sensors = bursts.sensor.tolist()
        burst_start_s, burst_end_s = bursts.start_s.tolist(), bursts.end_s.tolist()
        freq_hz, bandwidth_hz = bursts.freq_hz.tolist(), bursts.bandwidth_hz.tolist()
        offsets = emissions.offsets.tolist()
        arfcn = np.rint(bursts.freq_hz[emissions.strongest] / 200e3).astype(int).tolist()
        loudest = [sensors[offsets[i] : min(offsets[i] + CO_LOCATED_TOP, offsets[i + 1])] for i in range(n)]
        reach_s = SAME_FRAME_S + self.correlator.clock_tolerance_s
        for network, indices in by_network.items():  # in start order: emissions come in start order
            gsm = network[0] == "gsm"
            for a, i in enumerate(indices):
                rows: dict[int, int] | None = None  # i's row per sensor that heard it
                at_once = [i]
                for j in indices[a + 1 :]:
                    if start_s[j] - start_s[i] > reach_s:
                        break
                    if gsm:
                        if loudest[j][0] not in loudest[i] and loudest[i][0] not in loudest[j]:
                            continue  # not from one place
                    elif set(loudest[j]) != set(loudest[i]):
                        # a carrier's data sessions overlap in most subframes: two phones twenty cells apart
                        # on one landing (one's loudest among the other's two) split their incidents
                        continue
                    if rows is None:
                        rows = {sensors[r]: r for r in range(offsets[i], offsets[i + 1])}
                    # as the strongest sensor of j that also heard i heard them
                    common = next((r for r in range(offsets[j], offsets[j + 1]) if sensors[r] in rows), None)
                    if common is None:
                        continue
                    r, q = rows[sensors[common]], common
                    if gsm:
                        if abs(burst_start_s[q] - burst_start_s[r]) < SAME_FRAME_S:
                            at_once.append(j)  # on its ARFCN too: a multislot phone's other timeslot
                    elif apart_at_once(
                        (burst_start_s[r], burst_end_s[r], freq_hz[r], bandwidth_hz[r]),
                        (burst_start_s[q], burst_end_s[q], freq_hz[q], bandwidth_hz[q]),
                    ):
                        at_once.append(j)
                # LTE / NR: at least two (the others apart from i need not be apart from each other)
                shown = len({arfcn[k] for k in at_once}) if gsm else min(len(at_once), 2)
                if shown > 1:
                    group = next(self._frame_group_ids)
                    members[group] = at_once
                    for k in at_once:
                        devices[k] = max(devices[k], shown)
                        groups[k].append(group)
        return devices, groups, members

    def _too_weak(self, emissions: Emissions, i: int) -> bool:
        """Whether emission `i`'s burst is weaker than a sensor detects reliably: below the locator's sensitivity
        in its bandwidth (receiver noise plus the detection SNR), or standing less than the detection SNR over
        the noise that sensor measured (a sensor at low gain or on a noisy landing has a higher floor than the
        nominal receiver, and its noise then passes the level test). Heard so by one sensor alone it is as
        likely noise that passed the detector's test as a phone (the demo's IQ-mode nodes: single bursts at
        in-band SNR -2 to +5 dB, each a wing-wide single-sensor incident); it is stored, not located."""
        k = int(emissions.strongest[i])
        bursts = emissions.bursts
        below_level = float(bursts.power_dbm[k]) < self.locator.sensitivity_dbm(float(bursts.bandwidth_hz[k]))
        return below_level or float(bursts.snr_db[k]) < self.locator.detection_snr_db

    def _sighting(
        self,
        emission: HeardEmission,
        devices: int = 1,
        track: tuple | None = None,
        unlisted: frozenset[str] = frozenset(),
        frame_groups: tuple[int, ...] = (),
    ) -> Sighting:
        """`unlisted`: sensors that may have heard the emission without listing it, counted as neither."""
        listening = self.listening(emission) if self.listening is not None else None
        if unlisted:
            listening = (frozenset(self.locator.sensor_index) if listening is None else listening) - unlisted
        if listening is not None:
            emission = replace(emission, listening=listening)
        location = self.locator.locate(emission)
        band, operators, received_at = self._context((emission.technology, round(emission.freq_hz / REPORT_CHANNEL_HZ)))
        return Sighting(
            start_s=emission.start_s,
            end_s=emission.end_s,
            freq_hz=emission.freq_hz,
            bandwidth_hz=emission.bandwidth_hz,
            technology=emission.technology,
            band=band,
            operators=operators,
            # The likeliest room of any kind (a cell, an office, the road outside); None when only a region is known.
            cell_id=location.room_id,
            wing=location.wing,
            landing=location.landing,
            zone=location.zone,
            confidence=location.confidence,
            method=location.method,
            region=tuple(location.region) if location.room_id is None else (),
            runners_up=tuple(location.runners_up),
            sensor_powers_dbm=emission.powers_dbm,
            received_at=received_at,
            devices=devices,
            frame_groups=frame_groups,
            tx_power_dbm=location.tx_power_dbm,
            track=track,
        )


def apart_at_once(first: tuple[float, float, float, float], second: tuple[float, float, float, float]) -> bool:
    """Whether two LTE / NR bursts (start, end, centre, bandwidth) heard by one sensor are two phones' at once."""
    (start_a, end_a, freq_a, width_a), (start_b, end_b, freq_b, width_b) = first, second
    if min(width_a, width_b) <= 1.5 * RESOURCE_BLOCK_HZ:
        return False
    overlap_s = min(end_a, end_b) - max(start_a, start_b)
    gap_hz = abs(freq_a - freq_b) - (width_a + width_b) / 2
    return overlap_s >= MIN_AT_ONCE_S and gap_hz >= RESOURCE_BLOCK_HZ
