"""The AsyncAPI document names every schema and the same topic tree as cellward.messages.topics."""

from __future__ import annotations

import yaml

from cellward.messages import (
    ack_topic,
    blocker_command_state_topic,
    blocker_command_topic,
    blocker_topic,
    command_state_topic,
    command_topic,
    scan_focus_topic,
    sensor_topic,
)
from cellward.messages.schema_files import SCHEMA_DIR, SCHEMA_FILES
from cellward.messages.topics import BLOCKER_LEAVES, SENSOR_LEAVES

ASYNCAPI = SCHEMA_DIR.parent / "asyncapi.yaml"


def _document() -> dict:
    return yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))


def test_asyncapi_is_version_3_and_references_every_message_schema() -> None:
    doc = _document()
    assert doc["asyncapi"].startswith("3."), "the contract is written in AsyncAPI 3"
    refs = {m["payload"]["schema"]["$ref"] for m in doc["components"]["messages"].values()}
    assert refs == {f"schemas/{name}" for name in SCHEMA_FILES.values()}
    titles = {m["title"] for m in doc["components"]["messages"].values()}
    assert titles == set(SCHEMA_FILES), "message titles are the `schema` names"


def test_asyncapi_addresses_match_the_topic_functions() -> None:
    addresses = {c["address"] for c in _document()["channels"].values()}
    expected = {sensor_topic("{site}", "{sensorId}", leaf) for leaf in SENSOR_LEAVES}
    expected |= {blocker_topic("{site}", "{blockerId}", leaf) for leaf in BLOCKER_LEAVES}
    expected |= {
        command_topic("{site}", "{sensorId}", "{command}"),
        command_state_topic("{site}", "{sensorId}", "{command}"),
        blocker_command_topic("{site}", "{blockerId}", "{blockerCommand}"),
        blocker_command_state_topic("{site}", "{blockerId}", "{blockerCommand}"),
        ack_topic("{site}", "{sensorId}"),
        scan_focus_topic("{site}"),
    }
    assert addresses == expected


def test_retained_topics_are_availability_status_blocker_state_and_the_controllers_acks_and_focus() -> None:
    operations = _document()["operations"]
    retained = {name for name, op in operations.items() if op.get("bindings", {}).get("mqtt", {}).get("retain")}
    assert retained == {
        "publishAvailability",
        "publishStatus",
        "publishBlockerAvailability",
        "publishBlockerState",
        "receiveAck",
        "receiveScanFocus",
    }


def test_blocker_command_names_in_asyncapi_match_the_model() -> None:
    from cellward.messages import BLOCKER_COMMAND_PARAMS

    enum = _document()["components"]["parameters"]["blockerCommand"]["enum"]
    assert set(enum) == set(BLOCKER_COMMAND_PARAMS)
