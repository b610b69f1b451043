"""Keeping a sensor's resident memory small: hand back the library pages only start-up needed.

Linux maps a shared library's pages around every page fault (fault-around, large page-cache folios),
so LLVM's 180 MB library (llvmlite, under numba) is about 90 MB resident after `import numba`, though
numba's cached kernels use little of it once running. MADV_RANDOM turns that read-around off for a
library's mappings and MADV_PAGEOUT hands back what start-up touched; a page used again comes back alone
from the page cache. (Pinning malloc's mmap threshold would return the detector's freed arrays to the
kernel too, but measured 25 % more detector CPU from faulting fresh pages every dwell: not done.)
Linux only: elsewhere, or on a kernel without MADV_PAGEOUT (before 5.4), each call does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

MADV_RANDOM = 1
MADV_PAGEOUT = 21


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def release_library_pages(name_part: str = ".so") -> int:
    """Stop read-around on the mappings of libraries whose path holds `name_part` and page out their
    read-only pages (a private read-only mapping is the file's content: nothing is lost). Returns the
    number of mappings advised."""
    libc = _libc()
    if libc is None:
        return 0
    advised = 0
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            lines = maps.readlines()
    except OSError:
        return 0
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or name_part not in fields[5]:
            continue
        low, high = (int(value, 16) for value in fields[0].split("-"))
        libc.madvise(low, high - low, MADV_RANDOM)
        if "w" not in fields[1]:
            libc.madvise(low, high - low, MADV_PAGEOUT)
        advised += 1
    return advised


def warm_up_kernels(sample_rate_hz: float = 2.4e6) -> None:
    """Run the converter and the detector once on silence, so that loading numba's cached kernels (LLVM's
    busiest moment, tens of MB for a second) happens before the rest of the node's memory is in place."""
    import numpy as np

    from cellward.recording import to_complex64
    from dsp.detector import Detector

    silence = to_complex64(np.full(2 * round(0.09 * sample_rate_hz), 128, np.uint8), "cu8")
    detector = Detector(sample_rate_hz, 900e6)
    detector.process(silence)
    detector.flush()
