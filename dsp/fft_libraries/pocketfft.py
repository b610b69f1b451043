"""pocketfft called from compiled code through rocket-fft's low-level interface, in place on a plain numpy
buffer. rocket-fft carries an AVX2/FMA build of pocketfft beside its generic one and loads the one the CPU can
run. On the detector's 256-point frames either gives the same bits as scipy.fft, which binds the same pocketfft
(some other lengths round differently, by about 2e-7), in about two thirds of its time: scipy.fft adds its
dispatch and copies the rows through buffers of its own (`cellward bench dsp`, docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np
from numba import njit
from rocket_fft import c2c

_ALONG_ROWS = np.array([1], np.int64)


class PocketfftBatches:
    def __init__(self, capacity: int, nfft: int) -> None:
        self.frames = np.empty((capacity, nfft), np.complex64)

    def transform(self, count: int) -> np.ndarray:
        frames = self.frames[:count]
        _transform_rows_in_place(frames, _ALONG_ROWS)
        return frames


@njit(cache=True, nogil=True)
def _transform_rows_in_place(frames: np.ndarray, axes: np.ndarray) -> None:
    c2c(frames, frames, axes, True, 1.0, 1)
