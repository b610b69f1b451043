"""FFTW through pyFFTW: one measured in-place plan per power-of-two batch up to the buffer's capacity, so a batch
of any size takes at most log2(capacity) + 1 calls and a process plans at most that many shapes. Planning
measures each shape the first time a process meets it (about half a second for the lot at 256 points); later
buffers take FFTW's wisdom at once."""

from __future__ import annotations

import numpy as np

try:
    import pyfftw
except ImportError as exc:  # an optional dependency: say how to get it where the library is chosen
    raise ValueError(
        "the FFT library 'fftw' needs pyFFTW, which is not installed: pip install 'cellward[fftw]' "
        "(FFTW is GPL-2.0-or-later), or choose 'pocketfft'"
    ) from exc


class FftwBatches:
    def __init__(self, capacity: int, nfft: int) -> None:
        self.frames = pyfftw.empty_aligned((capacity, nfft), np.complex64)
        sizes = [1 << i for i in range(capacity.bit_length() - 1, -1, -1)]
        self._plans = [
            (rows, pyfftw.FFTW(self.frames[:rows], self.frames[:rows], axes=(1,), flags=("FFTW_MEASURE",), threads=1))
            for rows in sizes
        ]

    def transform(self, count: int) -> np.ndarray:
        first = 0
        for rows, plan in self._plans:  # the largest batches first
            while count - first >= rows:
                batch = self.frames[first : first + rows]
                plan.update_arrays(batch, batch)  # the same alignment and strides as the planned rows
                plan.execute()
                first += rows
        return self.frames[:count]
