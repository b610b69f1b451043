"""`cellward sim record`: per-sensor SigMF recordings of a world, with the ground truth beside them.

For each sensor, `<sensor>.sigmf-meta` + `<sensor>.sigmf-data` is the recording (cu8, as the dongle
delivers it, no annotations: what a real capture would hold). The truth is a separate file set:
`<sensor>.truth.sigmf-meta`, a SigMF metadata file for the same data file (`core:dataset`) whose
annotations are the ground-truth bursts in the capture, with the cellward namespace carrying the
emitter, room, position, transmit power and the power received at this sensor. `truth.jsonl` holds
every burst of the window with its received power at every sensor.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sigmf import schema as sigmf_schema
from sigmf import validate as sigmf_validate

from cellward.recording import write_recording
from sim.feed import SensorFeed
from sim.world import World

BLOCK_S = 0.1


def _utc(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def truth_annotations(
    world: World, sensor: str, center_freq_hz: float, sample_rate_hz: float, start_s: float, seconds: float
) -> list[dict[str, Any]]:
    """SigMF annotations of the bursts a sensor's capture contains (inside its band and window)."""
    ids = world.in_capture(start_s, start_s + seconds, center_freq_hz, sample_rate_hz)
    b = world.bursts
    index = world.sensor_index[sensor]
    received = world.received_dbm(ids, index)
    total = round(seconds * sample_rate_hz)
    notes = []
    for i, rx in zip(ids, received, strict=True):
        first = max(0, round((b.start_s[i] - start_s) * sample_rate_hz))
        last = min(total, round((b.start_s[i] + b.duration_s[i] - start_s) * sample_rate_hz))
        if last <= first:
            continue
        emitter = world.emitters[int(b.emitter[i])]
        pid = int(b.position[i])
        notes.append(
            {
                "core:sample_start": first,
                "core:sample_count": last - first,
                "core:freq_lower_edge": float(b.freq_hz[i] - b.bandwidth_hz[i] / 2),
                "core:freq_upper_edge": float(b.freq_hz[i] + b.bandwidth_hz[i] / 2),
                "core:label": emitter.technology,
                "core:generator": "cellward simulator",
                "cellward:burst_id": int(i),
                "cellward:channel": str(b.channel[i]),
                "cellward:emitter": emitter.id,
                "cellward:operator": emitter.operator or "",
                "cellward:room": world.rooms[pid] or "",
                "cellward:position_m": [float(v) for v in world.positions[pid]],
                "cellward:tx_power_dbm": round(float(b.tx_dbm[i]), 2),
                "cellward:rx_power_dbm": round(float(rx), 2),
            }
        )
    return notes


def _write_truth_meta(
    meta_path: Path, data_name: str, recording_meta: dict[str, Any], notes: list[dict[str, Any]]
) -> None:
    glob = dict(recording_meta["global"])
    glob.pop("core:sha512", None)
    glob["core:dataset"] = data_name
    glob["core:description"] = "cellward simulator ground truth for " + data_name
    if notes:
        glob["core:extensions"] = [{"name": "cellward", "version": "1.0.0", "optional": True}]
    meta = {"global": glob, "captures": recording_meta["captures"], "annotations": notes}
    sigmf_validate.validate(meta, sigmf_schema.get_schema())
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def record(
    world: World,
    out_dir: Path,
    sensor_ids: Sequence[str],
    center_freq_hz: float,
    sample_rate_hz: float,
    start_s: float,
    seconds: float,
    on_block: Callable[[int], None] = lambda samples: None,
) -> list[Path]:
    """Write every sensor's recording and truth; returns the recordings' .sigmf-meta paths.
    `on_block` is told how many samples were just written (for a progress bar)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    total = round(seconds * sample_rate_hz)
    block = round(BLOCK_S * sample_rate_hz)
    written = []
    for sensor in sensor_ids:
        feed = SensorFeed(world, sensor)

        def blocks(feed: SensorFeed = feed) -> Iterator[np.ndarray]:
            for first in range(0, total, block):
                count = min(block, total - first)
                yield feed.read_cu8(center_freq_hz, sample_rate_hz, start_s + first / sample_rate_hz, count)
                on_block(count)

        meta_path = write_recording(
            out_dir / sensor,
            blocks(),
            datatype="cu8",
            sample_rate_hz=sample_rate_hz,
            center_freq_hz=center_freq_hz,
            datetime=_utc(world.epoch_s(start_s)),
            hw=f"cellward simulator, sensor {sensor} of site {world.site.name} (RTL-SDR model)",
            description=f"scenario {world.scenario.name} seed {world.seed}, t = {start_s:g} s",
        )
        notes = truth_annotations(world, sensor, center_freq_hz, sample_rate_hz, start_s, seconds)
        recording_meta = json.loads(meta_path.read_text(encoding="utf-8"))
        _write_truth_meta(out_dir / f"{sensor}.truth.sigmf-meta", f"{sensor}.sigmf-data", recording_meta, notes)
        written.append(meta_path)
    with (out_dir / "truth.jsonl").open("w", encoding="utf-8") as handle:
        for item in world.truth(start_s, start_s + seconds):
            handle.write(json.dumps(item) + "\n")
    return written
