"""The band plan: which uplink band a frequency is in, who holds it, and what technologies run there.

The facts live in a data file (`dsp/data/uk_band_plan.toml`) with its source and date, so that a licence
transfer is a one-line data change, not a code change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

MHZ = 1e6


@dataclass(frozen=True, slots=True)
class Block:
    """A contiguous uplink block held by one network operator."""

    operator: str
    uplink_low_hz: float
    uplink_high_hz: float
    technologies: frozenset[str]


@dataclass(frozen=True, slots=True)
class Band:
    """A paired (FDD) or unpaired (TDD) mobile band; downlink = uplink + duplex_hz."""

    name: str
    aliases: tuple[str, ...]
    uplink_low_hz: float
    uplink_high_hz: float
    downlink_low_hz: float
    downlink_high_hz: float
    duplex_hz: float
    technologies: frozenset[str]
    blocks: tuple[Block, ...]

    def contains_uplink(self, freq_hz: float) -> bool:
        return self.uplink_low_hz <= freq_hz <= self.uplink_high_hz

    def contains_downlink(self, freq_hz: float) -> bool:
        return self.downlink_low_hz <= freq_hz <= self.downlink_high_hz and self.duplex_hz != 0.0


@dataclass(frozen=True, slots=True)
class NonPhoneAllocation:
    name: str
    low_hz: float
    high_hz: float


class BandPlanError(ValueError):
    """The band plan data file is malformed."""


@dataclass(frozen=True)
class BandPlan:
    """Lookups from frequency to band, operators and technologies."""

    bands: tuple[Band, ...]
    non_phone: tuple[NonPhoneAllocation, ...]
    operator_licensees: dict[str, str]
    source: str
    retrieved: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> BandPlan:
        """Load a band plan file; without a path, the UK plan shipped with cellward."""
        if path is None:
            text = resources.files("dsp").joinpath("data/uk_band_plan.toml").read_text(encoding="utf-8")
            where = "dsp/data/uk_band_plan.toml"
        else:
            text = Path(path).read_text(encoding="utf-8")
            where = str(path)
        try:
            return cls._from_mapping(tomllib.loads(text))
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise BandPlanError(f"band plan {where}: {exc}") from exc

    @classmethod
    def _from_mapping(cls, data: dict) -> BandPlan:
        bands = []
        for raw in data["band"]:
            up_lo, up_hi = _edges_hz(raw["uplink_mhz"], raw["name"])
            dl_lo, dl_hi = _edges_hz(raw["downlink_mhz"], raw["name"])
            blocks = []
            for b in raw.get("blocks", []):
                lo, hi = _edges_hz(b["uplink_mhz"], f"{raw['name']}/{b['operator']}")
                if lo < up_lo or hi > up_hi:
                    raise ValueError(f"block {b['operator']} {b['uplink_mhz']} lies outside band {raw['name']}")
                blocks.append(Block(b["operator"], lo, hi, frozenset(b["technologies"])))
            bands.append(
                Band(
                    name=raw["name"],
                    aliases=tuple(raw.get("aliases", ())),
                    uplink_low_hz=up_lo,
                    uplink_high_hz=up_hi,
                    downlink_low_hz=dl_lo,
                    downlink_high_hz=dl_hi,
                    duplex_hz=float(raw["duplex_mhz"]) * MHZ,
                    technologies=frozenset(raw["technologies"]),
                    blocks=tuple(blocks),
                )
            )
        non_phone = tuple(
            NonPhoneAllocation(raw["name"], *_edges_hz(raw["range_mhz"], raw["name"]))
            for raw in data.get("non_phone", [])
        )
        return cls(
            bands=tuple(bands),
            non_phone=non_phone,
            operator_licensees=dict(data.get("operators", {})),
            source=data["source"]["title"],
            retrieved=data["source"]["retrieved"],
        )

    def uplink_band(self, freq_hz: float) -> Band | None:
        """The band whose uplink contains `freq_hz`, or None."""
        return next((b for b in self.bands if b.contains_uplink(freq_hz)), None)

    def downlink_band(self, freq_hz: float) -> Band | None:
        """The FDD band whose downlink contains `freq_hz`, or None (a base station, not a phone)."""
        return next((b for b in self.bands if b.contains_downlink(freq_hz)), None)

    def non_phone_allocation(self, freq_hz: float) -> NonPhoneAllocation | None:
        return next((a for a in self.non_phone if a.low_hz <= freq_hz <= a.high_hz), None)

    def blocks_overlapping(self, low_hz: float, high_hz: float) -> tuple[Block, ...]:
        """Operator blocks overlapping [low_hz, high_hz] (a burst's occupied band)."""
        return tuple(
            blk
            for band in self.bands
            for blk in band.blocks
            if blk.uplink_low_hz < high_hz and low_hz < blk.uplink_high_hz
        )

    def operators(self, low_hz: float, high_hz: float) -> tuple[str, ...]:
        """Operators whose uplink blocks overlap the band [low_hz, high_hz], in frequency order."""
        names: list[str] = []
        for blk in self.blocks_overlapping(low_hz, high_hz):
            if blk.operator not in names:
                names.append(blk.operator)
        return tuple(names)

    def technologies(self, low_hz: float, high_hz: float) -> frozenset[str]:
        """Technologies in use over [low_hz, high_hz]: from the operator blocks, else from the band."""
        blocks = self.blocks_overlapping(low_hz, high_hz)
        if blocks:
            return frozenset().union(*(b.technologies for b in blocks))
        band = self.uplink_band(0.5 * (low_hz + high_hz))
        return band.technologies if band else frozenset()


def _edges_hz(edges_mhz: list[float], what: str) -> tuple[float, float]:
    low, high = (float(v) * MHZ for v in edges_mhz)
    if not low < high:
        raise ValueError(f"{what}: lower edge {edges_mhz[0]} MHz is not below upper edge {edges_mhz[1]} MHz")
    return low, high
