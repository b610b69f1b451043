"""Blocker units as emitters: wideband noise over each band's downlink, with leakage into its uplink.

A blocker drowns the phones' downlink (the network's signal) in noise; its output filter keeps most of
that noise out of the neighbouring uplink, but not all: `uplink_leakage_dbc` below the output lands in
the uplink band, where the site's sensors (inside and, through the perimeter wall, outside) hear it.
Scenario `blockers:` runs are switched by the scenario file; `LiveBlocking` units (sim.blocking) are
switched while the world runs, by blocker nodes.
"""

from __future__ import annotations

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


def blocker_emitters(site, plan: BandPlan, run: BlockerRun) -> list[OtherEmitter]:
    """The emitters of one scenario blocker run: per band of the unit, its downlink noise (and leakage)."""
    units = {u.id: u for u in site.blockers}
    unit = units.get(run.unit)
    if unit is None:
        raise BlockerError(f"blocker {run.unit!r} is not in site {site.name} (units: {', '.join(units) or 'none'})")
    bands = [fdd_band(plan, run.unit, name) for name in unit.bands]
    return unit_emitters(
        tuple(unit.position), run.unit, bands, run.power_dbm, run.start_s, run.duration_s, run.uplink_leakage_dbc
    )
