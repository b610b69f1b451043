"""Who was listening when a burst was heard, under scan groups (sensors.scan_plan, "Scan groups").

With G > 1 groups only the sensors of the groups whose tuning covered a burst's frequency could hear it;
the others were elsewhere, and the locator must not count them as sensors that listened in vain (censored
observations, controller.locate). The schedule is the sensors' own: the same plan (the controller's `scan`
section, which must match the sensors'), each group's offset hop, and in revisit slots the site's scan focus
in force at the burst's slot as the controller published it, which every group follows. The groups of the
sensors that did hear the burst are always counted as listening, so a sensor that revisited on its own (its
focus expired) or a schedule that disagrees with the sensors' never makes a hearing sensor's group count as
deaf.

None means every sensor of the site was listening: one group, a revisit slot on the focus, a tuning every
group was on, or a frequency outside the plan (nothing known, nothing assumed).
"""

from __future__ import annotations

from collections.abc import Callable

from cellward.site import Site
from cellward.site.scan_groups import group_members, sensor_groups
from controller.correlate import HeardEmission
from dsp.band_plan import BandPlan
from sensors.scan_plan import ScanConfig, ScanPlan, ScanSchedule, SiteFocus
from sensors.sources.rtlsdr import RTLSDR_RANGE_HZ, RtlSdrConfig

# The controller rebuilds the sensors' plan for the front end they have: an RTL-SDR at its default rate.
SAMPLE_RATE_HZ = RtlSdrConfig().sample_rate_hz


class ListeningSets:
    def __init__(
        self,
        site: Site,
        config: ScanConfig,
        focus: Callable[[float], SiteFocus | None] = lambda _epoch_s: None,
        band_plan: BandPlan | None = None,
    ) -> None:
        """`focus`: the site's scan focus in force at a moment, as published (what the sensors' revisit slots
        follow)."""
        plan = ScanPlan.build(band_plan or BandPlan.load(), config, *RTLSDR_RANGE_HZ, SAMPLE_RATE_HZ)
        self.plan = plan
        self.focus = focus
        self.group_of = sensor_groups(site, config.groups)
        self.members = group_members(self.group_of)
        self.schedules = {g: ScanSchedule(plan, config, g) for g in range(config.groups)}

    def listening(self, start_s: float, freq_hz: float, heard_by: frozenset[str]) -> frozenset[str] | None:
        """The sensors that were tuned to `freq_hz` at `start_s` (UTC epoch), given who heard it; None: all."""
        if len(self.schedules) == 1:
            return None
        tuning = self.plan.tuning_holding(freq_hz)
        if tuning is None:
            return None
        slot = self.plan.slot_at(start_s)
        focus = self.focus(self.plan.slot_start_s(slot))
        groups = {g for g, schedule in self.schedules.items() if schedule.tuning_for(slot, start_s, focus)[0] == tuning}
        groups |= {self.group_of[s] for s in heard_by if s in self.group_of}
        if groups >= self.members.keys():
            return None
        return frozenset().union(*(self.members[g] for g in groups if g in self.members))

    def __call__(self, emission: HeardEmission) -> frozenset[str] | None:
        return self.listening(emission.start_s, emission.freq_hz, emission.sensor_ids)
