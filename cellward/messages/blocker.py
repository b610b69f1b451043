"""Commands to a blocker node and its acknowledgements, signed like every other cellward message."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from cellward.messages.envelope import Envelope, NodeId, WireModel
from cellward.messages.wire_time import UtcMs

BlockerCommandName = Literal["set_blocking", "set_power", "set_failsafe", "all_off"]
BAND_PATTERN = r"^(B|n)[0-9]{1,3}$"


class SetBlockingParams(WireModel):
    zone: NodeId = Field(description="the zone whose blocking is switched")
    bands: list[str] = Field(min_length=1, max_length=16, description="band names, e.g. B8, n78")
    on: bool = Field(description="True switches the bands on in that zone, False off")


class SetPowerParams(WireModel):
    band: str = Field(pattern=BAND_PATTERN, description="band name")
    power_dbm: float = Field(ge=-30, le=60, description="output power; the node refuses above its licence limit")


class SetFailsafeParams(WireModel):
    state: Literal["off", "hold"] = Field(description="what the node does when it hears no controller")
    timeout_s: float = Field(gt=0, le=3600, description="silence from the controller before fail-safe")


class AllOffParams(WireModel):
    reason: str = Field(max_length=500, description="why every band was switched off")


BLOCKER_COMMAND_PARAMS: dict[str, type[WireModel]] = {
    "set_blocking": SetBlockingParams,
    "set_power": SetPowerParams,
    "set_failsafe": SetFailsafeParams,
    "all_off": AllOffParams,
}


class BlockerCommand(Envelope):
    """A signed instruction from the controller to one blocker node, on cmd/<command>/set."""

    schema_name: Literal["cellward.blocker_command/1"] = Field(default="cellward.blocker_command/1", alias="schema")
    command: BlockerCommandName
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="echoed in every acknowledgement")
    target: NodeId = Field(description="the blocker node the command is for")
    expires: UtcMs = Field(description="refused after this time")
    params: SetBlockingParams | SetPowerParams | SetFailsafeParams | AllOffParams

    @model_validator(mode="before")
    @classmethod
    def _params_for_command(cls, data: Any) -> Any:
        # Validate params with the model of the named command, not whichever union member fits first.
        if isinstance(data, dict) and data.get("command") in BLOCKER_COMMAND_PARAMS:
            params = data.get("params")
            model = BLOCKER_COMMAND_PARAMS[data["command"]]
            if not isinstance(params, model):
                data = {**data, "params": model.model_validate(params if params is not None else {})}
        return data

    @model_validator(mode="after")
    def _bands_named(self) -> BlockerCommand:
        if isinstance(self.params, SetBlockingParams):
            bad = [b for b in self.params.bands if not _is_band(b)]
            if bad:
                raise ValueError(f"unknown band names {bad}; expected e.g. B8 or n78")
        return self


def _is_band(name: str) -> bool:
    return re.fullmatch(BAND_PATTERN, name) is not None


def blocker_command_topic(site: str, blocker_id: str, command: str) -> str:
    """The topic a command to one blocker node is published on."""
    return f"cellward/{site}/blocker/{blocker_id}/cmd/{command}/set"
