"""The one small interface every blocker actuator implements: open, key a band on or off, close."""

from __future__ import annotations

from typing import Protocol


class ActuatorFault(Exception):  # noqa: N818 - a fault of the unit, named like SourceFault
    """An output could not be set or confirmed; the message says what and what to do."""


class Actuator(Protocol):
    description: str  # for the state message: what switches the outputs
    sets_power: bool  # False when the actuator only keys bands (power is fixed on the unit itself)

    def open(self) -> None:
        """Claim the outputs, every band off; raise ActuatorFault when they cannot be driven."""

    def set_band(self, band: str, on: bool, power_dbm: float) -> None:
        """Return once `band` radiates at `power_dbm` (on) or not at all (off); raise ActuatorFault otherwise."""

    def close(self) -> None:
        """Release the outputs (after the node switched every band off)."""
