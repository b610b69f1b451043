"""Scenario files: a YAML timeline of who transmits where, doing what, when (validated once, at the edge)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cellward.config import load_yaml_model, parse_yaml_model

Xyz = tuple[float, float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Place(_Strict):
    """Where an emitter is: a room of the site (its centroid) or explicit site coordinates."""

    at: str | None = Field(None, description="Room id of the site, e.g. 'A-2-14'; the room's centroid is used")
    position: Xyz | None = Field(None, description="Site coordinates (x east, y north, z up), metres")

    @model_validator(mode="after")
    def _one_of(self) -> Place:
        if (self.at is None) == (self.position is None):
            raise ValueError("give exactly one of 'at' (a room id) or 'position' ([x, y, z] in metres)")
        return self


class Waypoint(Place):
    """A point of a moving emitter's path, reached at `t_s`; positions between waypoints are linear."""

    t_s: float = Field(ge=0, description="Seconds from the scenario start when the emitter is here")


class Activity(_Strict):
    """One thing a phone does: a behaviour from the registry (sim.behaviours) over a time span."""

    kind: Literal["gsm_call", "gsm_sms", "gsm_location_update", "lte_data", "lte_idle", "nr_data"] = Field(
        description="Behaviour: gsm_call, gsm_sms, gsm_location_update, lte_data, lte_idle or nr_data"
    )
    start_s: float = Field(ge=0, description="Seconds from the scenario start")
    duration_s: float = Field(1.0, gt=0, description="How long it lasts (events like an SMS ignore it)")
    dtx: bool = Field(False, description="GSM call: discontinuous transmission (speech pauses)")
    period_s: float = Field(60.0, gt=0, description="lte_idle: tracking-area update period, seconds")
    load: float = Field(0.3, gt=0, le=1, description="lte_data / nr_data: share of subframes with a grant")


class Phone(_Strict):
    """A handset: its network, where it is (fixed or along a path) and its activities."""

    id: str = Field(description="Unique name of the phone in this scenario")
    operator: str | None = Field(None, description="Network (EE, O2, Vodafone, Three); default: drawn from the seed")
    band: str | None = Field(None, description="Uplink band (B8, B3, B20, B28); default: drawn for the technology")
    place: Place | None = Field(None, description="Where the phone stays; give this or 'path'")
    path: list[Waypoint] | None = Field(None, min_length=2, description="Waypoints for a moving phone")
    activities: list[Activity] = Field(min_length=1, description="What the phone does, when")
    tx_power_dbm: float | None = Field(
        None, description="Fixed transmit power, dBm, instead of power control (calibration walks, tests)"
    )

    @model_validator(mode="after")
    def _placed_once(self) -> Phone:
        if (self.place is None) == (self.path is None):
            raise ValueError("give exactly one of 'place' or 'path'")
        if self.path is not None and any(b.t_s <= a.t_s for a, b in zip(self.path, self.path[1:], strict=False)):
            raise ValueError("path waypoints must have increasing t_s")
        techs = {a.kind.split("_")[0] for a in self.activities}
        if len(techs) > 1:
            raise ValueError(f"one phone uses one technology at a time here; got {sorted(techs)} (split the phone)")
        return self


class OtherEmitter(_Strict):
    """A transmitter that is not a phone: telemetry, a spur, impulsive noise, or a blocker's output."""

    id: str = Field(description="Unique name in this scenario")
    kind: Literal["lora", "fsk", "cw", "impulses", "blocker"] = Field(description="What it is")
    place: Place = Field(description="Where it is")
    freq_hz: float = Field(gt=0, description="Carrier (or, for a blocker, band centre), Hz")
    power_dbm: float = Field(10.0, description="Transmit power (EIRP), dBm")
    start_s: float = Field(0.0, ge=0, description="Seconds from the scenario start")
    duration_s: float | None = Field(None, gt=0, description="How long it runs; default: to the end")
    period_s: float = Field(5.0, gt=0, description="lora/fsk: seconds between packets; impulses: mean gap")
    bandwidth_hz: float = Field(5e6, gt=0, description="blocker: width of its noise, Hz")


