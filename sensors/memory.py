"""Keeping a sensor's resident memory small: hand back the library pages only start-up needed.

Linux maps a shared library's pages around every page fault (fault-around, large page-cache folios),
so LLVM's 180 MB library (llvmlite, under numba) is about 90 MB resident after `import numba`, though
numba's cached kernels use little of it once running. MADV_RANDOM turns that read-around off for a
library's mappings and MADV_DONTNEED unmaps what start-up touched from a read-only mapping that holds
none of its own (copy-on-write) pages: such a mapping is the file's content, so a page used again comes
back from the page cache unchanged. MADV_PAGEOUT, used before, handed back nothing on some kernels (a
Firecracker guest on an Intel Xeon box). (Pinning malloc's mmap threshold would return the detector's
freed arrays to the kernel too, but measured 25 % more detector CPU from faulting fresh pages every
dwell: not done.) Linux only: elsewhere each call does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import sys
from collections.abc import Iterable
from functools import cache

MADV_RANDOM = 1
MADV_DONTNEED = 4
_MAPPING_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


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
    """Stop read-around on the mappings of libraries whose path holds `name_part` and unmap the pages of
    those that are read-only and unmodified (relocated read-only data has copy-on-write pages and is
    left alone). Returns the number of mappings advised."""
    libc = _libc()
    if libc is None:
        return 0
    try:
        with open("/proc/self/smaps", encoding="utf-8") as smaps:
            mappings = _library_mappings(smaps, name_part)
    except OSError:
        return 0
    for low, high, unmodified_read_only in mappings:
        libc.madvise(low, high - low, MADV_RANDOM)
        if unmodified_read_only:
            libc.madvise(low, high - low, MADV_DONTNEED)
    return len(mappings)


def _library_mappings(smaps: Iterable[str], name_part: str) -> list[tuple[int, int, bool]]:
    """(start, end, read-only with no copy-on-write pages) of each mapping whose path holds `name_part`."""
    mappings: list[tuple[int, int, bool]] = []
    wanted = False
    for line in smaps:
        header = _MAPPING_HEADER.match(line)
        if header:
            low, high, permissions, path = header.groups()
            wanted = name_part in path
            if wanted:
                mappings.append((int(low, 16), int(high, 16), "w" not in permissions))
        elif wanted and line.startswith("Anonymous:") and int(line.split()[1]) > 0:
            mappings[-1] = (*mappings[-1][:2], False)
    return mappings


def warm_up_kernels(sample_rate_hz: float = 2.4e6) -> None:
    """Run the converter, the gain checks and the detector once on silence, so that loading numba's cached kernels
    (LLVM's busiest moment, tens of MB for a second) happens before the rest of the node's memory is in place."""
    import numpy as np

    from cellward.recording import to_complex64
    from dsp.detector import Detector
    from sensors.gain import clipped_fraction, peak_dbfs

    silence = to_complex64(np.full(2 * round(0.09 * sample_rate_hz), 128, np.uint8), "cu8")
    clipped_fraction(silence)
    peak_dbfs(silence)
    detector = Detector(sample_rate_hz, 900e6)
    detector.process(silence)
    detector.flush()
