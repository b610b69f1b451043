"""Blocker units as emitters: wideband noise over each band's downlink, with leakage into its uplink.

A blocker drowns the phones' downlink (the network's signal) in noise; its output filter keeps most of
that noise out of the neighbouring uplink, but not all: `uplink_leakage_dbc` below the output lands in
the uplink band, where the site's sensors (inside and, through the perimeter wall, outside) hear it.
A `BlockerRun` (unit, on-time, power, bands) of a scenario becomes these emitters at the unit's
position. A `BlockerSwitchboard` is the live side: blocker nodes running against the simulator
(`sensors/blocker/actuators/sim.py`) switch bands on it, and the world reads back, for any time, what
each unit radiates, or the runs to plan a world with. With a log file it is shared between processes
(live blocking in a running world, sim.blocking, follows that log).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from cellward.site import Site
from dsp.band_plan import Band, BandPlan
from sim.scenario import BlockerRun, OtherEmitter, Place


class BlockerError(ValueError):
    """A blocker run names a unit or band the site or band plan does not have."""


def fdd_band(plan: BandPlan, unit_id: str, name: str) -> Band:
    """The band plan's band of a unit's band name; BlockerError when it has no FDD downlink."""
    band = next((b for b in plan.bands if b.name == name or name in b.aliases), None)
    if band is None or band.duplex_hz == 0.0:
        raise BlockerError(f"blocker {unit_id}: band {name!r} has no FDD downlink in the band plan")
    return band


def unit_emitters(
    position: tuple[float, float, float],
    unit_id: str,
    bands: list[Band],
    power_dbm: float,
    start_s: float = 0.0,
    duration_s: float | None = None,
    uplink_leakage_dbc: float | None = None,
) -> list[OtherEmitter]:
    """One noise emitter over each band's downlink (id UNIT/BAND) and, when the leakage is given, one
    over its uplink (id UNIT/BAND/ul) at `power_dbm + uplink_leakage_dbc`."""
    emitters = []
    for band in bands:
        spans = [("", band.downlink_low_hz, band.downlink_high_hz, power_dbm)]
        if uplink_leakage_dbc is not None:
            spans.append(("/ul", band.uplink_low_hz, band.uplink_high_hz, power_dbm + uplink_leakage_dbc))
        for suffix, low, high, power in spans:
            emitters.append(
                OtherEmitter(
                    id=f"{unit_id}/{band.name}{suffix}",
                    kind="blocker",
                    place=Place(position=position),
                    freq_hz=(low + high) / 2,
                    bandwidth_hz=high - low,
                    power_dbm=power,
                    start_s=start_s,
                    duration_s=duration_s,
                )
            )
    return emitters


def blocker_emitters(site: Site, plan: BandPlan, run: BlockerRun) -> list[OtherEmitter]:
    """The emitters of one blocker run: per band of the unit (or of `run.bands`), its downlink noise and
    (with `uplink_leakage_dbc`) its leakage."""
    units = {u.id: u for u in site.blockers}
    unit = units.get(run.unit)
    if unit is None:
        raise BlockerError(f"blocker {run.unit!r} is not in site {site.name} (units: {', '.join(units) or 'none'})")
    foreign = sorted(set(run.bands or ()) - set(unit.bands))
    if foreign:
        raise BlockerError(f"blocker {run.unit} has no band {foreign} (it has {', '.join(unit.bands)})")
    bands = [fdd_band(plan, run.unit, name) for name in run.bands or unit.bands]
    return unit_emitters(
        tuple(unit.position), run.unit, bands, run.power_dbm, run.start_s, run.duration_s, run.uplink_leakage_dbc
    )


@dataclass(frozen=True, slots=True)
class BlockerSwitch:
    """One band of one unit switched on or off at a wall-clock time (UTC epoch seconds)."""

    unit: str
    band: str
    on: bool
    power_dbm: float
    at_s: float


class BlockerSwitchboard:
    """What every blocker unit of a simulated site radiates, as a time line of switches.

    Thread-safe. With `log` every switch is also appended to a JSON Lines file (one object per line,
    the fields of BlockerSwitch), so a simulator in another process sees the same time line
    (`BlockerSwitchboard.load`).
    """

    def __init__(self, site: Site, log: Path | None = None) -> None:
        self.site = site
        self.log = Path(log) if log is not None else None
        self._bands = {u.id: set(u.bands) for u in site.blockers}
        self._switches: list[BlockerSwitch] = []
        self._lock = threading.Lock()

    @classmethod
    def load(cls, site: Site, log: Path) -> BlockerSwitchboard:
        """The time line written to `log` so far (by blocker nodes in other processes)."""
        board = cls(site)
        for number, line in enumerate(Path(log).read_text(encoding="utf-8").splitlines(), 1):
            try:
                board._add(BlockerSwitch(**json.loads(line)))
            except (TypeError, ValueError) as exc:
                raise BlockerError(f"{log}: line {number}: not a blocker switch ({exc})") from None
        return board

    def _check(self, switch: BlockerSwitch) -> None:
        bands = self._bands.get(switch.unit)
        if bands is None:
            raise BlockerError(f"blocker {switch.unit!r} is not in site {self.site.name}")
        if switch.band not in bands:
            raise BlockerError(f"blocker {switch.unit} has no band {switch.band!r} (it has {', '.join(sorted(bands))})")

    def _add(self, switch: BlockerSwitch) -> None:
        self._check(switch)
        self._switches.append(switch)

    def switch(self, unit: str, band: str, on: bool, power_dbm: float, at_s: float) -> None:
        """Record that `unit` turned `band` on (at `power_dbm`) or off at wall-clock `at_s`."""
        switch = BlockerSwitch(unit, band, on, float(power_dbm), float(at_s))
        with self._lock:
            self._check(switch)
            if self.log is not None:  # written first: a switch that cannot be shared does not happen
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(switch)) + "\n")
            self._switches.append(switch)

    def switches(self) -> list[BlockerSwitch]:
        """Every switch so far, in the order they were made."""
        with self._lock:
            return list(self._switches)

    def emitting(self, unit: str, band: str, at_s: float) -> float | None:
        """The power (dBm) `unit` radiates in `band` at wall-clock `at_s`, or None when that band is off."""
        with self._lock:
            last = [s for s in self._switches if s.unit == unit and s.band == band and s.at_s <= at_s]
        return last[-1].power_dbm if last and last[-1].on else None

    def runs(self, start_s: float) -> list[BlockerRun]:
        """The on-intervals as scenario blocker runs, times relative to the scenario's start (wall clock
        `start_s`); a band still on is open-ended."""
        with self._lock:
            switches = sorted(self._switches, key=lambda s: s.at_s)
        opened: dict[tuple[str, str], BlockerSwitch] = {}
        runs = []
        for switch in switches:  # each switch ends the band's open run (if any); an `on` begins a new one
            begun = opened.pop((switch.unit, switch.band), None)
            if begun is not None:
                runs.append(_run(begun, start_s, switch.at_s))
            if switch.on:
                opened[(switch.unit, switch.band)] = switch
        runs += [_run(begun, start_s, None) for begun in opened.values()]
        return [r for r in runs if r is not None]


def _run(begun: BlockerSwitch, start_s: float, end_s: float | None) -> BlockerRun | None:
    first = max(begun.at_s - start_s, 0.0)
    if end_s is not None and end_s - start_s <= first:
        return None  # over before the scenario starts, or switched off at the instant it came on
    duration = None if end_s is None else end_s - start_s - first
    return BlockerRun(
        unit=begun.unit, start_s=first, duration_s=duration, power_dbm=begun.power_dbm, bands=[begun.band]
    )
