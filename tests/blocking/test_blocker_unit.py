"""The unit's band state: a band radiates while any zone holds it, and the state follows the actuator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cellward.site import load_site, small_site_path
from sensors.blocker.actuators import ActuatorFault
from sensors.blocker.actuators.sim import SimActuator
from sensors.blocker.config import BlockerNodeConfig
from sensors.blocker.unit import Unit
from sim.blockers import BlockerSwitchboard


def unit(tmp_path: Path, zones: list[str], extra_band: str | None = None) -> tuple[Unit, BlockerSwitchboard]:
    bands = {"B8": {"max_power_dbm": 20}, "B3": {"max_power_dbm": 20, "power_dbm": 10}}
    if extra_band:  # first, so a failure there comes before the bands that work
        bands = {extra_band: {"max_power_dbm": 20}, **bands}
    config = BlockerNodeConfig.model_validate(
        {
            "site": "hmp-test",
            "blocker_id": "BLK-A",
            "zones": zones,
            "bands": bands,
            "actuator": {"kind": "sim", "switch_log": str(tmp_path / "switches.jsonl")},
            "mqtt": {"host": "127.0.0.1"},
            "signing_key": "unused.pem",
        }
    )
    board = BlockerSwitchboard(load_site(small_site_path()), tmp_path / "switches.jsonl")
    actuator = SimActuator(config.actuator, "BLK-A", time.time, board)  # type: ignore[arg-type]
    actuator.open()
    return Unit(config, actuator), board


def test_a_band_stays_on_while_any_zone_holds_it(tmp_path: Path) -> None:
    blocker, board = unit(tmp_path, ["cells-A", "exercise"])
    blocker.set_blocking("cells-A", ["B8"], True)
    blocker.set_blocking("exercise", ["B8", "B3"], True)
    blocker.set_blocking("cells-A", ["B8"], False)
    assert blocker.bands_on() == ["B8", "B3"], "exercise still holds B8"
    assert [(b.band, b.zones) for b in blocker.snapshot()] == [("B8", ["exercise"]), ("B3", ["exercise"])]
    blocker.set_blocking("exercise", ["B8", "B3"], False)
    assert blocker.bands_on() == []
    assert [(s.band, s.on) for s in board.switches()] == [("B8", True), ("B3", True), ("B8", False), ("B3", False)], (
        "the actuator is touched only when a band changes"
    )


def test_power_reaches_the_actuator_only_while_the_band_is_on(tmp_path: Path) -> None:
    blocker, board = unit(tmp_path, ["cells-A"])
    blocker.set_power("B3", 5.0)
    assert board.switches() == []
    blocker.set_blocking("cells-A", ["B3"], True)
    blocker.set_power("B3", 7.5)
    assert [(s.on, s.power_dbm) for s in board.switches()] == [(True, 5.0), (True, 7.5)]


def test_a_failed_switch_is_not_recorded(tmp_path: Path) -> None:
    blocker, _ = unit(tmp_path, ["cells-A"])
    blocker.set_blocking("cells-A", ["B8"], True)
    (tmp_path / "switches.jsonl").unlink()
    (tmp_path / "switches.jsonl").mkdir()  # the actuator can no longer switch
    with pytest.raises(ActuatorFault):
        blocker.set_blocking("cells-A", ["B3"], True)
    assert blocker.bands_on() == ["B8"], "B3 did not come on, so the state must not say it did"
    with pytest.raises(ActuatorFault):
        blocker.all_off()
    assert blocker.bands_on() == ["B8"], "B8 could not be switched off, so the state still shows it on"


def test_all_off_switches_off_every_band_it_can_even_when_one_fails(tmp_path: Path) -> None:
    blocker, board = unit(tmp_path, ["cells-A"], extra_band="B20")  # the simulated unit has no B20
    blocker.set_blocking("cells-A", ["B8", "B3"], True)
    with pytest.raises(ActuatorFault, match="has no band 'B20'"):
        blocker.all_off()
    assert blocker.bands_on() == [] and board.emitting("BLK-A", "B8", time.time()) is None
