"""`cellward demo`, until the whole system runs in one command: a simulated landing recorded as SigMF,
then detected, with the result compared to what was transmitted."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cellward.recording import open_recording, write_recording

SECONDS = 1.0


def run_demo(output_dir: Path, seed: int) -> int:
    from dsp.detector import Detector
    from sim.signals.workloads import demo_landing

    console = Console()
    output_dir.mkdir(parents=True, exist_ok=True)
    scene = demo_landing(SECONDS, seed)
    with console.status("simulating a landing: a GSM call, an SMS, a VoLTE phone, a spur and impulses"):
        cu8, truth, _ = scene.render()
    meta = write_recording(
        output_dir / "landing",
        cu8,
        datatype="cu8",
        sample_rate_hz=scene.sample_rate_hz,
        center_freq_hz=scene.center_freq_hz,
        hw="cellward simulator (RTL-SDR model)",
        description=f"cellward demo, seed {seed}",
    )
    (output_dir / "landing.truth.json").write_text(json.dumps([t.to_record() for t in truth], indent=1))
    recording = open_recording(meta)
    detector = Detector(recording.sample_rate_hz, recording.center_freq_hz)
    bursts = [b for block in recording.blocks() for b in detector.process(block)] + detector.flush()
    (output_dir / "landing.detections.jsonl").write_text("".join(json.dumps(b.to_record()) + "\n" for b in bursts))

    sent = Counter(t.technology for t in truth)
    found = Counter(b.technology for b in bursts)
    table = Table(title=f"{meta.name}: {SECONDS:g} s at {recording.center_freq_hz / 1e6:.1f} MHz")
    table.add_column("technology")
    table.add_column("bursts transmitted", justify="right")
    table.add_column("bursts detected", justify="right")
    for technology in sorted(set(sent) | set(found)):
        table.add_row(technology, str(sent.get(technology, 0)), str(found.get(technology, 0)))
    console.print(table)
    console.print(
        "non-phone transmissions (cw, impulse) should appear as [bold]unknown[/bold]; "
        "LTE is reported per 1 ms subframe."
    )
    console.print(
        f"recording: {meta}\ntruth: {output_dir / 'landing.truth.json'}\n"
        f"detections: {output_dir / 'landing.detections.jsonl'}"
    )
    return 0
