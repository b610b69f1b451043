"""The envelope every cellward MQTT message carries (firmware-interface/schemas/envelope.v1.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cellward.messages.wire_time import UtcMs

NodeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{86}==$")]
Technology = Literal["gsm", "lte", "nr", "unknown"]
MAX_SEQ = 2**53 - 1  # the largest integer every JSON reader holds exactly


class WireModel(BaseModel):
    """A closed record of the wire format: unknown keys are an error, as in the schemas."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class ClockState(WireModel):
    """The sender's clock when it wrote the message; evidence relies on it, so unknown is said plainly."""

    state: Literal["synced", "unsynced", "unknown"] = Field(description="unknown when the sync daemon cannot be read")
    source: str = Field(max_length=64, description="what reported the state: chrony, timedatectl, gps, sim, none")
    offset_s: float | None = Field(description="local clock minus true time, seconds; None when unknown")


class Envelope(WireModel):
    """Fields of every message. Subclasses pin `schema_name` to one literal and add their payload."""

    schema_name: str = Field(alias="schema", description="message name and major version, e.g. cellward.detections/1")
    site: NodeId = Field(description="site id, the <site> level of the topic")
    sender: NodeId = Field(description="id of the node that wrote and signed the message")
    ts: UtcMs = Field(description="when the sender wrote the message, UTC")
    seq: int = Field(ge=1, le=MAX_SEQ, description="per sender and message name, +1 per message, persisted")
    sig: Signature | None = Field(default=None, description="Ed25519 signature; None until signed")

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict (schema key, wire timestamps); `sig` left out while unsigned."""
        return self.model_dump(mode="json", exclude_none=False, exclude={"sig"} if self.sig is None else None)
