"""The simulator's blocker unit: each switch goes on the simulated site's switchboard (sim/blockers.py),
whose time line the simulated world reads, so the world radiates what the node has switched on."""

from __future__ import annotations

from collections.abc import Callable

from cellward.config import ConfigError
from cellward.site import load_site
from sensors.blocker.actuators.base import ActuatorFault
from sensors.blocker.config import SimActuatorConfig
from sim.blockers import BlockerError, BlockerSwitchboard
from sim.commands import site_path


class SimActuator:
    sets_power = True

    def __init__(
        self,
        config: SimActuatorConfig,
        blocker_id: str,
        clock: Callable[[], float],
        switchboard: BlockerSwitchboard | None = None,
    ) -> None:
        self.config = config
        self.unit = config.unit or blocker_id
        self.clock = clock
        self.switchboard = switchboard
        self.description = f"sim {self.unit} on {config.site}"[:200]

    def open(self) -> None:
        if self.switchboard is None:
            try:
                site = load_site(site_path(self.config.site))
            except (ConfigError, OSError, ValueError) as exc:
                raise ActuatorFault(f"the simulated site cannot be loaded: {exc}") from None
            self.config.switch_log.parent.mkdir(parents=True, exist_ok=True)
            self.switchboard = BlockerSwitchboard(site, self.config.switch_log)
        if self.unit not in {u.id for u in self.switchboard.site.blockers}:
            raise ActuatorFault(f"blocker {self.unit!r} is not in the simulated site {self.switchboard.site.name}")

    def set_band(self, band: str, on: bool, power_dbm: float) -> None:
        if self.switchboard is None:
            raise ActuatorFault("the simulated unit is not open")
        try:
            self.switchboard.switch(self.unit, band, on, power_dbm, self.clock())
        except (BlockerError, OSError) as exc:
            raise ActuatorFault(str(exc)) from None

    def close(self) -> None:
        pass  # the time line stays for the simulator to read
