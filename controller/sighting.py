"""A located emission, the unit the incident engine works on (built from h-locate's HeardEmission + Location)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sighting:
    """One emission heard by one or more sensors, placed in the site (times UTC epoch s, freq Hz, dBm)."""

    start_s: float
    end_s: float
    freq_hz: float
    bandwidth_hz: float
    technology: str
    band: str | None
    operators: tuple[str, ...]
    cell_id: str | None
    wing: str | None
    landing: int | None
    zone: str | None
    confidence: float
    method: str
    region: tuple[str, ...] = ()
    runners_up: tuple[tuple[str, float], ...] = ()
    sensor_powers_dbm: dict[str, float] = field(default_factory=dict)
    received_at: float | None = None  # wall-clock time the last report of it arrived (latency accounting)
    devices: int = 1  # phones of this technology and network heard at once here (controller/locating.py)
    # GSM bursts of its network on other ARFCNs in the same TDMA frame (ids from controller/locating.py): those
    # members of a group are other phones
    frame_groups: tuple[int, ...] = ()
    tx_power_dbm: float | None = None  # the locator's estimate of the phone's transmit power
    # What the locator took for one phone (technology, network, the sensors that heard it) when it was the
    # only one of its network heard: a later sighting with the same track is that phone located again.
    track: tuple | None = None

    @property
    def place_key(self) -> str:
        """Where it is, as a merge key: the cell, else the coverage region, else unknown."""
        if self.cell_id is not None:
            return self.cell_id
        if self.region:
            return "region:" + ",".join(sorted(self.region))
        return "unknown"
