"""Recordings: per-sensor SigMF files that the sigmf package accepts, with the truth in a separate file set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sigmf

from cellward.recording import open_recording
from sim.record import record

SCENARIO = """\
name: rec
seed: 5
duration_s: 0.3
phones:
  - id: p
    band: B8
    operator: O2
    place: {position: [3, 2, 1.5]}
    tx_power_dbm: -10
    activities: [{kind: gsm_call, start_s: 0, duration_s: 0.3}]
"""


def test_record_writes_sigmf_recordings_and_truth_the_sigmf_package_validates(make_world, tmp_path: Path) -> None:
    world = make_world(SCENARIO)
    centre = world.emitters[0].carrier_hz
    written: list[int] = []
    paths = record(world, tmp_path, ["s1", "s2"], centre, 2.4e6, 0.0, 0.25, written.append)
    assert [p.name for p in paths] == ["s1.sigmf-meta", "s2.sigmf-meta"]
    assert sum(written) == 2 * 600_000, "the progress callback hears of every sample"
    for sensor in ("s1", "s2"):
        handle = sigmf.sigmffile.fromfile(str(tmp_path / f"{sensor}.sigmf-meta"))
        handle.validate()
        assert handle.get_global_field("core:datatype") == "cu8" and handle.sample_count == 600_000
        assert handle.get_annotations() == [], "the recording itself holds only what a real capture would"
        truth_meta = json.loads((tmp_path / f"{sensor}.truth.sigmf-meta").read_text())
        sigmf.validate.validate(truth_meta, sigmf.schema.get_schema())
        truth_set = sigmf.sigmffile.fromfile(str(tmp_path / f"{sensor}.truth.sigmf-meta"))
        assert truth_set.sample_count == 600_000, "the truth file set opens with the recording's samples"
        assert truth_meta["global"]["core:dataset"] == f"{sensor}.sigmf-data"
        notes = truth_meta["annotations"]
        in_window = [r for r in world.truth(0, 0.25) if abs(r["freq_hz"] - centre) < 1.2e6]
        assert len(notes) == len(in_window) > 20, "every burst in the capture (band and window) is annotated"
        first = notes[0]
        assert first["core:label"] == "gsm" and first["cellward:emitter"] == "p"
        assert first["cellward:rx_power_dbm"] == in_window[0]["rx_power_dbm"][sensor]
        assert first["core:sample_start"] == round(in_window[0]["start_s"] * 2.4e6)
        samples = np.concatenate(list(open_recording(tmp_path / f"{sensor}.sigmf-meta").blocks()))
        assert samples.size == 600_000
    lines = (tmp_path / "truth.jsonl").read_text().splitlines()
    assert len(lines) == len(list(world.truth(0, 0.25))) and set(json.loads(lines[0])["rx_power_dbm"]) == {
        "s1",
        "s2",
        "s3",
    }
