"""The pydantic models in cellward.messages and the JSON Schemas in firmware-interface/ describe one format."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from cellward.messages import MESSAGE_MODELS, MessageError, parse_message
from cellward.messages.schema_files import SCHEMA_DIR, SCHEMA_FILES, schema_document, validate_wire
from cellward.signing import NodeKey, sign_message
from tests.contract.examples import all_examples

KEYS = {name: NodeKey.generate(name) for name in ("s-1", "blk-1", "controller")}


def signed(message) -> dict:
    return sign_message(message.to_wire(), KEYS[message.sender])


def test_every_schema_file_has_a_model_and_every_model_a_schema_file() -> None:
    # controller.*.json are the controller's own messages (owned and tested in tests/controller).
    on_disk = {p.name for p in SCHEMA_DIR.glob("*.json") if not p.name.startswith("controller.")}
    on_disk -= {"envelope.v1.json", "detection.v1.json"}
    assert set(SCHEMA_FILES.values()) == on_disk, "a schema file is not mapped to a message name (or vice versa)"
    assert set(SCHEMA_FILES) == set(MESSAGE_MODELS), "every message name needs both a schema and a model"


@pytest.mark.parametrize("message", all_examples(), ids=lambda m: f"{m.schema_name}")
def test_model_built_messages_satisfy_their_schema(message) -> None:
    wire = signed(message)
    validate_wire(json.loads(json.dumps(wire)))


@pytest.mark.parametrize("schema_name", sorted(SCHEMA_FILES))
def test_schema_examples_parse_into_models_and_serialise_back_unchanged(schema_name: str) -> None:
    examples = schema_document(schema_name).get("examples", [])
    assert examples, f"{SCHEMA_FILES[schema_name]} must carry at least one example for readers and for this test"
    for example in examples:
        validate_wire(example)
        model = parse_message(example)
        assert type(model) is MESSAGE_MODELS[schema_name]
        assert model.to_wire() == example, "the model must write back exactly what it read (signatures depend on it)"


def _detections() -> dict:
    return copy.deepcopy(schema_document("cellward.detections/1")["examples"][0])


def _command() -> dict:
    return copy.deepcopy(schema_document("cellward.command/1")["examples"][0])


def _spectrum() -> dict:
    return copy.deepcopy(schema_document("cellward.spectrum/1")["examples"][0])


def _snippet() -> dict:
    return copy.deepcopy(schema_document("cellward.snippet/1")["examples"][0])


def _status() -> dict:
    return copy.deepcopy(schema_document("cellward.status/1")["examples"][0])


def _example(schema_name: str, index: int = 0):
    return lambda: copy.deepcopy(schema_document(schema_name)["examples"][index])


_blocker_command = _example("cellward.blocker_command/1")
_blocker_keepalive = _example("cellward.blocker_command/1", 1)
_blocker_state = _example("cellward.blocker_state/1")
_blocker_heartbeat = _example("cellward.blocker_heartbeat/1")
_blocker_fault = _example("cellward.blocker_fault/1")
_blocker_applied = _example("cellward.blocker_ack/1")
_blocker_refused = _example("cellward.blocker_ack/1", 1)


def _mutated(base, path, value=None, delete=False):
    doc = base()
    target = doc
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


# Each of these breaks one rule; the schema and the model must both refuse it, or they disagree.
INVALID = {
    "unknown top-level key": _mutated(_detections, ["extra"], 1),
    "unknown report key": _mutated(_detections, ["reports", 0, "rssi"], -50),
    "ts with seconds only": _mutated(_detections, ["ts"], "2026-11-23T06:55:01Z"),
    "ts with microseconds": _mutated(_detections, ["ts"], "2026-11-23T06:55:01.000000Z"),
    "ts with offset": _mutated(_detections, ["ts"], "2026-11-23T06:55:01.000+01:00"),
    "burst start with ms": _mutated(_detections, ["reports", 0, "bursts", 0, "start"], "2026-11-23T06:55:00.101Z"),
    "seq zero": _mutated(_detections, ["seq"], 0),
    "seq missing": _mutated(_detections, ["seq"], delete=True),
    "sender with slash": _mutated(_detections, ["sender"], "s/1"),
    "sender with wildcard": _mutated(_detections, ["sender"], "s+1"),
    "malformed sig": _mutated(_detections, ["sig"], "abc"),
    "no reports": _mutated(_detections, ["reports"], []),
    "zero bursts": _mutated(_detections, ["reports", 0, "burst_count"], 0),
    "duty cycle above 1": _mutated(_detections, ["reports", 0, "duty_cycle"], 1.5),
    "clipped fraction negative": _mutated(_detections, ["reports", 0, "clipped_fraction"], -0.1),
    "technology not known": _mutated(_detections, ["reports", 0, "technology"], "wifi"),
    "repeated operator": _mutated(_detections, ["reports", 0, "operators"], ["EE", "EE"]),
    "too many bursts": _mutated(_detections, ["reports", 0, "bursts"], [_detections()["reports"][0]["bursts"][0]] * 65),
    "clock state invented": _mutated(_detections, ["clock", "state"], "probably"),
    "wrong schema name": _mutated(_detections, ["schema"], "cellward.detections/2"),
    "status state invented": _mutated(_status, ["state"], "sleeping"),
    "ppm absurd": _mutated(_status, ["calibration", "ppm"], 900),
    "status fault missing": _mutated(_status, ["fault"], delete=True),
    "command unknown": _mutated(_command, ["command"], "self_destruct"),
    "snippet too long": _mutated(_command, ["params", "duration_s"], 60),
    "snippet params on pause": _mutated(_command, ["command"], "pause"),
    "params extra key": _mutated(_command, ["params", "gain"], 3),
    "command without target": _mutated(_command, ["target"], delete=True),
    "blocker command extra key": _mutated(_blocker_command, ["priority"], 1),
    "blocker command unknown": _mutated(_blocker_command, ["command"], "set_everything"),
    "blocker keepalive with params": _mutated(_blocker_keepalive, ["params", "zone"], "A-wing"),
    "blocker power absurd": _mutated(_blocker_command, ["params"], {"band": "B8", "power_dbm": 99}),
    "blocker bad band name": _mutated(_blocker_command, ["params", "bands"], ["X9"]),
    "blocker mode invented": _mutated(_blocker_state, ["mode"], "jamming"),
    "blocker state without bands": _mutated(_blocker_state, ["bands"], []),
    "blocker band key extra": _mutated(_blocker_state, ["bands", 0, "eirp"], 3),
    "blocker band zone with slash": _mutated(_blocker_state, ["bands", 0, "zones"], ["A/wing"]),
    "blocker failsafe invented": _mutated(_blocker_state, ["failsafe", "state"], "on"),
    "blocker detail missing": _mutated(_blocker_state, ["detail"], delete=True),
    "heartbeat refusal reason invented": _mutated(_blocker_heartbeat, ["refusals", "because"], 1),
    "heartbeat refusal count negative": _mutated(_blocker_heartbeat, ["refusals", "replayed"], -1),
    "heartbeat heard not a time": _mutated(_blocker_heartbeat, ["controller_heard"], "yesterday"),
    "fault kind invented": _mutated(_blocker_fault, ["kind"], "gremlins"),
    "fault action invented": _mutated(_blocker_fault, ["action"], "explode"),
    "ack applied with reason": _mutated(_blocker_applied, ["reason"], "replayed"),
    "ack refused without reason": _mutated(_blocker_refused, ["reason"], None),
    "ack reason invented": _mutated(_blocker_refused, ["reason"], "moody"),
    "ack result invented": _mutated(_blocker_applied, ["result"], "done"),
    "spectrum stream forever": _mutated(_command, ["params"], {"duration_s": 3600}),
    "spectrum too many bins": _mutated(_spectrum, ["bins"], 513),
    "spectrum levels not base64": _mutated(_spectrum, ["mean"], "not base64!"),
    "spectrum levels far too long": _mutated(_spectrum, ["peak"], "A" * 688),
    "spectrum step zero": _mutated(_spectrum, ["step_db"], 0),
    "spectrum without band key": _mutated(_spectrum, ["band"], delete=True),
    "snippet oversize": _mutated(_snippet, ["total_bytes"], 64 * 2**20 + 1),
    "snippet sha256 not hex": _mutated(_snippet, ["sha256"], "z" * 64),
    "snippet meta not sigmf": _mutated(_snippet, ["meta"], {"anything": 1}),
    "snippet chunk data not base64": _mutated(_snippet, ["data"], "***"),
    "snippet negative index": _mutated(_snippet, ["index"], -1),
}

# Rules a JSON Schema cannot state (lengths of decoded base64, chunk arithmetic): the model refuses them.
MODEL_ONLY = {
    "spectrum levels shorter than bins": _mutated(_spectrum, ["bins"], 9),
    "snippet chunk bytes disagree with total": _mutated(_snippet, ["total_bytes"], 17),
    "snippet count disagrees with total": _mutated(_snippet, ["count"], 2),
    "snippet offset not index times chunk": _mutated(_snippet, ["offset"], 5),
    "snippet metadata too large": _mutated(_snippet, ["meta", "annotations"], [{"core:comment": "x" * 17000}]),
    "burst start on a day that is not": _mutated(
        _detections, ["reports", 0, "bursts", 0, "start"], "2026-02-29T06:55:00.101204Z"
    ),
    "burst start at hour 24": _mutated(
        _detections, ["reports", 0, "bursts", 0, "start"], "2026-11-23T24:55:00.101204Z"
    ),
    "first burst in month 13": _mutated(_detections, ["reports", 0, "first_burst"], "2026-13-23T06:55:00.101204Z"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_schema_and_model_both_refuse_invalid_message(case: str) -> None:
    doc = INVALID[case]
    with pytest.raises(jsonschema.ValidationError):
        validate_wire(doc)
    with pytest.raises(MessageError):
        parse_message(doc)


@pytest.mark.parametrize("case", sorted(MODEL_ONLY))
def test_model_refuses_what_the_schema_cannot_express(case: str) -> None:
    doc = MODEL_ONLY[case]
    validate_wire(doc)  # well-formed as far as JSON Schema can tell
    with pytest.raises(MessageError):
        parse_message(doc)


def test_unknown_schema_name_is_a_clear_error() -> None:
    with pytest.raises(MessageError, match=r"unknown schema 'cellward\.nope/1'"):
        parse_message({"schema": "cellward.nope/1"})


def test_refusal_reasons_are_one_list_in_model_ack_and_heartbeat_schemas() -> None:
    from cellward.messages import REFUSAL_REASONS

    ack = schema_document("cellward.blocker_ack/1")["properties"]["reason"]["enum"]
    heartbeat = schema_document("cellward.blocker_heartbeat/1")["properties"]["refusals"]["propertyNames"]["enum"]
    assert ack == [*REFUSAL_REASONS, None]
    assert heartbeat == list(REFUSAL_REASONS)
