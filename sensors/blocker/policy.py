"""The unit's own limits, checked on every authentic command before anything is actuated: bands it has,
zones on its allow-list, power within its licence, fail-safe modes its config allows, and no switch-on
while the actuator is in fault. The controller applies its own policy first; this is the last word."""

from __future__ import annotations

from cellward.messages import BlockerCommand, RefusalReason
from cellward.messages.blocker import SetBlockingParams, SetFailsafeParams, SetPowerParams
from sensors.blocker.config import BlockerNodeConfig

Refusal = tuple[RefusalReason, str]


def refusal(command: BlockerCommand, config: BlockerNodeConfig, faulted: bool, sets_power: bool) -> Refusal | None:
    """Why the unit will not carry out `command`, or None when it may."""
    params = command.params
    if isinstance(params, SetBlockingParams):
        if params.zone not in config.zones:
            return "out_of_policy", f"zone {params.zone!r} is not this unit's (it may block {', '.join(config.zones)})"
        foreign = [band for band in params.bands if band not in config.bands]
        if foreign:
            return "out_of_policy", f"the unit has no band {', '.join(foreign)} (it has {', '.join(config.bands)})"
        if params.on and faulted:
            return "fault", "the actuator is in fault: no band is switched on until it recovers"
    elif isinstance(params, SetPowerParams):
        limit = config.bands.get(params.band)
        if limit is None:
            return "out_of_policy", f"the unit has no band {params.band} (it has {', '.join(config.bands)})"
        if params.power_dbm > limit.max_power_dbm:
            return (
                "out_of_policy",
                f"{params.band}: {params.power_dbm} dBm is above the unit's limit of {limit.max_power_dbm} dBm",
            )
        if not sets_power:
            return "out_of_policy", "this actuator keys bands on and off only; power is set on the unit itself"
    elif isinstance(params, SetFailsafeParams) and params.state == "hold" and not config.failsafe.allow_hold:
        return "out_of_policy", "fail-safe hold is not allowed on this unit (failsafe.allow_hold is false)"
    return None
