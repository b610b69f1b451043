"""Regenerate the regression corpus: short recordings of our own with the detections they must give.

Run `python -m tests.corpus.make_corpus` after a deliberate change of the detector's output, review the
diff of the *.expected.jsonl files, and commit them with the change (the rtl_433_tests idea).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cellward.recording import open_recording, write_recording
from dsp.detector import Detector
from sim.signals import gsm, lte, non_phone, nr
from sim.signals.receiver import Receiver
from sim.signals.scene import Scene

HERE = Path(__file__).parent
FS = 2.048e6
SECONDS = 0.1


def scenes() -> dict[str, Scene]:
    rng = np.random.default_rng(2026)
    receiver = Receiver.varied(rng)
    return {
        "gsm_call_rach_b8": Scene(FS, 906.3e6, SECONDS, receiver, 1).add(
            gsm.call(FS, gsm.uplink_arfcn_hz(83), 5, 0.0, SECONDS, 16.0, rng),
            gsm.access(FS, gsm.uplink_arfcn_hz(80), [0.03, 0.07], 12.0, rng),
        ),
        "lte_volte_data_b20": Scene(FS, 835.9e6, SECONDS, receiver, 2).add(
            lte.volte(FS, 835.9e6, 6, 0.0, SECONDS, 12.0, rng),
            lte.data_session(FS, 835.6e6, 6, 0.0, SECONDS, 15.0, rng, max_rbs=3),
        ),
        "nr_30khz_n28": Scene(FS, 731.6e6, SECONDS, receiver, 3).add(
            nr.data_session(FS, 731.6e6, 5, 30e3, 0.0, SECONDS, 14.0, rng, max_prbs=4),
        ),
        "srd_lora_fsk": Scene(FS, 864.9e6, SECONDS, receiver, 4).add(
            non_phone.lora(FS, 864.3e6, 7, 0.01, 20, 15.0, rng),
            non_phone.gfsk(FS, 865.1e6, 0.05, 300, 12.0, rng),
        ),
    }


def detect(meta: Path) -> list[dict]:
    recording = open_recording(meta)
    detector = Detector(recording.sample_rate_hz, recording.center_freq_hz)
    bursts = [b for block in recording.blocks() for b in detector.process(block)] + detector.flush()
    return [b.to_record() for b in bursts]


def main() -> None:
    for name, scene in scenes().items():
        cu8, _, _ = scene.render()
        meta = write_recording(
            HERE / name,
            cu8,
            datatype="cu8",
            sample_rate_hz=FS,
            center_freq_hz=scene.center_freq_hz,
            datetime="2026-11-23T00:00:00.000000Z",
            hw="cellward simulator (RTL-SDR model)",
            description=f"cellward corpus: {name}",
        )
        lines = "".join(json.dumps(r) + "\n" for r in detect(meta))
        (HERE / f"{name}.expected.jsonl").write_text(lines)
        print(f"{name}: {lines.count(chr(10))} detections")


if __name__ == "__main__":
    main()
