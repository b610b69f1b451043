"""Turn a received JSON object into the message model its `schema` field names."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from cellward.messages.ack import ControllerAck
from cellward.messages.availability import Availability
from cellward.messages.blocker import BlockerAck, BlockerCommand, BlockerFault, BlockerHeartbeat, BlockerState
from cellward.messages.commands import Command, CommandState
from cellward.messages.detections import DetectionBatch
from cellward.messages.envelope import Envelope
from cellward.messages.scan_focus import ScanFocus
from cellward.messages.snippet import SnippetChunk
from cellward.messages.spectrum import SpectrumFrame
from cellward.messages.stats import SensorStats
from cellward.messages.status import SensorStatus
from cellward.messages.wire_time import WIRE_CONTEXT

MESSAGE_MODELS: dict[str, type[Envelope]] = {
    "cellward.availability/1": Availability,
    "cellward.detections/1": DetectionBatch,
    "cellward.status/1": SensorStatus,
    "cellward.stats/1": SensorStats,
    "cellward.command/1": Command,
    "cellward.command_state/1": CommandState,
    "cellward.blocker_command/1": BlockerCommand,
    "cellward.blocker_state/1": BlockerState,
    "cellward.blocker_heartbeat/1": BlockerHeartbeat,
    "cellward.blocker_fault/1": BlockerFault,
    "cellward.blocker_ack/1": BlockerAck,
    "cellward.spectrum/1": SpectrumFrame,
    "cellward.snippet/1": SnippetChunk,
    "cellward.ack/1": ControllerAck,
    "cellward.scan_focus/1": ScanFocus,
}


class MessageError(ValueError):
    """A message that is not a valid cellward message (unknown schema or bad fields)."""


def parse_message(data: Any) -> Envelope:
    """Validate a decoded JSON object into its model; MessageError says what is wrong."""
    if not isinstance(data, dict):
        raise MessageError(f"a message must be a JSON object, got {type(data).__name__}")
    name = data.get("schema")
    model = MESSAGE_MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        raise MessageError(f"unknown schema {name!r}; known: {', '.join(sorted(MESSAGE_MODELS))}")
    try:
        return model.model_validate(data, context=WIRE_CONTEXT)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()[:5])
        raise MessageError(f"invalid {name} message: {problems}") from None
