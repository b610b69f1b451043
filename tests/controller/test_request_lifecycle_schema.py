"""cellward.controller_request/1: the JSON Schema (firmware-interface/schemas/controller.request.v1.json) and
the model the controller publishes with (controller.wire.RequestLifecycle) describe one message."""

from __future__ import annotations

import json

from cellward.messages.schema_files import SCHEMA_DIR
from controller.wire import RequestLifecycle, RequestState
from tests.controller.test_incident_pipeline import validator

SCHEMA = "controller.request.v1.json"


def test_the_schema_example_parses_into_the_model_and_writes_back_unchanged() -> None:
    document = json.loads((SCHEMA_DIR / SCHEMA).read_text())
    for example in document["examples"]:
        validator(SCHEMA).validate(example)
        assert RequestLifecycle.model_validate(example).to_wire() == example


def test_schema_and_model_carry_the_same_request_fields() -> None:
    request = json.loads((SCHEMA_DIR / SCHEMA).read_text())["$defs"]["request"]
    assert set(request["required"]) == set(request["properties"]) == set(RequestState.model_fields)
    assert not {"grounds", "reason", "identifiers", "pack_path", "pack_sha256"} & set(request["properties"]), (
        "evidence and free text stay on site"
    )
