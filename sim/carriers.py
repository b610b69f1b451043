"""Which band, operator block and carrier a phone uses, drawn from the band plan (dsp.band_plan)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.band_plan import BandPlan, Block

RTL_SDR_MAX_HZ = 1766e6  # default choices stay where an RTL-SDR can hear them (SYSTEM.md 3.3)
GSM_RASTER_HZ = 200e3
# LTE channel bandwidth (Hz) -> resource blocks (TS 36.101 table 5.6-1); widest first
LTE_CHANNELS = ((20e6, 100), (15e6, 75), (10e6, 50), (5e6, 25), (3e6, 15), (1.4e6, 6))
# NR at 15 kHz SCS, FR1 (TS 38.101-1 table 5.3.2-1)
NR_CHANNELS = ((20e6, 106), (15e6, 79), (10e6, 52), (5e6, 25))
MAX_GSM_HOPS = 4


class CarrierError(ValueError):
    """No operator block fits the requested technology, operator and band."""


@dataclass(frozen=True)
class Carrier:
    """The channel a phone transmits on. GSM: `channels_hz` is its hopping list (one entry: no hopping);
    LTE/NR: `resource_blocks` wide, centred on `centre_hz`."""

    technology: str
    band: str
    operator: str
    centre_hz: float
    channel_bandwidth_hz: float
    resource_blocks: int = 0
    channels_hz: tuple[float, ...] = ()


def _candidates(plan: BandPlan, technology: str, operator: str | None, band: str | None) -> list[tuple[str, Block]]:
    found = []
    for b in plan.bands:
        if band is not None and band != b.name and band not in b.aliases:
            continue
        for blk in b.blocks:
            if technology not in blk.technologies or (operator is not None and blk.operator != operator):
                continue
            if band is None and blk.uplink_high_hz > RTL_SDR_MAX_HZ:
                continue
            if technology == "nr" and band is None and b.name != "B28":
                continue  # NR uplink below 1.766 GHz in the UK runs mainly in n28 (SYSTEM.md 3.2)
            found.append((b.name, blk))
    return found


def choose_carrier(
    plan: BandPlan, technology: str, rng: np.random.Generator, operator: str | None = None, band: str | None = None
) -> Carrier:
    """A carrier for `technology` in a block of `operator` in `band` (each drawn from `rng` when None)."""
    candidates = _candidates(plan, technology, operator, band)
    if not candidates:
        raise CarrierError(
            f"no {technology} uplink block for operator {operator or 'any'} in band {band or 'any'} in the band plan"
        )
    band_name, block = candidates[int(rng.integers(len(candidates)))]
    width = block.uplink_high_hz - block.uplink_low_hz
    if technology == "gsm":
        first = int(np.ceil((block.uplink_low_hz + GSM_RASTER_HZ / 2) / GSM_RASTER_HZ))
        last = int(np.floor((block.uplink_high_hz - GSM_RASTER_HZ / 2) / GSM_RASTER_HZ))
        count = int(min(MAX_GSM_HOPS, last - first + 1, rng.integers(1, MAX_GSM_HOPS + 1)))
        picks = np.sort(rng.choice(np.arange(first, last + 1), count, replace=False))
        channels = tuple(float(n) * GSM_RASTER_HZ for n in picks)
        return Carrier("gsm", band_name, block.operator, channels[0], GSM_RASTER_HZ, 1, channels)
    table = LTE_CHANNELS if technology == "lte" else NR_CHANNELS
    fitting = [(bw, rbs) for bw, rbs in table if bw <= width + 1.0]
    if not fitting:
        raise CarrierError(f"block {block.operator} in {band_name} is too narrow for an {technology} carrier")
    bandwidth, rbs = fitting[0]
    centre = round((block.uplink_low_hz + block.uplink_high_hz) / 2 / 100e3) * 100e3  # 100 kHz channel raster
    return Carrier(technology, band_name, block.operator, float(centre), bandwidth, rbs)
