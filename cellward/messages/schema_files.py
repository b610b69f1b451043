"""The JSON Schemas of firmware-interface/ as validators, so code and tests check messages against the contract."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "firmware-interface" / "schemas"

# Message name (the `schema` field) -> schema file.
SCHEMA_FILES = {
    "cellward.availability/1": "availability.v1.json",
    "cellward.detections/1": "detections.v1.json",
    "cellward.status/1": "status.v1.json",
    "cellward.stats/1": "stats.v1.json",
    "cellward.command/1": "command.v1.json",
    "cellward.command_state/1": "command-state.v1.json",
    "cellward.blocker_command/1": "blocker.command.v1.json",
    "cellward.blocker_state/1": "blocker.state.v1.json",
    "cellward.blocker_heartbeat/1": "blocker.heartbeat.v1.json",
    "cellward.blocker_fault/1": "blocker.fault.v1.json",
    "cellward.blocker_ack/1": "blocker.ack.v1.json",
    "cellward.spectrum/1": "spectrum.v1.json",
    "cellward.snippet/1": "snippet.v1.json",
    "cellward.ack/1": "ack.v1.json",
    "cellward.scan_focus/1": "scan-focus.v1.json",
}


class SchemaNotFoundError(LookupError):
    """The message names a schema the contract does not define."""


@cache
def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    if not SCHEMA_DIR.is_dir():
        raise FileNotFoundError(f"the wire contract is missing: {SCHEMA_DIR} (run from a cellward checkout)")
    documents = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))}
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents.values())
    return registry, documents


def schema_document(schema_name: str) -> dict[str, Any]:
    """The parsed JSON Schema for a message name such as cellward.detections/1."""
    if schema_name not in SCHEMA_FILES:
        raise SchemaNotFoundError(f"no schema for {schema_name!r}; known: {', '.join(sorted(SCHEMA_FILES))}")
    return _registry()[1][SCHEMA_FILES[schema_name]]


@cache
def validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator(schema_document(schema_name), registry=_registry()[0])


def validate_wire(message: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `message` satisfies the schema it names."""
    name = message.get("schema")
    if name not in SCHEMA_FILES:
        raise ValidationError(f"unknown schema {name!r}; known: {', '.join(sorted(SCHEMA_FILES))}")
    validator(name).validate(message)
