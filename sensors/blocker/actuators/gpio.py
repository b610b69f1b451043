"""Relays on a Raspberry Pi's GPIO through libgpiod (the `gpiod` Python bindings, extra `cellward[gpio]`).

One output line keys one band of the unit; power is fixed on the unit itself, so set_power is refused.
Every write is read back. Where there is no GPIO (no bindings, no chip device) the actuator drives
nothing and says so: open() raises ActuatorFault, the node stays in `fault` with every band off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sensors.blocker.actuators.base import ActuatorFault
from sensors.blocker.config import GpioActuatorConfig

CONSUMER = "cellward-blocker"


class GpioActuator:
    sets_power = False

    def __init__(self, config: GpioActuatorConfig, request_lines: Callable[..., Any] | None = None) -> None:
        """`request_lines` stands in for gpiod.request_lines where a test supplies the chip."""
        self.config = config
        self._request_lines = request_lines
        self._request: Any = None
        self._value: Any = None  # gpiod.line.Value
        lines = " ".join(f"{band}:{line}" for band, line in sorted(config.lines.items()))
        self.description = f"gpio {config.chip} {lines}"[:200]

    def open(self) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError:
            raise ActuatorFault(
                "the gpio actuator needs libgpiod's Python bindings (pip install 'cellward[gpio]'); nothing is switched"
            ) from None
        self._value = Value
        request_lines = self._request_lines or gpiod.request_lines
        if self._request_lines is None and not Path(self.config.chip).exists():
            raise ActuatorFault(
                f"no GPIO chip at {self.config.chip}: this machine has no GPIO, or actuator.chip names the wrong "
                "device (see `ls /dev/gpiochip*`); nothing is switched"
            )
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.INACTIVE, active_low=self.config.active_low
        )
        try:
            self._request = request_lines(
                str(self.config.chip), consumer=CONSUMER, config={tuple(self.config.lines.values()): settings}
            )
        except (OSError, ValueError) as exc:
            raise ActuatorFault(f"cannot claim lines {self.description}: {exc}") from None

    def set_band(self, band: str, on: bool, power_dbm: float) -> None:
        if self._request is None:
            raise ActuatorFault("the GPIO lines are not claimed (open failed)")
        line = self.config.lines[band]
        wanted = self._value.ACTIVE if on else self._value.INACTIVE
        try:
            self._request.set_value(line, wanted)
            read = self._request.get_value(line)
        except (OSError, ValueError) as exc:
            raise ActuatorFault(f"GPIO line {line} ({band}): {exc}") from None
        if read != wanted:
            raise ActuatorFault(f"GPIO line {line} ({band}) reads {read} after writing {wanted}")

    def close(self) -> None:
        if self._request is not None:
            self._request.release()
            self._request = None
