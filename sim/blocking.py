"""Live blocking in the simulated world: units switched on and off while it runs, and the phones under them
losing service after the delay their radio-link failure procedure takes, then only trying access.

A phone is jammed by a unit when the unit's noise density at the phone, in the phone's downlink band,
leaves its serving cell's downlink below the signal-to-interference ratio the phone needs to stay in sync:
  S/J = (network downlink density - coupling loss to the mast) - (unit power - 10 log10(DL band width) -
        path loss unit -> phone)  <  REQUIRED_SIR_DB[technology].
Then, after the unit switches on (see docs/blocking.md for the sources):
- GSM, in a call or on an SDCCH: the radio-link counter S starts at RADIO_LINK_TIMEOUT and loses one per
  SACCH block it cannot decode (480 ms); at 0 the phone declares radio-link failure and stops
  (TS 45.008 5.2) -> silent after RADIO_LINK_TIMEOUT x 0.48 s;
- LTE and NR, connected: out-of-sync is indicated after the Qout evaluation period (200 ms,
  TS 36.133 7.6 / TS 38.133 8.1); N310 (default 1) indications start T310 (default 1 s, TS 36.331 /
  TS 38.331); at its expiry the phone declares radio-link failure and stops -> silent after 1.2 s.
Out of service the phone only tries access now and then (it catches a system-information block in a dip
of the noise, sends a RACH burst or PRACH preambles, never hears the answer). When the unit stops, the
phone searches and attaches again (`reacquire_s`) and carries on with what it was doing.

The world plans everything up front (sim.world); this module is the gate that decides, burst by burst,
what is on the air given the units' switching so far: phone bursts while in service, access retries
while out of service, and each unit's noise segments while it is on.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.blockers import fdd_band, unit_emitters
from sim.burst_plan import PlannedBursts
from sim.carriers import Carrier
from sim.scenario import LiveBlocking, OtherEmitter
from sim.signals import gsm, lte

if TYPE_CHECKING:
    from sim.world import World

log_ = logging.getLogger("cellward.sim.blocking")
SEGMENT_CHANNEL = "blocker-segment"  # a live unit's noise, one segment per `segment_s`
RETRY_SUFFIX = "-retry"  # RACH-retry, PRACH-retry: access attempts of a phone out of service
SACCH_BLOCK_S = 0.48  # 104 TDMA frames
# Network downlink density at the mast (EIRP over the carrier): GSM BCCH 43 dBm + 17 dBi in 200 kHz;
# LTE/NR 46 dBm + 17 dBi over 10 MHz.
DOWNLINK_DBM_PER_HZ = {"gsm": 60.0 - 53.0, "lte": 63.0 - 70.0, "nr": 63.0 - 70.0}
# What a phone needs to stay in sync: GSM co-channel C/I 9 dB (TS 45.005 6.3); LTE/NR Qout at about
# -8 dB SINR (10 % block errors of the hypothetical PDCCH, TS 36.133 7.6.1).
REQUIRED_SIR_DB = {"gsm": 9.0, "lte": -8.0, "nr": -8.0}
ACCESS_ATTEMPTS = 4  # max retransmissions of one access attempt (GSM Max retrans 4, LTE preambleTransMax)
PRACH_BANDWIDTH_HZ = 1.0475e6  # NR long format 0 is LTE's format 0: 839 subcarriers at 1.25 kHz
PRACH_DURATION_S = 0.9031e-3


def access_retries(carrier: Carrier, live: LiveBlocking, duration_s: float, rng: np.random.Generator) -> PlannedBursts:
    """Latent access attempts every `access_retry_s` (random phase) for the whole scenario; the gate lets
    them on the air only while the phone is out of service."""
    rows = []
    for t in np.arange(rng.uniform(0, live.access_retry_s), duration_s, live.access_retry_s):
        for k in range(ACCESS_ATTEMPTS):
            if carrier.technology == "gsm":
                start = (np.ceil(t / gsm.FRAME_S) + 11 * k) * gsm.FRAME_S  # Tx-integer spread of retransmissions
                rows.append((start, gsm.ACCESS_BITS * gsm.BIT_S, 0.0, gsm.CHANNEL_HZ, "gsm_access", "RACH-retry"))
            else:
                start = (np.ceil(t / lte.SUBFRAME_S) + 20 * k) * lte.SUBFRAME_S  # one PRACH occasion per 20 ms
                offset = lte.rb_centre_offset_hz(carrier.resource_blocks, 2, 6)
                rows.append((start, PRACH_DURATION_S, offset, PRACH_BANDWIDTH_HZ, "lte_prach", "PRACH-retry"))
    return PlannedBursts.from_rows(rows)


def power_control_channels(channel: np.ndarray) -> np.ndarray:
    """Channels as power control knows them: an access retry is sent like any RACH/PRACH."""
    return np.array([c.removesuffix(RETRY_SUFFIX) for c in channel], object)


def live_unit_plans(world: World, live: LiveBlocking) -> list[tuple[OtherEmitter, PlannedBursts]]:
    """Every site unit's noise (downlink and uplink leakage) as segments over the whole scenario."""
    duration = world.scenario.duration_s
    starts = np.arange(0.0, duration, live.segment_s)
    plans = []
    for unit in world.site.blockers:
        bands = [fdd_band(world.band_plan, unit.id, name) for name in unit.bands]
        leakage = live.unit_leakage_dbc.get(unit.id, live.uplink_leakage_dbc)
        for emitter in unit_emitters(tuple(unit.position), unit.id, bands, unit.max_eirp_dbm, 0.0, None, leakage):
            n = starts.size
            planned = PlannedBursts(
                starts,
                np.minimum(live.segment_s, duration - starts),
                np.zeros(n),
                np.full(n, emitter.bandwidth_hz),
                np.full(n, "blocker", object),
                np.full(n, SEGMENT_CHANNEL, object),
            )
            plans.append((emitter, planned))
    return plans


