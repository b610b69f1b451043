"""The simulator's blocker switchboard: switches made by blocker nodes become what the world radiates."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellward.site import load_site, small_site_path
from sim.blockers import BlockerError, BlockerSwitchboard
from sim.scenario import BlockerRun, Scenario
from sim.world import World

T0 = 1_800_000_000.0


@pytest.fixture(scope="module")
def site():
    return load_site(small_site_path())


def test_the_time_line_answers_what_a_band_radiates_at_any_time(site) -> None:
    board = BlockerSwitchboard(site)
    board.switch("BLK-A", "B8", True, 20.0, T0 + 1)
    board.switch("BLK-A", "B8", True, 12.0, T0 + 3)  # a power change while on
    board.switch("BLK-A", "B8", False, 12.0, T0 + 5)
    assert [board.emitting("BLK-A", "B8", T0 + t) for t in (0.5, 1, 2, 4, 6)] == [None, 20.0, 20.0, 12.0, None]
    assert board.emitting("BLK-A", "B3", T0 + 2) is None


def test_runs_are_per_band_and_relative_to_the_scenario_start(site) -> None:
    board = BlockerSwitchboard(site)
    board.switch("BLK-A", "B8", True, 20.0, T0 + 1)
    board.switch("BLK-A", "B3", True, 15.0, T0 + 2)
    board.switch("BLK-A", "B8", False, 20.0, T0 + 4)
    assert board.runs(T0) == [
        BlockerRun(unit="BLK-A", start_s=1.0, duration_s=3.0, power_dbm=20.0, bands=["B8"]),
        BlockerRun(unit="BLK-A", start_s=2.0, duration_s=None, power_dbm=15.0, bands=["B3"]),
    ]
    assert board.runs(T0 + 10) == [BlockerRun(unit="BLK-A", start_s=0.0, power_dbm=15.0, bands=["B3"])], (
        "a run over before the scenario starts is dropped; one still on starts with it"
    )
    world = World(site, Scenario(name="s", duration_s=10, blockers=board.runs(T0)))
    assert sorted(e.id for e in world.emitters) == ["BLK-A/B3", "BLK-A/B8"]


def test_another_process_reads_the_same_time_line_from_the_log(site, tmp_path: Path) -> None:
    log = tmp_path / "switches.jsonl"
    writer = BlockerSwitchboard(site, log)
    writer.switch("BLK-A", "B8", True, 20.0, T0)
    reader = BlockerSwitchboard.load(site, log)
    assert reader.switches() == writer.switches()
    log.write_text(log.read_text() + '{"unit": "BLK-A"}\n')
    with pytest.raises(BlockerError, match="line 2: not a blocker switch"):
        BlockerSwitchboard.load(site, log)


def test_a_unit_or_band_the_site_lacks_is_refused_and_not_recorded(site, tmp_path: Path) -> None:
    board = BlockerSwitchboard(site, tmp_path / "switches.jsonl")
    with pytest.raises(BlockerError, match="'BLK-Z' is not in site"):
        board.switch("BLK-Z", "B8", True, 20.0, T0)
    with pytest.raises(BlockerError, match="has no band 'B20'"):
        board.switch("BLK-A", "B20", True, 20.0, T0)
    assert board.switches() == [] and not (tmp_path / "switches.jsonl").exists()
    with pytest.raises(BlockerError, match=r"has no band \['B20'\]"):
        World(site, Scenario(name="s", duration_s=1, blockers=[BlockerRun(unit="BLK-A", bands=["B20"])]))
