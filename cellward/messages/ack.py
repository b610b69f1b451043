"""The controller's acknowledgement to one sensor: what it has durably stored, and which seqs to send again.

Topic cellward/<site>/controller/ack/<sensor id>, retained, QoS 1 (ack.v1.json). A sensor keeps every
message of an acknowledged stream in its spool after the broker's PUBACK and forgets it only when an
ack's `through_seq` covers it, so a broker that dies with messages in its memory loses nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cellward.messages.envelope import MAX_SEQ, Envelope, NodeId, WireModel

ACK_SCHEMA = "cellward.ack/1"
# The streams a sensor holds until the controller acknowledges them: the ones the controller stores.
ACKED_SCHEMAS = ("cellward.detections/1", "cellward.status/1", "cellward.stats/1")
MAX_MISSING_LISTED = 1000


def ack_topic(site: str, sensor_id: str) -> str:
    """Where the controller acknowledges `sensor_id`'s messages (outside the sensor's own tree)."""
    return f"cellward/{site}/controller/ack/{sensor_id}"


class StreamAck(WireModel):
    name: Literal["cellward.detections/1", "cellward.status/1", "cellward.stats/1"] = Field(
        description="the acknowledged stream (message name)"
    )
    through_seq: int = Field(ge=0, le=MAX_SEQ, description="every seq up to this one is stored (or given up)")
    highest_seq: int = Field(ge=0, le=MAX_SEQ, description="the highest seq the controller has received")
    missing: list[int] = Field(
        max_length=MAX_MISSING_LISTED, description="seqs between through_seq and highest_seq not received: resend them"
    )


class ControllerAck(Envelope):
    schema_name: Literal["cellward.ack/1"] = Field(default=ACK_SCHEMA, alias="schema")
    target: NodeId = Field(description="the sensor whose streams this acknowledges")
    streams: list[StreamAck] = Field(max_length=len(ACKED_SCHEMAS))
