"""Blocker actuators, one module each, chosen by the config's `actuator.kind` (imported only when used)."""

from __future__ import annotations

from collections.abc import Callable

from sensors.blocker.actuators.base import Actuator, ActuatorFault
from sensors.blocker.config import BlockerNodeConfig, GpioActuatorConfig


def build_actuator(config: BlockerNodeConfig, clock: Callable[[], float]) -> Actuator:
    """The actuator the config names; nothing is claimed until its open()."""
    if isinstance(config.actuator, GpioActuatorConfig):
        from sensors.blocker.actuators.gpio import GpioActuator

        return GpioActuator(config.actuator)
    from sensors.blocker.actuators.sim import SimActuator

    return SimActuator(config.actuator, config.blocker_id, clock)


__all__ = ["Actuator", "ActuatorFault", "build_actuator"]
