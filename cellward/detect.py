"""`cellward detect`: stream a SigMF recording through the detector and print JSON Lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cellward.recording import RecordingError, open_recording


def run_detect(path: Path, block_samples: int, dwell_s: float = 0.0, fft_library: str = "pocketfft") -> int:
    """Print every burst of the recording as JSON (SYSTEM.md 2.1). Returns the process exit status.

    With `dwell_s`, the recording is heard as a sensor node hears a tuning: in dwells of that length, the
    detector restarted for each with the tuning's memory of its noise floor (sensors/node.py).
    `fft_library` names the detector's FFT (`dsp.fft_libraries`).
    Output is written only after the whole recording has been read, so an error half way (a truncated
    or unreadable data file) leaves stdout empty rather than holding a partial answer.
    """
    from dsp.detector import Detector, DetectorConfig
    from dsp.dwells import Dwells
    from dsp.fft_libraries import check_fft_library

    if dwell_s < 0:
        print(f"cellward detect: --dwell-s must not be negative, got {dwell_s}", file=sys.stderr)
        return 2
    try:
        check_fft_library(fft_library)
    except ValueError as exc:
        print(f"cellward detect: --fft-library: {exc}", file=sys.stderr)
        return 2
    config = DetectorConfig(fft_library=fft_library)
    try:
        recording = open_recording(path)
        if dwell_s:
            dwells = Dwells(recording.sample_rate_hz, recording.center_freq_hz, dwell_s, config)
            bursts = [burst for block in recording.blocks(block_samples) for burst in dwells.hear(block)]
            bursts.extend(dwells.finish())
        else:
            detector = Detector(recording.sample_rate_hz, recording.center_freq_hz, config)
            bursts = []
            for count, fill in recording.block_fills(block_samples):  # converted straight into the detector's buffer
                bursts.extend(detector.process_into(count, fill))
            bursts.extend(detector.flush())
    except RecordingError as exc:
        print(f"cellward detect: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cellward detect: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    bursts.sort(key=lambda b: b.start_s)
    sys.stdout.write("".join(json.dumps(b.to_record()) + "\n" for b in bursts))
    return 0
