"""Commands to a node and the node's acknowledgements (command.v1.json, command-state.v1.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cellward.messages.envelope import Envelope, NodeId, WireModel
from cellward.messages.wire_time import UtcMs

CommandName = Literal["reload_config", "set_gain", "pause", "resume", "calibrate", "capture_snippet", "stream_spectrum"]
MAX_STREAM_S = 600


class NoParams(WireModel):
    pass


class SetGainParams(WireModel):
    band: str | None = Field(description="band name, None for every band")
    gain_db: float | None = Field(ge=0, le=60, description="fixed gain, dB; None returns to automatic")


class PauseParams(WireModel):
    duration_s: float | None = Field(gt=0, le=86400, description="resume after this long; None waits for resume")


class CalibrateParams(WireModel):
    reference_hz: float | None = Field(gt=0, description="downlink carrier; None uses the configured ones")


class CaptureSnippetParams(WireModel):
    freq_hz: float = Field(gt=0)
    duration_s: float = Field(gt=0, le=10)
    reason: str = Field(max_length=500)
    deliver: bool = Field(default=False, description="also send the recording to the controller (snippet chunks)")


class StreamSpectrumParams(WireModel):
    duration_s: float = Field(gt=0, le=MAX_STREAM_S, description="publish a spectrum per dwell for this long")


COMMAND_PARAMS: dict[str, type[WireModel]] = {
    "reload_config": NoParams,
    "set_gain": SetGainParams,
    "pause": PauseParams,
    "resume": NoParams,
    "calibrate": CalibrateParams,
    "capture_snippet": CaptureSnippetParams,
    "stream_spectrum": StreamSpectrumParams,
}

CommandParams = SetGainParams | PauseParams | CalibrateParams | CaptureSnippetParams | StreamSpectrumParams | NoParams


class Command(Envelope):
    """A signed instruction from the controller to one node."""

    schema_name: Literal["cellward.command/1"] = Field(default="cellward.command/1", alias="schema")
    command: CommandName
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="echoed in every acknowledgement")
    target: NodeId = Field(description="the node the command is for")
    expires: UtcMs = Field(description="refused after this time")
    params: CommandParams

    @model_validator(mode="before")
    @classmethod
    def _params_for_command(cls, data: Any) -> Any:
        # Validate params with the model of the named command, not whichever union member fits first.
        if isinstance(data, dict) and data.get("command") in COMMAND_PARAMS:
            params = data.get("params")
            model = COMMAND_PARAMS[data["command"]]
            if not isinstance(params, model):
                data = {**data, "params": model.model_validate(params if params is not None else {})}
        return data


class CommandState(Envelope):
    """A node's answer to a command, on cmd/<command>/state."""

    schema_name: Literal["cellward.command_state/1"] = Field(default="cellward.command_state/1", alias="schema")
    command: str = Field(max_length=64)
    id: str | None = Field(max_length=64, description="the command's id; None when it was unreadable")
    result: Literal["accepted", "done", "rejected", "failed"]
    detail: str = Field(max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict)