class BlockerRun(_Strict):
    """A blocker unit of the site switched on: noise over the downlink of each of its bands."""

    unit: str = Field(description="Blocker unit id in the site file")
    start_s: float = Field(0.0, ge=0, description="Seconds from the scenario start")
    duration_s: float | None = Field(None, gt=0, description="How long it stays on; default: to the end")
    power_dbm: float = Field(20.0, description="Output power per band, dBm")
    bands: list[str] | None = Field(None, description="Only these of the unit's bands; default: all of them")
    uplink_leakage_dbc: float | None = Field(
        None, le=0, description="Noise leaking into each band's uplink, dB below the output; default: none"
    )


class LiveBlocking(_Strict):
    """The site's blocker units switched while the world runs (by blocker nodes, sim.blocking), and what
    their noise does to the phones under them (docs/blocking.md gives the sources of the defaults)."""

    uplink_leakage_dbc: float = Field(
        -45.0, le=0, description="Noise leaking into each band's uplink, dB below the unit's output"
    )
    unit_leakage_dbc: dict[str, float] = Field(
        default_factory=dict, description="Per-unit leakage overrides (a unit with a failed output filter)"
    )
    segment_s: float = Field(0.1, gt=0, le=1, description="Switching resolution of the units' noise, seconds")
    gsm_radio_link_timeout: int = Field(
        16, ge=4, le=64, multiple_of=4, description="GSM RADIO_LINK_TIMEOUT, SACCH blocks of 480 ms (TS 45.008 5.2)"
    )
    t310_s: float = Field(1.0, gt=0, description="LTE/NR T310 after N310 out-of-sync indications (TS 36.331)")
    qout_evaluation_s: float = Field(0.2, gt=0, description="LTE/NR out-of-sync evaluation period (TS 36.133 7.6)")
    reacquire_s: float = Field(3.0, ge=0, description="Cell search and re-attach after the blocking stops")
    access_retry_s: float = Field(10.0, gt=0, description="A phone out of service tries access this often")
    switch_log: str | None = Field(
        None,
        description="JSON Lines time line of switches written by simulated blocker nodes (their sim actuator); "
        "the world follows it as it grows. Default: switched in-process through World.blocking.switch",
    )


class Population(_Strict):
    """Phones placed by the seed instead of one by one: contraband in cells, staff, passers-by."""

    contraband: int = Field(0, ge=0, description="Phones in random cells (mixed 2G burners, LTE, NR)")
    staff: int = Field(0, ge=0, description="Phones in rooms of zones where phones are authorised")
    road: int = Field(0, ge=0, description="Phones moving along the road outside the wall")
    start_s: float = Field(0.0, ge=0, description="When the population's activities start")


class ServingCell(_Strict):
    """An operator's serving base station: sets the phones' transmit power through power control."""

    operator: str = Field(description="Network name as in the band plan")
    position: Xyz = Field(description="Mast position in site coordinates, metres (may be kilometres away)")


class Scenario(_Strict):
    """A whole scenario: seed, length, the networks' masts, phones and other emitters."""

    name: str = Field(description="Short name, used in file names and logs")
    site: str | None = Field(
        None, description="Site it is written for: 'small', 'reference' or a path relative to this file"
    )
    seed: int = Field(0, description="Seed of every random choice; same seed, same bursts")
    duration_s: float = Field(gt=0, description="Length of the scenario, seconds")
    start_utc: str = Field("2026-01-01T00:00:00.000Z", description="Wall-clock time of t = 0 (ISO 8601, UTC)")
    serving_cells: list[ServingCell] = Field(default_factory=list, description="Masts; default 1.5 km away")
    phones: list[Phone] = Field(default_factory=list, description="Handsets")
    emitters: list[OtherEmitter] = Field(default_factory=list, description="Non-phone transmitters")
    blockers: list[BlockerRun] = Field(default_factory=list, description="Site blocker units switched on")
    population: Population | None = Field(None, description="Phones placed by the seed")
    live_blocking: LiveBlocking | None = Field(
        None, description="Site blocker units switched while the world runs (blocker nodes drive them)"
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        ids = [p.id for p in self.phones] + [e.id for e in self.emitters]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"ids must be unique; repeated: {', '.join(repeated)}")
        return self


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; ConfigError names the line of every problem."""
    return load_yaml_model(Path(path), Scenario)


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    return parse_yaml_model(text, Scenario, source)
