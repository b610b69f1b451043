"""Handing back the library pages a sensor touched only at start-up (sensors/memory.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from sensors.memory import _library_mappings

SMAPS = """\
7f0000000000-7f0000100000 r--p 00000000 08:01 11 /usr/lib/libLLVM.so.19
Size:               1024 kB
Anonymous:             0 kB
7f0000100000-7f0000200000 r-xp 00100000 08:01 11 /usr/lib/libLLVM.so.19
Anonymous:             0 kB
7f0000200000-7f0000210000 r--p 00200000 08:01 11 /usr/lib/libLLVM.so.19
Anonymous:            64 kB
7f0000210000-7f0000220000 rw-p 00210000 08:01 11 /usr/lib/libLLVM.so.19
Anonymous:             0 kB
7f0000300000-7f0000400000 r--p 00000000 08:01 12 /usr/share/zoneinfo.bin
Anonymous:             0 kB
7f0000400000-7f0000500000 rw-p 00000000 00:00 0
Anonymous:          1024 kB
"""


def test_only_read_only_library_mappings_without_copied_pages_are_unmapped() -> None:
    mappings = _library_mappings(SMAPS.splitlines(keepends=True), ".so")

    assert mappings == [
        (0x7F0000000000, 0x7F0000100000, True),  # read-only data: the file's content
        (0x7F0000100000, 0x7F0000200000, True),  # code
        (0x7F0000200000, 0x7F0000210000, False),  # relocated read-only data: its pages are the process's own
        (0x7F0000210000, 0x7F0000220000, False),  # writable
    ]


RELEASE_AND_DETECT = textwrap.dedent(
    """
    import json
    import numpy as np
    from dsp.detector import Detector
    from sensors.memory import release_library_pages
    from cellward.recording import to_complex64
    from sim.signals.workloads import busy_uplink

    samples = to_complex64(next(busy_uplink(2.4e6, 900e6, 0.3, seed=7)), "cu8")

    def detect():
        detector = Detector(2.4e6, 900e6)
        bursts = detector.process(samples) + detector.flush()
        return [(round(b.start_s, 7), round(b.freq_hz), b.technology) for b in bursts]

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024

    before = detect()
    rss_before = rss_mb()
    advised = release_library_pages()
    rss_after = rss_mb()
    print(json.dumps({"advised": advised, "freed_mb": rss_before - rss_after, "same": detect() == before,
                      "bursts": len(before)}))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise on /proc/self/smaps is Linux only")
def test_released_pages_leave_resident_memory_and_the_detector_works_on() -> None:
    run = subprocess.run(
        [sys.executable, "-c", RELEASE_AND_DETECT], capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])

    assert result["bursts"] > 10
    assert result["advised"] > 50
    assert result["freed_mb"] > 20  # LLVM's start-up pages alone are 50-100 MB
    assert result["same"]
