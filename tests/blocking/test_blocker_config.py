"""`cellward blocker run` with a bad config or key: one readable error naming the line, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cellward.cli import app
from tests.blocking.blocker_harness import make_keys

GOOD = """site: hmp-test
blocker_id: BLK-A
zones: [cells-A]
bands:
  B8: {max_power_dbm: 20}
  B3: {max_power_dbm: 20, power_dbm: 15}
actuator:
  kind: gpio
  lines: {B8: 17, B3: 27}
mqtt:
  host: 127.0.0.1
  port: 1
signing_key: blocker.pem
"""


def _run(tmp_path: Path, text: str) -> tuple[int, str]:
    make_keys(tmp_path)
    path = tmp_path / "blocker.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["blocker", "run", "--config", str(path)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("  port: 1\n", "  port: 1\n  qos: 2\n"), "line 13: mqtt.qos: Extra inputs are not permitted"),
        (("zones: [cells-A]\n", "zones: [cells-A]\ncolour: red\n"), "line 4: colour: Extra inputs are not permitted"),
        (("kind: gpio", "kind: laser"), "line 8: actuator: Input tag 'laser' found using 'kind' does not match"),
        (("{B8: 17, B3: 27}", "{B8: 17}"), "actuator.lines must name exactly the unit's bands ['B3', 'B8']"),
        (("power_dbm: 15}", "power_dbm: 25}"), "power_dbm 25.0 is above max_power_dbm 20.0"),
        (("B3: {max", "X3: {max"), "line 6: bands.X3.[key]: String should match pattern"),
        (("zones: [cells-A]\n", "zones: [cells-A]\nfailsafe: {state: hold}\n"), "state hold needs allow_hold: true"),
    ],
    ids=[
        "unknown mqtt key",
        "unknown top key",
        "unknown actuator",
        "band without a line",
        "power above limit",
        "bad band name",
        "hold not allowed",
    ],
)
def test_a_bad_config_is_one_readable_error_with_its_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in GOOD
    code, output = _run(tmp_path, GOOD.replace(*change))
    assert code == 2 and expected in output, output


def test_a_missing_signing_key_says_how_to_make_one(tmp_path: Path) -> None:
    code, output = _run(tmp_path, GOOD.replace("signing_key: blocker.pem", "signing_key: none.pem"))
    assert code == 2 and "none.pem: cannot read the signing key" in output, output


DEPLOY = Path(__file__).resolve().parents[2] / "sensors" / "deploy"


def test_the_example_config_loads_and_the_systemd_unit_uses_the_watchdog() -> None:
    from sensors.blocker.config import load_blocker_config

    config = load_blocker_config(DEPLOY / "blocker.example.yaml")
    assert config.actuator.kind == "gpio" and config.mqtt.tls is not None, "the example shows the secure set-up"
    assert config.failsafe.state == "off" and config.controller_keyring == DEPLOY / "controller-keyring.json"
    unit = (DEPLOY / "cellward-blocker.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=always", "cellward blocker run --config", "/dev/gpiochip0"):
        assert line in unit, f"the unit needs {line!r}"
