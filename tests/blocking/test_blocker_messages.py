"""The blocker command message: well-formed commands parse, malformed ones are refused with a reason."""

import pytest
from pydantic import ValidationError

from cellward.messages.blocker import BlockerCommand, SetBlockingParams

BASE = {
    "site": "hmp-test",
    "sender": "controller",
    "ts": "2026-11-23T08:00:00.000Z",
    "seq": 1,
    "id": "c1",
    "target": "blk-1",
    "expires": "2026-11-23T08:00:10.000Z",
}


def test_set_blocking_command_parses_with_its_own_params_model():
    cmd = BlockerCommand.model_validate(
        {**BASE, "command": "set_blocking", "params": {"zone": "A-wing", "bands": ["B8", "n78"], "on": True}}
    )
    assert isinstance(cmd.params, SetBlockingParams), "params must be validated by the named command's model"
    assert cmd.model_dump(by_alias=True)["schema"] == "cellward.blocker_command/1"


@pytest.mark.parametrize(
    "command,params",
    [
        ("set_blocking", {"zone": "A-wing", "bands": ["X9"], "on": True}),
        ("set_blocking", {"zone": "A-wing", "bands": [], "on": True}),
        ("set_power", {"band": "B8", "power_dbm": 99}),
        ("set_failsafe", {"state": "on", "timeout_s": 10}),
        ("all_off", {"reason": "x", "extra": 1}),
        ("explode", {}),
    ],
)
def test_malformed_blocker_command_is_refused(command, params):
    with pytest.raises(ValidationError):
        BlockerCommand.model_validate({**BASE, "command": command, "params": params})


def test_blocker_command_model_and_schema_agree():
    from cellward.messages import validate_wire
    from cellward.messages.schema_files import schema_document

    for example in schema_document("cellward.blocker_command/1")["examples"]:
        validate_wire(example)
        BlockerCommand.model_validate(example)
    cmd = BlockerCommand.model_validate(
        {**BASE, "command": "set_power", "params": {"band": "B20", "power_dbm": 10.0}, "sig": "A" * 86 + "=="}
    )
    validate_wire(cmd.model_dump(mode="json", by_alias=True))