class BlockingField:
    """What the site's units are doing and what that leaves on the air; `switch` is thread-safe (a blocker
    node's actuator calls it while sensors read the world)."""

    def __init__(self, world: World, live: LiveBlocking) -> None:
        self.world = world
        self.live = live
        self._lock = threading.Lock()
        # (unit, band) -> [[on_s, off_s], ...], off_s = inf while on
        self._intervals: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
        units = {u.id: u for u in world.site.blockers}
        b = world.bursts
        kinds = np.array([e.kind for e in world.emitters], object)
        self._is_phone = kinds == "phone"
        # live noise emitters: id UNIT/BAND or UNIT/BAND/ul
        self._segment_key = {
            i: (e.id.split("/")[0], e.id.split("/")[1])
            for i, e in enumerate(world.emitters)
            if e.kind == "blocker" and e.id.split("/")[0] in units
        }
        self._segment = b.channel == SEGMENT_CHANNEL
        self._retry = np.array([str(c).endswith(RETRY_SUFFIX) for c in b.channel], bool)
        self._jammers = self._jamming(units)
        self._log = Path(live.switch_log) if live.switch_log else None
        self._log_offset = 0
        self._epoch0_s = world.epoch_s(0.0)

    # --- switching ------------------------------------------------------------------------------
    def switch(self, unit_id: str, bands: list[str] | tuple[str, ...], on: bool, at_s: float) -> None:
        """Unit `unit_id` starts (or stops) radiating in `bands` at simulation time `at_s`."""
        with self._lock:
            self._switch(unit_id, bands, on, at_s)

    def _switch(self, unit_id: str, bands: list[str] | tuple[str, ...], on: bool, at_s: float) -> None:
        for band in bands:
            spans = self._intervals[(unit_id, band)]
            if on and not (spans and spans[-1][1] == np.inf):
                spans.append([at_s, np.inf])
            elif not on and spans and spans[-1][1] == np.inf:
                spans[-1][1] = max(at_s, spans[-1][0])

    def _follow_log(self) -> None:
        """Take in the switches simulated blocker nodes appended to the switch log since the last look
        (lines {unit, band, on, power_dbm, at_s}, at_s in UTC epoch seconds); called under the lock."""
        if self._log is None or not self._log.exists():
            return
        with self._log.open("rb") as log:
            log.seek(self._log_offset)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._log_offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            try:
                switch = json.loads(line)
                self._switch(switch["unit"], [switch["band"]], bool(switch["on"]), switch["at_s"] - self._epoch0_s)
            except (ValueError, KeyError, TypeError):
                log_.warning("event=switch_log_line_ignored path=%s line=%r", self._log, line[:200])

    def is_on(self, unit_id: str, band: str, t_s: float) -> bool:
        with self._lock:
            self._follow_log()
            return any(a <= t_s < z for a, z in self._intervals.get((unit_id, band), []))

    def intervals(self, unit_id: str, band: str) -> list[tuple[float, float]]:
        """(on, off) simulation times of one band of a unit so far; off is inf while it is on."""
        with self._lock:
            self._follow_log()
            return [(a, z) for a, z in self._intervals.get((unit_id, band), ())]

    def on_bands(self, unit_id: str, t_s: float) -> list[str]:
        with self._lock:
            self._follow_log()
            return sorted(band for (u, band), spans in self._intervals.items() if u == unit_id and any(
                a <= t_s < z for a, z in spans))  # fmt: skip

    # --- the phones -----------------------------------------------------------------------------
    def _jamming(self, units: dict) -> dict[int, list[tuple[str, str, float]]]:
        """position id -> [(unit, band, delay_s)]: the units whose noise takes a phone there out of service."""
        world, live = self.world, self.live
        jammers: dict[int, list[tuple[str, str, float]]] = defaultdict(list)
        emitter_of_position = np.asarray(world._position_emitter, int)
        for index, info in enumerate(world.emitters):
            if info.kind != "phone":
                continue
            positions = np.flatnonzero(emitter_of_position == index)
            covering = [u for u in units.values() if info.band in u.bands]
            if not covering or positions.size == 0:
                continue
            band = fdd_band(world.band_plan, info.id, info.band)
            dl_hz = info.carrier_hz + band.duplex_hz
            xyz = world.positions[positions]
            signal = DOWNLINK_DBM_PER_HZ[info.technology] - world._coupling_loss_db(
                xyz, world._mast(info.operator), dl_hz
            )
            delay = (
                live.gsm_radio_link_timeout * SACCH_BLOCK_S
                if info.technology == "gsm"
                else live.qout_evaluation_s + live.t310_s
            )
            width_db = 10 * np.log10(band.downlink_high_hz - band.downlink_low_hz)
            for unit in covering:
                loss = world.model.path_loss_db_many(xyz, np.asarray(unit.position, float), dl_hz)
                noise = unit.max_eirp_dbm - width_db - loss
                for position in positions[signal - noise < REQUIRED_SIR_DB[info.technology]]:
                    jammers[int(position)].append((unit.id, info.band, delay))
        return jammers

    def jammed_by(self, emitter_id: str) -> list[str]:
        """Units that take this phone out of service when on (at any of its positions)."""
        index = next(i for i, e in enumerate(self.world.emitters) if e.id == emitter_id)
        positions = np.flatnonzero(np.asarray(self.world._position_emitter) == index)
        return sorted({unit for p in positions for unit, _, _ in self._jammers.get(int(p), [])})

    def out_of_service(self, position_id: int, t_s: np.ndarray | float) -> np.ndarray:
        """Whether a phone at this position at each of `t_s` has declared radio-link failure and not yet
        re-attached (callers outside this class hold no lock: the spans are read as they are)."""
        t = np.asarray(t_s, float)
        out = np.zeros(t.shape, bool)
        for unit, band, delay in self._jammers.get(position_id, ()):
            for a, z in self._intervals.get((unit, band), ()):
                if z - a >= delay:
                    out |= (t >= a + delay) & (t < z + self.live.reacquire_s)
        return out

    def silent_from(self, emitter_id: str, after_s: float = 0.0) -> float | None:
        """The first time at or after `after_s` that a phone is out of service (only access attempts), or None."""
        index = next(i for i, e in enumerate(self.world.emitters) if e.id == emitter_id)
        positions = np.flatnonzero(np.asarray(self.world._position_emitter) == index)
        with self._lock:
            self._follow_log()
            found = [
                max(a + delay, after_s)
                for p in positions
                for unit, band, delay in self._jammers.get(int(p), ())
                for a, z in self._intervals.get((unit, band), ())
                if z - a >= delay and max(a + delay, after_s) < z + self.live.reacquire_s
            ]
        return min(found) if found else None

    # --- the gate ---------------------------------------------------------------------------------
    def keep(self, ids: np.ndarray) -> np.ndarray:
        """Which of these bursts are on the air, given the switching so far."""
        b = self.world.bursts
        ids = np.asarray(ids, int)
        emitter, start = b.emitter[ids], b.start_s[ids]
        segment, retry = self._segment[ids], self._retry[ids]
        phone = self._is_phone[emitter] & ~segment
        keep = ~segment & ~retry  # everything but live noise and access attempts, until decided below
        with self._lock:
            self._follow_log()
            for index in np.unique(emitter[segment]):
                rows = segment & (emitter == index)
                spans = self._intervals.get(self._segment_key[int(index)], ())
                t = start[rows]
                keep[rows] = np.any([(t >= a) & (t < z) for a, z in spans], axis=0) if spans else False
            positions = b.position[ids]
            for position in np.unique(positions[phone]):
                if int(position) not in self._jammers:
                    continue
                rows = phone & (positions == position)
                keep[rows] = self.out_of_service(int(position), start[rows]) == retry[rows]
        return keep
