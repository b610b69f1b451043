"""Blocker units as emitters: the site's blockers radiate noise over their bands' downlinks when on.

This is the stub the blocking issue drives: a `BlockerRun` (unit, on-time, power) becomes one
wideband-noise emitter per band of the unit, covering the band's downlink (where a blocker transmits
to drown the phones' downlink), at the unit's position.
"""

from __future__ import annotations

from cellward.site import Site

from dsp.band_plan import BandPlan
from sim.scenario import BlockerRun, OtherEmitter, Place


class BlockerError(ValueError):
    """A blocker run names a unit or band the site or band plan does not have."""


def blocker_emitters(site: Site, plan: BandPlan, run: BlockerRun) -> list[OtherEmitter]:
    """The emitters of one blocker run, one per band of the unit."""
    units = {u.id: u for u in site.blockers}
    unit = units.get(run.unit)
    if unit is None:
        raise BlockerError(f"blocker {run.unit!r} is not in site {site.name} (units: {', '.join(units) or 'none'})")
    emitters = []
    for name in unit.bands:
        band = next((b for b in plan.bands if b.name == name or name in b.aliases), None)
        if band is None or band.duplex_hz == 0.0:
            raise BlockerError(f"blocker {run.unit}: band {name!r} has no FDD downlink in the band plan")
        emitters.append(
            OtherEmitter(
                id=f"{run.unit}/{band.name}",
                kind="blocker",
                place=Place(position=tuple(unit.position)),
                freq_hz=(band.downlink_low_hz + band.downlink_high_hz) / 2,
                bandwidth_hz=band.downlink_high_hz - band.downlink_low_hz,
                power_dbm=run.power_dbm,
                start_s=run.start_s,
                duration_s=run.duration_s,
            )
        )
    return emitters
