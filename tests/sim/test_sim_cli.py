"""`cellward sim ...` as a user runs it: recordings that validate, truth, events, and plain errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sigmf

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "sim/scenarios").glob("*.yaml"))


def cellward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cellward.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_loads_on_its_site(scenario: Path) -> None:
    from sim.commands import load_world

    world = load_world(None, scenario)
    assert len(world.bursts) > 100 and any(e.kind == "phone" for e in world.emitters)


@pytest.mark.slow
def test_sim_record_writes_recordings_sigmf_validates_and_truth_beside_them(tmp_path: Path) -> None:
    scenario = ROOT / "sim/scenarios/small-evening.yaml"
    result = cellward("sim", "record", "--scenario", str(scenario), "--out", str(tmp_path), "--seconds", "0.5",
                      "--start", "5")  # fmt: skip
    assert result.returncode == 0, result.stderr
    metas = sorted(tmp_path.glob("*.sigmf-meta"))
    recordings = [p for p in metas if not p.name.endswith(".truth.sigmf-meta")]
    assert recordings and len(metas) == 2 * len(recordings), "a truth file beside every recording"
    for meta in recordings:
        handle = sigmf.sigmffile.fromfile(str(meta))
        handle.validate()
        assert handle.sample_count == 1_200_000
        truth = sigmf.sigmffile.fromfile(str(meta.with_suffix("").with_suffix(".truth.sigmf-meta")))
        truth.validate()
        assert truth.get_annotations(), "the burner's call is in the capture"
    records = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert records and all(5.0 <= r["start_s"] < 5.5 for r in records)


def test_sim_truth_and_events_print_json_lines() -> None:
    scenario = str(ROOT / "sim/scenarios/small-evening.yaml")
    truth = cellward("sim", "truth", "--scenario", scenario, "--start", "4", "--seconds", "0.2")
    assert truth.returncode == 0, truth.stderr
    first = json.loads(truth.stdout.splitlines()[0])
    assert {"start_s", "freq_hz", "bandwidth_hz", "technology", "position_m", "room", "tx_power_dbm"} <= set(first)
    events = cellward("sim", "events", "--scenario", scenario, "--start", "4", "--seconds", "0.2")
    assert events.returncode == 0, events.stderr
    assert {"sensor_id", "power_dbm", "technology"} <= set(json.loads(events.stdout.splitlines()[0]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope.yaml"], "cannot read the file"),
        (["--scenario", "sim/scenarios/small-evening.yaml", "--sensors", "X9"], "no sensor X9 in site"),
        (["--scenario", "sim/scenarios/small-evening.yaml", "--site", "missing-site.yaml"], "missing-site.yaml"),
    ],
)
def test_sim_user_errors_are_one_message_and_exit_2(args: list[str], message: str) -> None:
    result = cellward("sim", "events", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_scenario_error_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsite: small\nduration_s: 5\nphones:\n  - id: p\n    place: {at: A}\n    activities: []\n")
    result = cellward("sim", "truth", "--scenario", str(bad))
    assert result.returncode == 2 and "line 7" in result.stderr and "activities" in result.stderr, result.stderr
