"""Short-time power spectra: framing and window in a numba kernel, the FFT of a chunk of frames in place by the
configured library (`dsp.fft_libraries`), |X|^2 and the fftshift in a second kernel.

`cellward bench dsp` measures this, with each library, against the same pocketfft through scipy.fft between
the kernels and called frame by frame inside one, and against bare numpy and FFTW FFT+|X|^2 over the same
samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit

from dsp.fft_libraries import in_place_batches

CHUNK_FRAMES = 256  # frames transformed together, then normalised while they are in the L2 cache


@dataclass(frozen=True, slots=True)
class SpectrumGeometry:
    """How samples become spectra. Bin k of a spectrum is centred at (k - nfft/2) * bin_hz from the tuner."""

    sample_rate_hz: float
    nfft: int
    hop: int

    @classmethod
    def for_rate(cls, sample_rate_hz: float, target_bin_hz: float = 10e3) -> SpectrumGeometry:
        """The power-of-two FFT whose bin is closest to `target_bin_hz`, with 50 % overlap."""
        nfft = 1 << max(4, round(np.log2(sample_rate_hz / target_bin_hz)))
        return cls(sample_rate_hz, nfft, nfft // 2)

    @property
    def bin_hz(self) -> float:
        return self.sample_rate_hz / self.nfft

    @property
    def hop_s(self) -> float:
        return self.hop / self.sample_rate_hz

    def window(self) -> np.ndarray:
        """Periodic Hann window scaled so that sum(w^2) = nfft (|X|^2/nfft^2 sums to mean |x|^2)."""
        n = np.arange(self.nfft)
        w = 0.5 - 0.5 * np.cos(2 * np.pi * n / self.nfft)
        return (w / np.sqrt(np.mean(w**2))).astype(np.float32)

    def frames_in(self, num_samples: int) -> int:
        return 0 if num_samples < self.nfft else (num_samples - self.nfft) // self.hop + 1

    def bin_offset_hz(self, bin_index: float) -> float:
        return (bin_index - self.nfft / 2) * self.bin_hz


def power_spectra(
    samples: np.ndarray, window: np.ndarray, hop: int, out: np.ndarray, fft_library: str = "pocketfft"
) -> None:
    """Fill out[t, k] with |FFT(w * x[t*hop : t*hop+nfft])|^2 / nfft^2, frequency ascending (fftshifted).

    samples: complex64 (n,); window: float32 (nfft,); out: float32 (frames, nfft). With the window
    normalised as in `SpectrumGeometry.window`, sum_k out[t, k] is the mean power of frame t in
    full-scale units, so a bin holds power per bin (noise density x bin width).
    """
    FrameFFTs(window, hop, min(CHUNK_FRAMES, max(out.shape[0], 1)), fft_library).power_spectra(samples, out)


class FrameFFTs:
    """Unshifted, unscaled FFTs of windowed frames, a chunk of frames at a time into one reused buffer: a few
    hundred frames keep the transform and the kernels after it in cache, and the window, buffer and the FFT
    library's plans are prepared once rather than per chunk."""

    def __init__(self, window: np.ndarray, hop: int, chunk_frames: int, fft_library: str = "pocketfft") -> None:
        self.hop = hop
        self.chunk_frames = chunk_frames
        self._window = np.repeat(np.asarray(window, np.float32), 2)  # for interleaved real and imaginary parts
        self._batches = in_place_batches(fft_library, chunk_frames, window.shape[0])

    def chunk(self, samples: np.ndarray, count: int) -> np.ndarray:
        """FFT(w * x[t*hop : t*hop+nfft]) for t < `count` <= `chunk_frames` (complex64 (count, nfft)), valid
        until the next call. `samples`: C-contiguous complex64."""
        self.windowed(samples, count)
        return self._batches.transform(count)

    def windowed(self, samples: np.ndarray, count: int) -> np.ndarray:
        """w * x[t*hop : t*hop+nfft] for t < `count` <= `chunk_frames`, in the buffer `chunk` transforms."""
        frames = self._batches.frames[:count]
        values = np.ascontiguousarray(samples, np.complex64).view(np.float32)
        _scale_interleaved(values, self._window, 2 * self.hop, frames.view(np.float32))
        return frames

    def chunks(self, samples: np.ndarray, frames: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first, the `chunk` of frames first, first + 1, ...) over the first `frames` frames of `samples`, a chunk
        at a time; each valid until the next."""
        for first in range(0, frames, self.chunk_frames):
            yield first, self.chunk(samples[first * self.hop :], min(self.chunk_frames, frames - first))

    def power_spectra(self, samples: np.ndarray, out: np.ndarray) -> None:
        """`power_spectra` of `samples` into `out` (frames, nfft), a chunk at a time."""
        for first, fft in self.chunks(samples, out.shape[0]):
            shifted_power(fft, out[first : first + fft.shape[0]])


@njit(cache=True, nogil=True)
def _scale_interleaved(values: np.ndarray, window: np.ndarray, hop: int, frames: np.ndarray) -> None:
    """frames[t] = values[t*hop : t*hop + width] * window, on float32 views of complex arrays (`window` and `hop`
    counted in floats: each window value twice, for the real and imaginary parts)."""
    # On float32 views of the complex arrays the product is a plain float loop, which the compiler
    # vectorises, provided it indexes slices by the loop counter alone (an offset index costs 7x).
    width = window.shape[0]
    for t in range(frames.shape[0]):
        source = values[t * hop : t * hop + width]
        row = frames[t]
        for i in range(width):
            row[i] = source[i] * window[i]


@njit(cache=True, nogil=True)
def shifted_power(spectra: np.ndarray, out: np.ndarray) -> None:
    """out[t, (i + nfft/2) % nfft] = |spectra[t, i]|^2 / nfft^2: power, frequency ascending.
    spectra: complex64 (frames, nfft), C-contiguous."""
    values = spectra.view(np.float32)
    for t in range(out.shape[0]):
        shifted_power_row(values[t], out[t])


@njit(cache=True, nogil=True)
def shifted_power_row(values: np.ndarray, out: np.ndarray) -> None:
    """One row of `shifted_power` from the float32 view of its complex spectrum (real and imaginary parts
    interleaved): on the complex elements the compiler kept the loop scalar, on the floats it vectorises
    (1.6x faster). The noise floor's kernel forms its power rows with it."""
    nfft = out.shape[0]
    half = nfft // 2
    scale = np.float32(1.0 / (nfft * nfft))
    low, high = values[:nfft], values[nfft:]
    out_low, out_high = out[:half], out[half:]
    for i in range(half):
        out_high[i] = (low[2 * i] * low[2 * i] + low[2 * i + 1] * low[2 * i + 1]) * scale
        out_low[i] = (high[2 * i] * high[2 * i] + high[2 * i + 1] * high[2 * i + 1]) * scale
