"""The blocker-node protocol: commands from the controller and what a node reports back (state, heartbeat,
faults, acknowledgements), signed like every other cellward message (firmware-interface/schemas/blocker.*)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from cellward.messages.commands import NoParams
from cellward.messages.envelope import ClockState, Envelope, NodeId, WireModel
from cellward.messages.topics import blocker_command_state_topic, blocker_command_topic, blocker_topic
from cellward.messages.wire_time import UtcMs

BlockerCommandName = Literal["set_blocking", "set_power", "set_failsafe", "all_off", "keepalive"]
BAND_PATTERN = r"^(B|n)[0-9]{1,3}$"
MAX_BANDS = 16

# Why a node refused (or failed) a command; heartbeats count refusals under the same names.
RefusalReason = Literal[
    "malformed",  # not JSON, not a blocker command, or fails the schema
    "wrong_topic",  # the payload's command differs from the topic's
    "wrong_target",  # addressed to another site or unit
    "unsigned",  # no signature
    "unknown_sender",  # no controller key for the sender
    "bad_signature",  # signature does not match
    "replayed",  # seq not above the last accepted from that sender
    "expired",  # past `expires` when it arrived
    "out_of_policy",  # band, zone, power or fail-safe mode the unit does not allow
    "fault",  # a switch-on while the actuator is in fault
    "actuator",  # the actuator failed to carry out an accepted command (result `failed`)
]
REFUSAL_REASONS: tuple[str, ...] = RefusalReason.__args__  # type: ignore[attr-defined]
BlockerMode = Literal["normal", "failsafe", "fault", "stopped"]
FailsafeMode = Literal["off", "hold"]


class SetBlockingParams(WireModel):
    zone: NodeId = Field(description="the zone whose blocking is switched")
    bands: list[str] = Field(min_length=1, max_length=MAX_BANDS, description="band names, e.g. B8, n78")
    on: bool = Field(description="True switches the bands on in that zone, False off")


class SetPowerParams(WireModel):
    band: str = Field(pattern=BAND_PATTERN, description="band name")
    power_dbm: float = Field(ge=-30, le=60, description="output power; the node refuses above its licence limit")


class SetFailsafeParams(WireModel):
    state: FailsafeMode = Field(description="what the node does when it hears no controller")
    timeout_s: float = Field(gt=0, le=3600, description="silence from the controller before fail-safe")


class AllOffParams(WireModel):
    reason: str = Field(max_length=500, description="why every band was switched off")


BLOCKER_COMMAND_PARAMS: dict[str, type[WireModel]] = {
    "set_blocking": SetBlockingParams,
    "set_power": SetPowerParams,
    "set_failsafe": SetFailsafeParams,
    "all_off": AllOffParams,
    "keepalive": NoParams,
}


class BlockerCommand(Envelope):
    """A signed instruction from the controller to one blocker node, on cmd/<command>/set."""

    schema_name: Literal["cellward.blocker_command/1"] = Field(default="cellward.blocker_command/1", alias="schema")
    command: BlockerCommandName
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="echoed in every acknowledgement")
    target: NodeId = Field(description="the blocker node the command is for")
    expires: UtcMs = Field(description="refused after this time")
    params: SetBlockingParams | SetPowerParams | SetFailsafeParams | AllOffParams | NoParams

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


class BandState(WireModel):
    """One band of the unit as the actuator has it now."""

    band: str = Field(pattern=BAND_PATTERN, description="band name")
    on: bool = Field(description="the unit radiates in this band's downlink")
    power_dbm: float = Field(ge=-30, le=60, description="output power set for the band, dBm")
    max_power_dbm: float = Field(ge=-30, le=60, description="the unit's licence limit for the band, dBm")
    zones: list[NodeId] = Field(max_length=64, description="zones whose set_blocking holds the band on; [] when off")


class FailsafeSetting(WireModel):
    state: FailsafeMode = Field(description="off: every band off; hold: keep the bands as they are")
    timeout_s: float = Field(gt=0, le=3600, description="controller silence before the node falls back")


class BlockerState(Envelope):
    """Retained on cellward/<site>/blocker/<id>/state; republished on every change."""

    schema_name: Literal["cellward.blocker_state/1"] = Field(default="cellward.blocker_state/1", alias="schema")
    mode: BlockerMode = Field(description="normal, failsafe (lost the controller), fault (actuator), stopped")
    detail: str | None = Field(max_length=500, description="why the mode is failsafe, fault or stopped; None in normal")
    bands: list[BandState] = Field(min_length=1, max_length=MAX_BANDS)
    zones: list[NodeId] = Field(min_length=1, max_length=64, description="zones the unit may block")
    failsafe: FailsafeSetting
    actuator: str = Field(max_length=200, description="what switches the outputs: gpio chip and lines, sim, ...")
    started_at: UtcMs
    software_version: str = Field(max_length=64)


class BlockerHeartbeat(Envelope):
    """Periodic, not retained, on cellward/<site>/blocker/<id>/heartbeat; counters cumulative since start."""

    schema_name: Literal["cellward.blocker_heartbeat/1"] = Field(default="cellward.blocker_heartbeat/1", alias="schema")
    interval_s: float = Field(gt=0, le=3600, description="period of these messages, s")
    uptime_s: float = Field(ge=0)
    mode: BlockerMode
    bands_on: list[str] = Field(max_length=MAX_BANDS, description="bands radiating now")
    state_seq: int = Field(ge=0, description="seq of the latest state message (0 before the first)")
    controller_heard: UtcMs | None = Field(description="last valid command or keepalive; None if never")
    commands_applied: int = Field(ge=0)
    refusals: dict[RefusalReason, Annotated[int, Field(ge=0)]] = Field(description="refused or failed, by reason")
    mqtt_reconnects: int = Field(ge=0)
    spool_depth: int = Field(ge=0, description="messages waiting in the node's on-disk spool")
    clock: ClockState


class BlockerFault(Envelope):
    """A fault raised or cleared, not retained, on cellward/<site>/blocker/<id>/faults (spooled: none lost)."""

    schema_name: Literal["cellward.blocker_fault/1"] = Field(default="cellward.blocker_fault/1", alias="schema")
    event: Literal["raised", "cleared"]
    kind: Literal["actuator", "controller_silent", "broker_lost"] = Field(
        description="actuator: an output could not be set; controller_silent / broker_lost: fail-safe entered"
    )
    detail: str = Field(max_length=500, description="what happened, for a person")
    action: Literal["bands_off", "held", "none"] = Field(description="what the node did about it")
    bands: list[str] = Field(max_length=MAX_BANDS, description="bands concerned")


class BlockerAck(Envelope):
    """The node's answer to a command, on cmd/<command>/state: accepted then applied (or failed), or refused."""

    schema_name: Literal["cellward.blocker_ack/1"] = Field(default="cellward.blocker_ack/1", alias="schema")
    command: str = Field(max_length=64, description="the <command> level of the topic it arrived on")
    id: str | None = Field(max_length=64, description="the command's id; None when it was unreadable")
    result: Literal["accepted", "applied", "refused", "failed"]
    reason: RefusalReason | None = Field(description="why refused or failed; None when accepted or applied")
    detail: str = Field(max_length=1000, description="what happened, for a person")
    bands_on: list[str] = Field(max_length=MAX_BANDS, description="bands radiating after this answer")

    @model_validator(mode="after")
    def _reason_when_refused(self) -> BlockerAck:
        if (self.result in ("refused", "failed")) != (self.reason is not None):
            raise ValueError("reason is required for refused/failed and must be null for accepted/applied")
        return self


__all__ = [
    "BLOCKER_COMMAND_PARAMS",
    "REFUSAL_REASONS",
    "AllOffParams",
    "BandState",
    "BlockerAck",
    "BlockerCommand",
    "BlockerCommandName",
    "BlockerFault",
    "BlockerHeartbeat",
    "BlockerMode",
    "BlockerState",
    "FailsafeMode",
    "FailsafeSetting",
    "RefusalReason",
    "SetBlockingParams",
    "SetFailsafeParams",
    "SetPowerParams",
    "blocker_command_state_topic",
    "blocker_command_topic",
    "blocker_topic",
]
