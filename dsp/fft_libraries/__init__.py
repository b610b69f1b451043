"""The FFT under the short-time spectrum: batches of frames transformed in place in a reused buffer, by one of
the libraries below, chosen by config (`DetectorConfig.fft_library`, a sensor's `fft_library`).

- `pocketfft` (BSD-3-Clause, called from numba code through rocket-fft): the default.
- `fftw` (pyFFTW over FFTW; FFTW is GPL-2.0-or-later, so an installation or image that ships it is bound by
  the GPL; `pip install 'cellward[fftw]'`): measured plans transform the detector's 256-point frames in about
  two thirds of pocketfft's time (`cellward bench dsp`). Measured plans are chosen by timing, so two
  processes can add in a different order and agree only to float32 rounding (about 1e-7 of a frame's largest
  bin); within one process FFTW's wisdom gives every plan of a shape the same algorithm.

Each library is one module with one class of the `InPlaceBatches` shape; a new one is a module and a line in
`FFT_LIBRARIES`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Protocol

import numpy as np

FFT_LIBRARIES = {"pocketfft": "PocketfftBatches", "fftw": "FftwBatches"}


class InPlaceBatches(Protocol):
    frames: np.ndarray  # complex64 (capacity, nfft), C-contiguous: the caller writes the frames to transform here

    def transform(self, count: int) -> np.ndarray:
        """The FFT along each of frames[:count] (count <= capacity), unshifted and unscaled, valid until the next
        call."""
        ...


def check_fft_library(library: str) -> None:
    """ValueError naming the choices for an unknown library, or saying what to install for a missing one."""
    _module(library)


def in_place_batches(library: str, capacity: int, nfft: int) -> InPlaceBatches:
    """A buffer of `capacity` frames of `nfft` complex samples and its transform by `library`; ValueError as
    `check_fft_library`."""
    return getattr(_module(library), FFT_LIBRARIES[library])(capacity, nfft)


def _module(library: str) -> ModuleType:
    if library not in FFT_LIBRARIES:
        raise ValueError(f"unknown FFT library {library!r}: choose one of {', '.join(FFT_LIBRARIES)}")
    return importlib.import_module(f"{__name__}.{library}")
