"""Which frequencies to visit and when: uplink bands cut into tunings, hopped on a site-wide wall-clock schedule.

Every sensor of a site computes the same schedule from the same plan and synchronised time: slot k
starts at k * slot_s seconds after the UTC epoch and the r-th regular slot visits tuning (r * stride) mod n
(r counting regular slots only), so all sensors are on one frequency at one time and hear the same bursts.
One slot in `revisit_every` is a revisit slot, spent on a tuning where phones were heard lately: the
site's scan focus from the controller (cellward.scan_focus/1: what any sensor heard) while it holds, else
the tunings this sensor heard phones on itself; the slot number picks the entry, so sensors with the same
list are on one frequency in revisit slots too. With nothing heard lately a revisit slot keeps the regular hop.
Revisit slots come in pairs, the last two of every 2 * `revisit_every` slots.
A focus may also name the GSM control carriers' uplinks (from a downlink survey): every other pair then goes
to them, where phones send their short signalling (SMS, location updates, call set-up), both slots on one
carrier. Signalling comes in blocks once per 51-multiframe (235 ms): two dwells back to back cover most of
one, where single dwells a whole number of slots apart can land on the same phase of it visit after visit
(every 32 slots of 125 ms is 17.0 multiframes: one SMS burst of ten seconds was caught from 59 % of the
phases with single slots, 91 % with pairs).

Scan groups. With `groups` G > 1 the site's sensors are split into G interleaved groups (cellward.site.scan_groups
derives each sensor's group from the site model; neighbours of one landing fall in different groups), and
group g hops the common schedule ceil(n/G)·g slots ahead (n tunings): in each regular slot the site covers G
tunings at once, so a new phone is found about G times sooner, each time by the sensors of one group.
Revisit slots are not offset: every group follows the site's focus there, so an active phone is heard by
every sensor on its revisits. G = 1 is the single site-wide hop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cellward.messages import FOCUS_APPLIES_AFTER_S, REPORT_CHANNEL_HZ, ScanFocus
from dsp.band_plan import BandPlan

DEFAULT_SCAN_GROUPS = 1  # 2 finds phones sooner, locates first sightings worse: docs/benchmarks.md, "Scan groups"


class ScanConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bands: list[str] | None = Field(default=None, description="uplink bands to scan (default: every band in the plan)")
    range_hz: tuple[float, float] | None = Field(
        default=None, description="scan only this part of the bands, [low, high] Hz (e.g. one operator's block)"
    )
    slot_s: float = Field(default=0.125, gt=0.01, le=10, description="one hop: settle + dwell + processing")
    settle_s: float = Field(default=0.01, ge=0, description="samples discarded after each retune")
    dwell_s: float = Field(default=0.09, gt=0.005, description="samples kept and searched per hop")
    usable_fraction: float = Field(default=0.85, gt=0.3, le=1, description="share of the sample rate searched")
    channel_hz: float = Field(default=REPORT_CHANNEL_HZ, gt=0, description="report raster (a GSM channel)")
    revisit_every: int = Field(
        default=4, ge=0, description="one slot in n revisits active tunings, two back to back in 2n; 0 = never"
    )
    active_ttl_s: float = Field(default=30.0, gt=0, description="how long a tuning counts as recently active")
    groups: int = Field(
        default=DEFAULT_SCAN_GROUPS,
        ge=1,
        le=64,
        description="interleaved scan groups of the site, each on its own tuning in regular slots (1 = one "
        "site-wide hop); the same on every sensor and the controller",
    )
    group: int = Field(
        default=0,
        ge=0,
        description="this sensor's group, below `groups` (written by `cellward provision` from the site model; "
        "the controller ignores it)",
    )

    @model_validator(mode="after")
    def _group_in_range(self) -> ScanConfig:
        if self.group >= self.groups:
            raise ValueError(f"scan group {self.group} is not below the number of groups ({self.groups})")
        return self


@dataclass(frozen=True, slots=True)
class Tuning:
    """One tuner setting: centre frequency and the part of one uplink band it searches."""

    index: int
    centre_hz: float
    band: str
    low_hz: float
    high_hz: float


@dataclass(frozen=True)
class ScanPlan:
    tunings: tuple[Tuning, ...]
    scanned: tuple[str, ...]
    unreachable: tuple[str, ...]
    warnings: tuple[str, ...]
    slot_s: float
    stride: int

    @classmethod
    def build(
        cls,
        band_plan: BandPlan,
        config: ScanConfig,
        freq_min_hz: float,
        freq_max_hz: float,
        sample_rate_hz: float,
    ) -> ScanPlan:
        """Cut the configured uplink bands inside [freq_min_hz, freq_max_hz] into tunings of equal span."""
        known = {b.name: b for b in band_plan.bands}
        wanted = config.bands if config.bands is not None else [b.name for b in band_plan.bands]
        missing = [name for name in wanted if name not in known]
        if missing:
            raise ValueError(f"unknown band(s) {', '.join(missing)}; the band plan has {', '.join(known)}")
        span_hz = config.usable_fraction * sample_rate_hz
        tunings: list[Tuning] = []
        scanned, unreachable, warnings = [], [], []
        for name in wanted:
            band = known[name]
            low, high = max(band.uplink_low_hz, freq_min_hz), min(band.uplink_high_hz, freq_max_hz)
            if high <= low:
                unreachable.append(name)
                warnings.append(
                    f"band {name} ({band.uplink_low_hz / 1e6:.0f}-{band.uplink_high_hz / 1e6:.0f} MHz) is outside "
                    f"this front end ({freq_min_hz / 1e6:.0f}-{freq_max_hz / 1e6:.0f} MHz): phones there are not "
                    "heard; fit a SoapySDR front end that reaches it"
                )
                continue
            gaps = [(band.uplink_low_hz, low)] if low > band.uplink_low_hz else []
            gaps += [(high, band.uplink_high_hz)] if high < band.uplink_high_hz else []
            for gap_low, gap_high in gaps:
                part = f"{name} {gap_low / 1e6:.0f}-{gap_high / 1e6:.0f} MHz"
                unreachable.append(part)
                warnings.append(f"only part of {name} is reachable with this front end: {part} is not heard")
            if config.range_hz is not None:
                low, high = max(low, config.range_hz[0]), min(high, config.range_hz[1])
                if high <= low:
                    continue  # outside the configured range by choice
            scanned.append(name)
            count = math.ceil((high - low) / span_hz)
            step = (high - low) / count
            for i in range(count):
                lo = low + i * step
                tunings.append(Tuning(len(tunings), lo + step / 2, name, lo, lo + step))
        if not tunings:
            raise ValueError("no configured band is reachable with this front end (and range_hz); nothing to scan")
        return cls(
            tuple(tunings), tuple(scanned), tuple(unreachable), tuple(warnings), config.slot_s, _stride(len(tunings))
        )

    def slot_at(self, epoch_s: float) -> int:
        return math.floor(epoch_s / self.slot_s)

    def slot_start_s(self, slot: int) -> float:
        return slot * self.slot_s

    def tuning_holding(self, freq_hz: float) -> Tuning | None:
        """The tuning whose searched span holds `freq_hz`, None when the plan does not scan it."""
        for tuning in self.tunings:
            if tuning.low_hz <= freq_hz < tuning.high_hz:
                return tuning
        return None

    def regular_tuning(self, slot: int, group: int = 0, groups: int = 1) -> Tuning:
        """The site-synchronised tuning of slot `slot` for scan group `group` of `groups`: a spread-out order,
        every tuning once per cycle; group g is ceil(n / groups) * g slots ahead of group 0 (with more groups
        than tunings some groups share one)."""
        if not 0 <= group < groups:
            raise ValueError(f"scan group {group} is not in 0..{groups - 1}")
        n = len(self.tunings)
        return self.tunings[((slot + math.ceil(n / groups) * group) * self.stride) % n]

    @property
    def cycle_s(self) -> float:
        return self.slot_s * len(self.tunings)


def _stride(n: int) -> int:
    """A step coprime with n near n/golden-ratio, so consecutive slots land far apart in frequency."""
    if n <= 2:
        return 1
    start = max(1, round(n / 1.618))
    for candidate in [*range(start, n), *range(1, start)]:
        if math.gcd(candidate, n) == 1:
            return candidate
    return 1


@dataclass(frozen=True, slots=True)
class SiteFocus:
    """The controller's scan focus as obeyed: channels with phone activity lately, in force from `from_s` (its
    time plus FOCUS_APPLIES_AFTER_S, so that every sensor changes at the same slot) until `expires_s`."""

    channels_hz: tuple[float, ...]
    expires_s: float
    seq: int
    from_s: float = -math.inf
    control_hz: tuple[float, ...] = ()  # the GSM control carriers' uplinks: every other revisit slot

    @classmethod
    def written(cls, message: ScanFocus, written_s: float) -> SiteFocus:
        """The focus of a message written at `written_s` (its `ts` as on the wire), as every sensor obeys it."""
        return cls(
            tuple(float(ch) for ch in message.channels_hz),
            written_s + message.valid_s,
            message.seq,
            written_s + FOCUS_APPLIES_AFTER_S,
            tuple(float(ch) for ch in message.control_channels_hz),
        )


class FocusHistory:
    """The foci taken lately, so that the one in force at any recent moment can be looked up: a slot's tuning
    follows the focus in force at the slot's start, whenever it is worked out (the event fleet does it after
    the slot, the controller when it locates a burst heard in it)."""

    KEPT = 16  # published at most once a second: the foci of the last quarter minute or more

    def __init__(self) -> None:
        self._foci: list[SiteFocus] = []

    def add(self, focus: SiteFocus) -> None:
        # a new list, swapped in whole: a reader in another thread sees the old list or the new one
        self._foci = sorted([*self._foci, focus], key=lambda f: f.from_s)[-self.KEPT :]

    def at(self, epoch_s: float) -> SiteFocus | None:
        """The newest focus in force from `epoch_s` or before (it may have expired by then)."""
        for focus in reversed(self._foci):
            if focus.from_s <= epoch_s:
                return focus
        return None

    @property
    def newest(self) -> SiteFocus | None:
        return self._foci[-1] if self._foci else None


@dataclass
class ScanSchedule:
    """The plan plus memory of where phones were heard, deciding each slot's tuning for scan group `group`."""

    plan: ScanPlan
    config: ScanConfig
    group: int = 0
    last_active_s: dict[int, float] = field(default_factory=dict)

    def note_activity(self, tuning: Tuning, epoch_s: float) -> None:
        self.last_active_s[tuning.index] = epoch_s

    def tuning_for(self, slot: int, now_s: float, focus: SiteFocus | None = None) -> tuple[Tuning, bool]:
        """(tuning, is_revisit) for slot `slot`; `focus` is the site's scan focus, if one was received."""
        revisit = self._revisit_place(slot)
        if revisit is not None:
            pair, second = revisit
            active, control = self._revisit_tunings(focus, now_s)
            if control and (not active or pair % 2 == 0):  # both slots of the pair on one control carrier
                return self.plan.tunings[control[(pair // 2 if active else pair) % len(control)]], True
            if active:  # each slot of the pair on the next active tuning
                k = 2 * (pair // 2 if control else pair) + second
                return self.plan.tunings[active[k % len(active)]], True
            return self.plan.regular_tuning(slot, self.group, self.config.groups), False
        return self.plan.regular_tuning(self._regular_slots_before(slot), self.group, self.config.groups), False

    def _revisit_place(self, slot: int) -> tuple[int, int] | None:
        """(pair number, 0 or 1 within the pair) of a revisit slot, None for a regular one."""
        every = self.config.revisit_every
        if not every:
            return None
        place = slot % (2 * every) - (2 * every - 2)
        return (slot // (2 * every), place) if place >= 0 else None

    def _regular_slots_before(self, slot: int) -> int:
        """How many regular slots precede `slot`. Numbering the hop by these, it visits every tuning once in n
        regular slots; numbered by the slot itself, the tunings that fell on revisit slots (n / revisit_every of
        them when revisit_every divides n: 19 of the reference plan's 76) were never visited while a focus held."""
        every = self.config.revisit_every
        if not every:
            return slot
        return slot - 2 * (slot // (2 * every)) - max(0, slot % (2 * every) - (2 * every - 2))

    def is_revisit_slot(self, slot: int) -> bool:
        """Whether `slot` is one the schedule gives to revisits (it keeps the regular hop when none is due)."""
        return self._revisit_place(slot) is not None

    def _revisit_tunings(self, focus: SiteFocus | None, now_s: float) -> tuple[list[int], list[int]]:
        """Indices of the tunings to revisit, ascending: the active ones (the site's focus while it holds and
        names any, else this node's own) and the control carriers' (the focus's, while it holds)."""
        own = sorted(i for i, t in self.last_active_s.items() if now_s - t <= self.config.active_ttl_s)
        if focus is None or now_s >= focus.expires_s:
            return own, []
        return self._tunings_holding(focus.channels_hz) or own, self._tunings_holding(focus.control_hz)

    def _tunings_holding(self, channels_hz: tuple[float, ...]) -> list[int]:
        held = (self.plan.tuning_holding(freq_hz) for freq_hz in channels_hz)
        return sorted({tuning.index for tuning in held if tuning is not None})

    def channel_centre_hz(self, freq_hz: float) -> float:
        return round(freq_hz / self.config.channel_hz) * self.config.channel_hz
