"""What the unit radiates, band by band, changed only through its actuator.

A band is on while at least one zone's set_blocking holds it on. Every change goes to the actuator
first and is recorded only once the actuator has confirmed it, so the state never claims an emission
(or a silence) that the outputs do not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cellward.messages import BandState
from sensors.blocker.actuators import Actuator, ActuatorFault
from sensors.blocker.config import BlockerNodeConfig


@dataclass
class Band:
    on: bool
    power_dbm: float
    max_power_dbm: float
    zones: set[str] = field(default_factory=set)


class Unit:
    def __init__(self, config: BlockerNodeConfig, actuator: Actuator) -> None:
        self.actuator = actuator
        self.bands = {
            name: Band(False, limit.start_power_dbm, limit.max_power_dbm) for name, limit in config.bands.items()
        }

    def bands_on(self) -> list[str]:
        return [name for name, band in self.bands.items() if band.on]

    def snapshot(self) -> list[BandState]:
        return [
            BandState(band=n, on=b.on, power_dbm=b.power_dbm, max_power_dbm=b.max_power_dbm, zones=sorted(b.zones))
            for n, b in self.bands.items()
        ]

    def _key(self, name: str, on: bool, power_dbm: float) -> None:
        band = self.bands[name]
        if band.on != on or (on and band.power_dbm != power_dbm):
            self.actuator.set_band(name, on, power_dbm)
        band.on, band.power_dbm = on, power_dbm

    def set_blocking(self, zone: str, names: list[str], on: bool) -> None:
        """Hold (on) or release (off) `names` for `zone`; a band goes off once no zone holds it."""
        for name in names:
            band = self.bands[name]
            zones = band.zones | {zone} if on else band.zones - {zone}
            self._key(name, bool(zones), band.power_dbm)
            band.zones = zones

    def set_power(self, name: str, power_dbm: float) -> None:
        band = self.bands[name]
        if band.on:
            self._key(name, True, power_dbm)
        band.power_dbm = power_dbm

    def all_off(self) -> list[str]:
        """Every band off, each tried even when another fails; returns the bands that were on. Raises
        ActuatorFault after trying them all when any could not be switched off."""
        was_on = self.bands_on()
        failures = []
        for name in self.bands:
            try:
                self.actuator.set_band(name, False, self.bands[name].power_dbm)
            except ActuatorFault as exc:
                failures.append(str(exc))
                continue
            self.bands[name].on = False
            self.bands[name].zones = set()
        if failures:
            raise ActuatorFault("; ".join(failures))
        return was_on
