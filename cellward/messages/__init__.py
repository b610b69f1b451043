"""Pydantic models of the MQTT messages, mirroring the JSON Schemas in firmware-interface/schemas/."""

from cellward.messages.ack import ACK_SCHEMA, ACKED_SCHEMAS, ControllerAck, StreamAck, ack_topic
from cellward.messages.availability import Availability
from cellward.messages.blocker import BLOCKER_COMMAND_PARAMS, BlockerCommand, BlockerCommandName
from cellward.messages.commands import (
    COMMAND_PARAMS,
    CalibrateParams,
    CaptureSnippetParams,
    Command,
    CommandName,
    CommandState,
    NoParams,
    PauseParams,
    SetGainParams,
)
from cellward.messages.detections import (
    MAX_BURSTS_PER_REPORT,
    MAX_REPORTS_PER_BATCH,
    ActivityReport,
    BurstRecord,
    DetectionBatch,
)
from cellward.messages.envelope import ClockState, Envelope, NodeId, Technology
from cellward.messages.parse import MESSAGE_MODELS, MessageError, parse_message
from cellward.messages.schema_files import SCHEMA_FILES, validate_wire
from cellward.messages.stats import SensorStats
from cellward.messages.status import BandCoverage, CalibrationState, SensorState, SensorStatus, SourceInfo
from cellward.messages.topics import (
    ALL_SENSORS,
    SensorTopic,
    command_state_topic,
    command_topic,
    parse_sensor_topic,
    sensor_topic,
)
from cellward.messages.wire_time import UtcMs, UtcUs, epoch_s, format_utc, parse_utc, utc_text

__all__ = [
    "ACKED_SCHEMAS",
    "ACK_SCHEMA",
    "ALL_SENSORS",
    "BLOCKER_COMMAND_PARAMS",
    "COMMAND_PARAMS",
    "MAX_BURSTS_PER_REPORT",
    "MAX_REPORTS_PER_BATCH",
    "MESSAGE_MODELS",
    "SCHEMA_FILES",
    "ActivityReport",
    "Availability",
    "BandCoverage",
    "BlockerCommand",
    "BlockerCommandName",
    "BurstRecord",
    "CalibrateParams",
    "CalibrationState",
    "CaptureSnippetParams",
    "ClockState",
    "Command",
    "CommandName",
    "CommandState",
    "ControllerAck",
    "DetectionBatch",
    "Envelope",
    "MessageError",
    "NoParams",
    "NodeId",
    "PauseParams",
    "SensorState",
    "SensorStats",
    "SensorStatus",
    "SensorTopic",
    "SetGainParams",
    "SourceInfo",
    "StreamAck",
    "Technology",
    "UtcMs",
    "UtcUs",
    "ack_topic",
    "command_state_topic",
    "command_topic",
    "epoch_s",
    "format_utc",
    "parse_message",
    "parse_sensor_topic",
    "parse_utc",
    "sensor_topic",
    "utc_text",
    "validate_wire",
]
